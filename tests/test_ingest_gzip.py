"""Gzip-compressed inbox files (``<name>.gz``) land exactly like the plain ones; a broken archive is
quarantined whole with its reason; the simulator can write its inbox compressed."""

from __future__ import annotations

import gzip
import shutil
from datetime import date, datetime

import pyarrow.parquet as pq
import pytest

from retention.ingest import SOURCE_TABLES, ingest_day
from retention.ingest.day import file_extension, inbox_files
from retention.paths import DataDir
from retention.store_simulator import SimConfig, simulate
from retention.store_simulator.drops import release_drops, split_day
from tests.fixtures import PROVIDER_FIXTURES as FIXTURES

DAY = date(2026, 3, 14)
# lineage that names the file, or the moment it was read, differs by design between the two copies
VARYING = {"_source_file", "_ingested_at"}


def landed(data: DataDir, source: str, day: date, ignore=frozenset()) -> dict[str, list[dict]]:
    out = {}
    for table in SOURCE_TABLES[source]:
        rows = pq.read_table(data.landing_partition(source, table, day)).to_pylist()
        out[table] = sorted(({k: v for k, v in r.items() if k not in VARYING | ignore} for r in rows), key=repr)
    return out


def copy_tree(src, dst, compress: bool) -> int:
    count = 0
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if compress:
            target.with_name(target.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        else:
            shutil.copy(path, target)
        count += 1
    return count


@pytest.mark.parametrize("source", ["shopify", "sendgrid"])
def test_compressed_provider_payloads_land_like_the_plain_ones(tmp_path, source):
    plain, packed = DataDir(tmp_path / "plain"), DataDir(tmp_path / "packed")
    copy_tree(FIXTURES / source, plain.inbox_day(source, DAY), compress=False)
    copy_tree(FIXTURES / source, packed.inbox_day(source, DAY), compress=True)
    a, b = ingest_day(plain, source, DAY), ingest_day(packed, source, DAY)
    assert a.files == b.files > 0
    assert a.tables == b.tables and a.reasons == b.reasons
    assert a.landed > 0
    assert landed(plain, source, DAY) == landed(packed, source, DAY)
    lineage = pq.read_table(packed.landing_partition(source, SOURCE_TABLES[source][0], DAY)).column("_source_file")
    assert all(name.endswith(".json.gz") for name in lineage.to_pylist())


def test_the_extension_is_read_under_gz(tmp_path):
    assert file_extension(tmp_path / "orders-0001.json.gz") == ".json"
    assert file_extension(tmp_path / "status-20260314T105959Z.TXT.GZ") == ".txt"
    assert file_extension(tmp_path / "events.jsonl") == ".jsonl"
    assert file_extension(tmp_path / "README") == ""
    data = DataDir(tmp_path)
    folder = data.inbox_day("web", DAY)
    folder.mkdir(parents=True)
    for name in ("events.jsonl.gz", "events.csv.gz", "notes.gz"):
        (folder / name).write_bytes(gzip.compress(b"{}\n"))
    files, skipped = inbox_files(data, "web", DAY)
    assert [p.name for p in files] == ["events.jsonl.gz"]
    assert sorted(p.name for p in skipped) == ["events.csv.gz", "notes.gz"]


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b'{"orders": []}')[:12]],
                         ids=["not_gzip", "truncated"])
def test_a_broken_archive_is_quarantined_whole_with_the_reason(tmp_path, content):
    data = DataDir(tmp_path)
    folder = data.inbox_day("shopify", DAY)
    folder.mkdir(parents=True)
    (folder / "orders-0001.json.gz").write_bytes(content)
    shutil.copy(FIXTURES / "shopify" / "orders_list_status_any.json", folder / "orders-0002.json")
    report = ingest_day(data, "shopify", DAY)
    assert report.tables["_files"].quarantined == 1
    assert report.tables["orders"].landed > 0  # the readable file next to it still lands
    rows = pq.read_table(data.quarantine_partition("shopify", "_files", DAY)).to_pylist()
    assert len(rows) == 1
    assert "orders-0001.json.gz" in rows[0]["reason"] and "not a readable gzip file" in rows[0]["reason"]
    assert rows[0]["_source_file"] == "shopify/2026-03-14/orders-0001.json.gz"
    assert rows[0]["raw"]  # the bytes are kept, not dropped


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("gz")
    out = {}
    for compress in (False, True):
        config = SimConfig(customers=300, start=date(2025, 11, 1), end=date(2025, 11, 20), seed=5,
                           workers=1, compress=compress)
        simulate(config, root / str(compress))
        out[compress] = DataDir(root / str(compress))
    return out


def test_the_simulator_writes_a_compressed_inbox_that_lands_identically(stores):
    plain, packed = stores[False], stores[True]
    packed_files = [p for p in packed.inbox.rglob("*") if p.is_file()]
    assert packed_files and all(p.name.endswith(".gz") for p in packed_files)
    assert sorted(p.relative_to(packed.inbox).as_posix()[:-3] for p in packed_files) == \
        sorted(p.relative_to(plain.inbox).as_posix() for p in plain.inbox.rglob("*") if p.is_file())
    day = date(2025, 11, 15)
    for source in SOURCE_TABLES:
        a, b = ingest_day(plain, source, day), ingest_day(packed, source, day)
        assert (a.tables, a.reasons) == (b.tables, b.reasons), source
        assert landed(plain, source, day) == landed(packed, source, day), source


def test_the_ground_truth_names_the_compressed_files(stores):
    dirt = pq.read_table(stores[True].root / "simulation" / "dirt.parquet").column("file").to_pylist()
    assert dirt and all(name.endswith(".gz") for name in dirt)
    assert all((stores[True].inbox / name).exists() for name in dirt)


def test_a_compressed_day_splits_into_plain_drops_that_land_the_same(stores, tmp_path):
    day = date(2025, 11, 18)
    copy = DataDir(tmp_path / "copy")
    shutil.copytree(stores[True].inbox, copy.inbox)
    split_day(copy, day)
    released = release_drops(copy, day, until=datetime(2025, 11, 19))
    assert released and not any(p.name.endswith(".gz") for p in released)
    for source in SOURCE_TABLES:
        ingest_day(copy, source, day)
        ingest_day(stores[False], source, day)
        # drops re-page records, so only a record's place in its file may differ
        assert landed(copy, source, day, {"_record_index"}) == landed(stores[False], source, day, {"_record_index"}), source
