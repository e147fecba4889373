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


def test_ingest_inbox_lands_only_and_daily_refresh_also_builds_the_warehouse():
    ingest = defs.resolve_job_def("ingest_inbox").asset_layer.executable_asset_keys
    assert ingest and all(key.path[0] == "landing" for key in ingest)
    daily = defs.resolve_job_def("daily_refresh").asset_layer.executable_asset_keys
    assert ingest < daily
    assert {dg.AssetKey("customers"), dg.AssetKey("customer_segments")} <= daily


def test_lineage_runs_from_landing_to_marts():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("stg_shopify__orders")).parent_keys == {dg.AssetKey(["landing", "shopify", "orders"])}
    # Every dbt source is a landing asset: no source floats outside the graph.
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert parent in materializable, f"{key} depends on {parent}, which nothing materializes"
    assert graph.get(dg.AssetKey("customers")).group_name == "marts"


def test_daily_refresh_job_runs_every_day_for_yesterday():
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "daily_refresh"


def test_every_landing_table_must_be_fresh_by_the_morning():
    graph = defs.resolve_asset_graph()
    landing = [key for key in graph.get_all_asset_keys() if key.path[0] == "landing" and key.path[1] != "activation"]
    assert landing
    for key in landing:
        policy = graph.get(key).freshness_policy
        assert policy is not None and policy.deadline_cron == "0 3 * * *", key
