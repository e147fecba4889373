"""``ingest_day``: every table written (even empty), counts reconcile, re-runs replace the day,
and DuckDB reads the landing zone with hive partitioning."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from retention.ingest import SOURCE_TABLES, IngestReport, TableCounts, ingest_day
from retention.ingest.schema import QUARANTINE_SCHEMA
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES as FIXTURES
from tests.fixtures import column_chunks

DAY = date(2026, 3, 14)
NEXT = date(2026, 3, 15)


def copy_fixtures(data: DataDir, source: str, day: date, pattern: str = "**/*.json") -> int:
    """Drop the real payloads into the inbox (in the test's tmp dir; never into the project)."""
    folder = data.inbox_day(source, day)
    folder.mkdir(parents=True, exist_ok=True)
    paths = sorted((FIXTURES / source).glob(pattern))
    for path in paths:
        target = folder / path.relative_to(FIXTURES / source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return len(paths)


def partition_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_source_tables():
    assert SOURCE_TABLES == {
        "shopify": ("customers", "orders", "order_lines", "refunds", "refund_lines", "fulfillments", "products",
                    "product_variants", "checkouts", "checkout_lines", "locations", "inventory_levels", "privacy_requests"),
        "sendgrid": ("events", "account_events"),
        "sendgrid_suppressions": ("suppressions", "suppression_groups"),
        "twilio": ("message_status", "inbound_messages"),
        "web": ("events",),
        "reviews": ("reviews",),
        "nps": ("responses",),
        "preferences": ("preferences",),
        "subscriptions": ("subscriptions",),
    }


@pytest.mark.parametrize("source", list(SOURCE_TABLES))
def test_missing_or_empty_day_writes_empty_typed_partitions(tmp_path, source):
    data = DataDir(tmp_path / "data")
    report = ingest_day(data, source, DAY)  # no inbox folder at all
    assert isinstance(report, IngestReport) and report.files == 0
    assert report.tables == {table: TableCounts(0, 0, 0) for table in SOURCE_TABLES[source]}
    assert report.reasons == {} and report.examples == []
    from retention.ingest.day import SCHEMAS

    for table in SOURCE_TABLES[source]:
        written = pq.read_table(data.landing_partition(source, table, DAY) / "part-0.parquet")
        assert written.num_rows == 0 and written.schema.equals(SCHEMAS[source][table])
        rejects = pq.read_table(data.quarantine_partition(source, table, DAY) / "part-0.parquet")
        assert rejects.num_rows == 0 and rejects.schema.equals(QUARANTINE_SCHEMA)
    data.inbox_day(source, NEXT).mkdir(parents=True)  # an empty folder
    assert ingest_day(data, source, NEXT).files == 0
    assert not list(data.root.rglob("*.tmp")), "no staged file is left behind"


def test_shopify_fixtures_day_reconciles_and_reads_back_with_duckdb(tmp_path):
    data = DataDir(tmp_path / "data")
    files = copy_fixtures(data, "shopify", DAY)
    report = ingest_day(data, "shopify", DAY)
    assert report.files == files == 27
    for table, counts in report.tables.items():
        assert counts.records_in == counts.landed + counts.quarantined, table
    assert report.tables["orders"] == TableCounts(11, 10, 1)
    assert report.tables["_files"] == TableCounts(1, 0, 1)  # legacy transactions.json
    assert report.tables["order_lines"].landed == 17
    assert report.tables["refunds"] == TableCounts(5, 5, 0)  # 3 inside orders + 2 refund pages
    assert report.tables["product_variants"] == TableCounts(21, 21, 0)
    assert report.reasons == {"orders: updated_at: missing": 1, "_files: bare list with unknown resource": 1}

    ingest_day(data, "shopify", NEXT)  # another (empty) day: partitions side by side
    con = duckdb.connect()
    landing = data.landing.as_posix()
    rows = con.execute(f"""
        select date, count(*), sum(total_price), min(created_at), typeof(min(created_at)), typeof(sum(total_price))
        from read_parquet('{landing}/shopify/orders/*/*.parquet', hive_partitioning=true)
        group by date order by date
    """).fetchall()
    assert len(rows) == 1 and str(rows[0][0]) == "2026-03-14" and rows[0][1] == 10
    assert str(rows[0][2]) == "3822.2600"  # 4 x 598.94 + 181.09 + 238.47 + 3 x 199.00 + 409.94
    assert rows[0][4] == "TIMESTAMP WITH TIME ZONE" and rows[0][5].startswith("DECIMAL")
    guest = con.execute(f"""
        select customer_id, email from read_parquet('{landing}/shopify/orders/*/*.parquet', hive_partitioning=true)
        where id = 1073459969
    """).fetchall()
    assert guest == [(None, "")]
    lines = con.execute(f"""
        select count(*) from read_parquet('{landing}/shopify/order_lines/*/*.parquet', hive_partitioning=true) l
        join read_parquet('{landing}/shopify/orders/*/*.parquet', hive_partitioning=true) o
          on o._record_hash = l._record_hash and o._source_file = l._source_file
    """).fetchall()[0]
    assert lines == (17,)
    q = con.execute(f"""
        select "table", reason_group, count(*) from read_parquet('{data.quarantine.as_posix()}/shopify/*/*/*.parquet',
        hive_partitioning=true) group by all order by 1
    """).fetchall()
    assert q == [("_files", "_files: bare list with unknown resource", 1), ("orders", "orders: updated_at: missing", 1)]


def landing_snapshot(data: DataDir, source: str, day: date) -> dict:
    out = {}
    for zone in ("landing", "quarantine"):
        for path in sorted((data.root / zone / source).rglob(f"date={day.isoformat()}/*")):
            table = pq.read_table(path)
            out[path.relative_to(data.root).as_posix()] = table.drop_columns(["_ingested_at"]).to_pylist()
    return out


@pytest.mark.parametrize("source", ["shopify", "sendgrid"])
def test_rerun_replaces_the_day(tmp_path, source):
    data = DataDir(tmp_path / "data")
    copy_fixtures(data, source, DAY)
    first = ingest_day(data, source, DAY)
    before = landing_snapshot(data, source, DAY)
    files_before = partition_files(data.root)
    second = ingest_day(data, source, DAY)
    assert second.tables == first.tables and second.reasons == first.reasons
    assert landing_snapshot(data, source, DAY) == before
    assert partition_files(data.root) == files_before  # no duplicates, no leftovers
    assert all(name.endswith("/part-0.parquet") for name in files_before if not name.startswith("inbox/"))

    # the day's inbox changes (a file is withdrawn): the re-run replaces, never appends
    for path in sorted(p for p in data.inbox_day(source, DAY).rglob("*") if p.is_file())[1:]:
        path.unlink()
    third = ingest_day(data, source, DAY)
    assert third.files == 1
    table = SOURCE_TABLES[source][0] if source == "sendgrid" else "checkouts"
    written = pq.read_table(data.landing_partition(source, table, DAY))
    assert written.num_rows == third.tables[table].landed


def test_days_are_append_only_and_duplicates_are_kept(tmp_path):
    data = DataDir(tmp_path / "data")
    for day in (DAY, NEXT):
        copy_fixtures(data, "sendgrid", day, "event_webhook_all_types.json")
        copy_fixtures(data, "sendgrid", day, "csharp_example_testdata_events_with_bom.json")
        ingest_day(data, "sendgrid", day)
    count, distinct = duckdb.connect().execute(f"""
        select count(*), count(distinct _record_hash) from read_parquet(
          '{data.landing.as_posix()}/sendgrid/events/*/*.parquet', hive_partitioning=true)
    """).fetchall()[0]
    # 2 files of 11 events a day, 2 days; the files share 9 identical events (open and click
    # differ by smtp-id): every copy lands, staging dedups
    assert (count, distinct) == (44, 13)


def test_sendgrid_day_lineage(tmp_path):
    data = DataDir(tmp_path / "data")
    copy_fixtures(data, "sendgrid", DAY)
    report = ingest_day(data, "sendgrid", DAY)
    assert report.files == 28  # the .raw signature payloads are not inbox files
    assert report.tables["events"] == TableCounts(50, 47, 3)
    events = pq.read_table(data.landing_partition("sendgrid", "events", DAY)).to_pylist()
    assert events[0]["_source_file"] == "sendgrid/2026-03-14/csharp_example_testdata_events_with_bom.json"
    assert [e["_record_index"] for e in events[:3]] == [0, 1, 2]
    assert len({e["_ingested_at"] for e in events}) == 1


def test_landed_files_are_zstd_without_dictionary_pages(tmp_path):
    """One day of a table is a small file, where a dictionary page per column costs more time than
    it saves space (retention/ingest/landing.py, PARQUET_OPTIONS): every column chunk is zstd and
    dictionary-free, in the landing zone and in quarantine."""
    data = DataDir(tmp_path / "data")
    copy_fixtures(data, "shopify", DAY)
    ingest_day(data, "shopify", DAY)
    files = sorted(data.landing.rglob("*.parquet")) + sorted(data.quarantine.rglob("*.parquet"))
    chunks = [chunk for path in files for chunk in column_chunks(path)]
    assert chunks and {chunk.compression for chunk in chunks} == {"ZSTD"}
    assert not any(chunk.has_dictionary_page for chunk in chunks)
