"""End to end: a simulated store lands through the Dagster job, every record accounted for."""

from datetime import date

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.definitions import defs
from retention.ingest import SOURCE_TABLES
from retention.paths import DATA_DIR_ENV, DataDir
from retention.store_simulator import SimConfig, simulate

START, END = date(2025, 3, 1), date(2025, 3, 21)


def run_days(instance, start: date, end: date) -> dg.ExecuteInProcessResult:
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    return defs.resolve_job_def("ingest_inbox").execute_in_process(instance=instance, tags=tags)


def count_rows(root, zone: str) -> pd.DataFrame:
    """Rows per source, table and day in a zone, read back from the Parquet files."""
    files = f"{root}/{zone}/*/*/*/*.parquet"
    return duckdb.sql(
        f"""
        select split_part(filename, '/', -4) as source, split_part(filename, '/', -3) as "table",
               cast(date as varchar) as day, count(*) as n
        from read_parquet('{files}', hive_partitioning = true, filename = true, union_by_name = true)
        group by all
        """
    ).df()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small store, simulated with dirt, and landed through `ingest_inbox` in one run."""
    root = tmp_path_factory.mktemp("data")
    layout = DataDir(root)
    simulate(SimConfig(customers=300, start=START, end=END, seed=11, dirt_rate=0.03), root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(root))
        instance = dg.DagsterInstance.ephemeral()
        result = run_days(instance, START, END)
        yield layout, instance, result, patch


def test_the_run_materializes_every_landing_table_for_every_day(store):
    _, instance, result, _ = store
    assert result.success
    days = {(START + pd.Timedelta(days=i)).isoformat() for i in range((END - START).days + 1)}
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            key = dg.AssetKey(["landing", source, table])
            assert instance.get_materialized_partitions(key) == days, key


def test_every_reconciliation_check_passes(store):
    _, _, result, _ = store
    evaluations = result.get_asset_check_evaluations()
    reconciled = [e for e in evaluations if e.check_name == "counts_reconcile"]
    assert len(reconciled) == sum(len(t) for t in SOURCE_TABLES.values())
    assert all(e.passed for e in reconciled)
    # a history backfill reconciles counts; the expectation suites run day by day in daily_refresh
    assert {e.check_name for e in evaluations} == {"counts_reconcile"}


def test_quarantine_holds_exactly_the_malformed_records_the_simulator_injected(store):
    layout, _, _, _ = store
    dirt = pd.read_parquet(layout.simulation / "dirt.parquet")
    malformed = dirt[dirt["malformed"]]
    assert len(malformed) > 0, "the dirt rate must exercise the quarantine path"
    expected = malformed.groupby(["source", "table"]).size().sort_index()
    quarantined = count_rows(layout.root, "quarantine").groupby(["source", "table"])["n"].sum().sort_index()
    pd.testing.assert_series_equal(quarantined, expected, check_names=False)
    reasons = duckdb.sql(
        f"select reason, raw from read_parquet('{layout.quarantine}/*/*/*/*.parquet')"
    ).df()
    assert reasons["reason"].str.len().gt(0).all() and reasons["raw"].str.len().gt(0).all()


def test_metadata_counts_match_the_landing_zone_and_reconcile(store):
    layout, _, result, _ = store
    landed_on_disk = count_rows(layout.root, "landing").groupby(["source", "table"])["n"].sum()
    quarantined_on_disk = count_rows(layout.root, "quarantine").groupby(["source", "table"])["n"].sum()
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        _, source, table = materialization.asset_key.path
        meta = {k: v.value for k, v in materialization.metadata.items()}
        assert meta["records_in"] == meta["landed"] + meta["quarantined"]
        assert meta["landed"] == landed_on_disk.get((source, table), 0)
        assert meta["quarantined"] == quarantined_on_disk.get((source, table), 0)


def test_rerunning_a_day_replaces_it_and_never_duplicates(store):
    layout, instance, _, _ = store
    day = date(2025, 3, 10)
    before = count_rows(layout.root, "landing")
    files_before = sorted(p.relative_to(layout.root) for p in layout.landing.rglob("*.parquet"))
    assert run_days(instance, day, day).success
    after = count_rows(layout.root, "landing")
    files_after = sorted(p.relative_to(layout.root) for p in layout.landing.rglob("*.parquet"))
    assert files_after == files_before
    pd.testing.assert_frame_equal(
        before.sort_values(["source", "table", "day"]).reset_index(drop=True),
        after.sort_values(["source", "table", "day"]).reset_index(drop=True),
    )


def test_landed_orders_are_typed_and_carry_lineage(store):
    layout, _, _, _ = store
    orders = duckdb.sql(
        f"select * from read_parquet('{layout.landing}/shopify/orders/*/*.parquet', hive_partitioning = true)"
    )
    types = dict(zip(orders.columns, map(str, orders.types)))
    assert types["id"] == "BIGINT"
    assert types["total_price"].startswith("DECIMAL")
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    for column in ("_source_file", "_record_index", "_ingested_at", "_record_hash", "_raw"):
        assert column in types
    assert orders.count("*").fetchall()[0][0] > 0


def test_daily_refresh_builds_the_warehouse_as_of_the_partition_day(store):
    layout, instance, _, _ = store
    result = defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance, partition_key=END.isoformat()
    )
    assert result.success
    marts = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        marts[materialization.asset_key] = {k: v.value for k, v in materialization.metadata.items()}
    customers = marts[dg.AssetKey("customers")]
    assert customers["as_of"] == END.isoformat()
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from customers").fetchall()[0][0]
    assert customers["dagster/row_count"] == rows > 0
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks), [c.check_name for c in checks if not c.passed]
