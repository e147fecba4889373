"""The Dagster definitions load, and the asset graph is what the UI should show."""

import dagster as dg

from orchestration.definitions import defs
from retention.ingest import SOURCE_TABLES


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def test_every_landing_table_is_an_asset_grouped_by_source():
    graph = defs.resolve_asset_graph()
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            key = dg.AssetKey(["landing", source, table])
            assert key in graph.get_all_asset_keys(), key
            assert graph.get(key).group_name == source
            assert graph.get(key).partitions_def is not None
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert set(SOURCE_TABLES) <= groups


def test_every_landing_table_has_a_blocking_reconciliation_check():
    graph = defs.resolve_asset_graph()
    check_keys = graph.asset_check_keys
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            check = dg.AssetCheckKey(dg.AssetKey(["landing", source, table]), "counts_reconcile")
            assert check in check_keys


def test_daily_refresh_job_runs_every_day_for_yesterday():
    job = defs.resolve_job_def("daily_refresh")
    selected = job.asset_layer.executable_asset_keys
    assert all(key.path[0] == "landing" for key in selected)
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "daily_refresh"
