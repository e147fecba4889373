"""Faults stay at their level: a record that cannot be read is quarantined alone, a file that
cannot be read (or is of a type its source does not read) whole, and the rest of the day lands.
A run killed mid-write leaves temporary files that the next run removes, once their writer is gone.

The corrupted day reproduces a measured failure: a valid ISO 8601 timestamp whose UTC conversion
leaves years 1-9999 (``0001-01-01T00:00:00+01:00``) raised an OverflowError and the day of its
source failed: records of the day were lost and a stack trace reached the user.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from retention.ingest import SOURCE_TABLES, ingest_day
from retention.ingest.schema import FILES_TABLE
from retention.live.inbox_writer import tmp_path as writer_tmp_path
from retention.paths import DataDir
from tests.fakes.shopify_graphql import NODE, bulk_jsonl, rest_records
from tests.fixtures import PROVIDER_FIXTURES

DAY = date(2026, 1, 3)
REPO = Path(__file__).resolve().parent.parent
OUT_OF_RANGE = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")  # valid ISO, no UTC year 1-9999


def fixture(rel: str):
    return orjson.loads((PROVIDER_FIXTURES / rel).read_bytes())


def _order(i: int, **changes) -> dict:
    order = copy.deepcopy(fixture("shopify/order_single.json")["order"])
    order["id"] = 1000 + i
    order.update(changes)
    return order


def _customer(i: int, **changes) -> dict:
    customer = copy.deepcopy(fixture("shopify/customer_single.json")["customer"])
    customer["id"] = 2000 + i
    customer.update(changes)
    return customer


def _web(i: int, at: str = "2026-01-03T10:00:00Z") -> dict:
    return {"event_id": f"e{i}", "session_id": "s1", "occurred_at": at, "event_type": "page_view", "url": f"/p/{i}"}


def _review(i: int, at: str = "2026-01-03T10:00:00Z") -> dict:
    return {"review_id": f"r{i}", "product_id": 7, "rating": 1 + i % 5, "created_at": at}


def _nps(i: int, at: str = "2026-01-03T10:00:00+01:00") -> dict:
    return {"response_id": f"n{i}", "survey_id": "s1", "score": i % 11, "submitted_at": at}


def _jsonl(records: list) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def corrupted_day() -> dict[str, dict[str, tuple[bytes, int]]]:
    """source -> file name -> (bytes, provider records in it)."""
    bad_ts = [_order(i, created_at=OUT_OF_RANGE[i % 2]) for i in range(3)]
    orders = [_order(10 + i) for i in range(12)]
    orders[4]["updated_at"] = OUT_OF_RANGE[0]  # a lenient field: the record, not the page, answers for it
    customers = [_customer(i) for i in range(8)]
    customers[2]["created_at"] = OUT_OF_RANGE[1]
    truncated = orjson.dumps({"orders": [_order(40 + i) for i in range(4)]})
    events = fixture("sendgrid/event_webhook_all_types.json")[:6]
    events[1] = dict(events[1], timestamp=10**18)  # milliseconds past any date: a typing error
    twilio = [b"MessageSid=SM1&MessageStatus=delivered&To=%2B15550001", b"MessageSid=SM2&Body=STOP&From=%2B15550002",
              b"%ZZ-not-a-form", b"MessageSid=SM3&MessageStatus=failed&ErrorCode=30003"]
    web = [_web(i) for i in range(15)]
    web[3], web[9] = _web(3, OUT_OF_RANGE[0]), _web(9, OUT_OF_RANGE[1])
    reviews = [_review(i) for i in range(6)]
    reviews[5] = _review(5, OUT_OF_RANGE[0])
    nps = [_nps(i) for i in range(6)]
    nps[0] = _nps(0, OUT_OF_RANGE[0])
    return {
        "shopify": {
            "orders-0101.json": (orjson.dumps({"orders": orders + bad_ts}), 15),
            "customers-0101.json": (orjson.dumps({"customers": customers}), 8),
            "orders-0102.json.gz": (b"\x1f\x8b\x08\x00broken archive", 3),
            "orders-0103.csv": (b"id,email\n1,a@example.com\n2,b@example.com\n", 1),
            "orders-0104.json": (truncated[: len(truncated) // 2], 4),
            "orders-0105.json": (b"<html>502 Bad Gateway</html>", 1),
        },
        "sendgrid": {"events-0101.json": (orjson.dumps(events), 6)},
        "twilio": {"status-20260103T101500Z.txt": (b"\n".join(twilio) + b"\n", 4)},
        "web": {"events-0101.jsonl": (_jsonl(web) + b"{not json\n", 16)},
        "reviews": {"reviews-0101.jsonl": (_jsonl(reviews), 6)},
        "nps": {"responses-0101.jsonl": (_jsonl(nps), 6)},
    }


def write_inbox(data: DataDir, files: dict[str, dict[str, tuple[bytes, int]]]) -> None:
    for source, named in files.items():
        folder = data.inbox_day(source, DAY)
        folder.mkdir(parents=True, exist_ok=True)
        for name, (content, _) in named.items():
            (folder / name).write_bytes(content)


def partition_rows(data: DataDir, zone: str, source: str) -> list[dict]:
    rows = []
    for path in sorted((data.root / zone / source).rglob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def accounting(data: DataDir, source: str, files: dict[str, tuple[bytes, int]]) -> dict[str, int]:
    """Per source, from the Parquet written: each provider record is landed (its file and index are
    in a landing table), quarantined (its own reject, or its file's), or lost."""
    landed = {(r["_source_file"], r["_record_index"]) for r in partition_rows(data, "landing", source)}
    rejects = partition_rows(data, "quarantine", source)
    rejected = {(r["_source_file"], r["_record_index"]) for r in rejects}
    whole_files = {r["_source_file"] for r in rejects if r["_record_index"] is None}
    figures = dict.fromkeys(("in", "landed", "quarantined", "lost"), 0)
    for name, (content, count) in files.items():
        rel = f"{source}/{DAY}/{name}"
        if rel in whole_files:
            figures["in"] += count
            figures["quarantined"] += count
            continue
        lines = content.split(b"\n") if name.endswith((".jsonl", ".txt")) else None
        indexes = [i for i, line in enumerate(lines) if line.strip()] if lines is not None else range(count)
        for index in indexes:
            figures["in"] += 1
            key = (rel, index)
            figures["landed" if key in landed else "quarantined" if key in rejected else "lost"] += 1
    return figures


def test_a_corrupted_day_loses_no_record(tmp_path, caplog):
    data = DataDir(tmp_path / "data")
    day = corrupted_day()
    write_inbox(data, day)
    figures = {}
    with caplog.at_level(logging.INFO, logger="retention.ingest"):
        for source, files in day.items():
            report = ingest_day(data, source, DAY)  # raises nothing
            for table, counts in report.tables.items():
                assert counts.records_in == counts.landed + counts.quarantined, (source, table)
            figures[source] = accounting(data, source, files)
    print("\ncorrupted day: source in / landed / quarantined / lost")
    for source, f in figures.items():
        print(f"  {source:9} {f['in']:3} / {f['landed']:3} / {f['quarantined']:3} / {f['lost']}")
    total = {key: sum(f[key] for f in figures.values()) for key in ("in", "landed", "quarantined", "lost")}
    print(f"  {'total':9} {total['in']:3} / {total['landed']:3} / {total['quarantined']:3} / {total['lost']}")
    assert all(f["lost"] == 0 for f in figures.values()), figures
    assert figures["shopify"] == {"in": 32, "landed": 18, "quarantined": 14, "lost": 0}
    assert figures["nps"] == {"in": 6, "landed": 5, "quarantined": 1, "lost": 0}
    assert figures["web"] == {"in": 16, "landed": 13, "quarantined": 3, "lost": 0}
    assert total["in"] == 70 and total["lost"] == 0

    reasons = [r["reason"] for r in partition_rows(data, "quarantine", "nps")]
    assert reasons == ["nps responses record 0 of responses-0101.jsonl (id n0): submitted_at: could not be read: "
                       "OverflowError: date value out of range"]
    shopify = {r["reason"] for r in partition_rows(data, "quarantine", "shopify")}
    assert "shopify file orders-0103.csv: unknown file type .csv for source shopify (it reads .json)" in shopify
    assert any(r.startswith("shopify orders record 4 of orders-0101.json (id 1014): updated_at: could not be read")
               for r in shopify)
    assert any(r.startswith("shopify file orders-0102.json.gz: not a readable gzip file") for r in shopify)
    # one line per source with counts; no traceback, no address
    lines = [r.getMessage() for r in caplog.records if r.name == "retention.ingest"]
    assert ("shopify 2026-01-03: 6 file(s), 104 row(s) in (records and their child rows), 95 landed, 9 quarantined, "
            "4 of them files or lines that could not be read or are of an unknown type") in lines
    assert not any(r.exc_info for r in caplog.records) and not any("@" in line for line in lines)


def test_a_fault_between_records_quarantines_the_file_whole_and_keeps_the_day(tmp_path):
    """A bulk file whose second record holds a connection that is not one: assembling it fails after
    the first record landed. The file's partial rows are rolled back; the next file lands."""
    data = DataDir(tmp_path / "data")
    folder = data.inbox_day("shopify", DAY)
    folder.mkdir(parents=True)
    first, second = (NODE["products"](r) for r in rest_records("products")[:2])
    variant = second.pop("variants")[0]
    second["variants"] = {"nodes": "corrupt"}  # bulk lines never nest a connection: this one is not even a list
    body = bulk_jsonl("products", [first]) + _jsonl([second, dict(variant, __parentId=second["id"])])
    (folder / "gql-bulk-products-0001.jsonl").write_bytes(body)
    (folder / "orders-0001.json").write_bytes(orjson.dumps({"orders": [_order(1)]}))
    report = ingest_day(data, "shopify", DAY)
    assert report.tables["products"].records_in == 0 and report.tables["product_variants"].records_in == 0
    assert report.tables[FILES_TABLE].quarantined == 1 and report.tables["orders"].landed == 1
    (reject,) = partition_rows(data, "quarantine", "shopify")
    assert reject["reason"].startswith("shopify file gql-bulk-products-0001.jsonl: could not be read: AttributeError")
    assert reject["raw"] == body.decode()


def test_a_missing_file_is_quarantined_with_the_reason(tmp_path):
    from retention.ingest import parse_files

    parsed = parse_files("web", [tmp_path / "events-0001.jsonl"], tmp_path)
    (reason,) = parsed.quarantine.column("reason").to_pylist()
    assert reason.startswith("web file events-0001.jsonl: could not be read: FileNotFoundError")
    assert parsed.counts[FILES_TABLE].quarantined == 1


# -- temporary files of a killed writer --------------------------------------------------------------
LANDING_WRITER = """
import sys
from datetime import date
from pathlib import Path
from retention.ingest import ingest_day
from retention.paths import DataDir
while True:
    ingest_day(DataDir(Path(sys.argv[1])), "web", date.fromisoformat(sys.argv[2]))
"""
INBOX_WRITER = """
import sys
from pathlib import Path
from retention.live.inbox_writer import write_atomic
body = Path(sys.argv[3]).read_bytes()
while True:
    write_atomic(Path(sys.argv[3]), body)
"""


def _landed_contents(data: DataDir) -> dict[str, list[dict]]:
    """Every landing and quarantine table of ``web`` for the day, without the run's time stamp."""
    tables = {}
    for zone, partition in (("landing", data.landing_partition), ("quarantine", data.quarantine_partition)):
        for table in [*SOURCE_TABLES["web"], FILES_TABLE]:
            path = partition("web", table, DAY) / "part-0.parquet"
            if path.exists():
                tables[f"{zone}/{table}"] = pq.read_table(path).drop_columns(["_ingested_at"]).to_pylist()
    return tables


def _tmp_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.tmp"))


def _stopped_mid_write(proc: subprocess.Popen, where: Path) -> Path:
    """Wait until the writer has a temporary file open, freeze it there (SIGSTOP), and return the file.
    A write that completed between seeing the file and stopping the writer is let go and waited for again."""
    while True:
        assert proc.poll() is None, proc.stderr.read().decode()
        found = _tmp_files(where)
        if not found:
            time.sleep(0.002)
            continue
        os.kill(proc.pid, signal.SIGSTOP)
        still = [p for p in found if p.exists()]
        if still:
            return still[0]
        os.kill(proc.pid, signal.SIGCONT)


@pytest.mark.parametrize("writer", ["landing", "inbox"])
def test_a_killed_writers_temporary_files_are_removed_by_the_next_run(tmp_path, writer):
    data = DataDir(tmp_path / "data")
    folder = data.inbox_day("web", DAY)
    folder.mkdir(parents=True)
    live = folder / "events-live.jsonl"
    live.write_bytes(_jsonl([_web(i) for i in range(4000 if writer == "landing" else 40000)]))
    (folder / "events-0001.jsonl").write_bytes(_jsonl([_web(i) for i in range(5)]) + b"{broken\n")
    ingest_day(data, "web", DAY)
    expected = _landed_contents(data)

    script, watched = (LANDING_WRITER, data.landing) if writer == "landing" else (INBOX_WRITER, folder)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(data.root), DAY.isoformat(), str(live)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        orphan = _stopped_mid_write(proc, watched)
        assert f".{proc.pid}-" in orphan.name  # the name says who writes it
        ingest_day(data, "web", DAY)  # the writer is alive (stopped mid-write): its file is not touched
        assert orphan.exists()
    finally:
        proc.kill()  # kill -9, while it is stopped mid-write
        proc.wait()
        proc.stderr.close()
    assert orphan.exists()

    report = ingest_day(data, "web", DAY)
    assert _tmp_files(data.root) == []
    assert _landed_contents(data) == expected
    assert report.tables["events"].landed == expected["landing/events"].__len__()


def test_a_live_writers_temporary_file_is_kept_and_an_old_unnamed_one_removed(tmp_path):
    data = DataDir(tmp_path / "data")
    partition = data.landing_partition("web", "events", DAY)
    partition.mkdir(parents=True)
    live = writer_tmp_path(partition / "part-0.parquet", hidden=False)  # named after this process, which is alive
    live.write_bytes(b"being written")
    unnamed = partition / "part-0.parquet.1234abcd.tmp"  # an older release's name: removed once an hour old
    unnamed.write_bytes(b"")
    an_hour_ago = time.time() - 3700
    os.utime(unnamed, (an_hour_ago, an_hour_ago))
    ingest_day(data, "web", DAY)
    assert live.exists() and not unnamed.exists()
