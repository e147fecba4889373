"""Erasure end to end: a customer with orders, web, email and SMS events, sends, a segment export and
a quarantined record is erased through the Dagster job; then no file of the data directory (Parquet,
DuckDB and SQLite read as bytes too, gzip decompressed) nor Dagster's storage names them, everybody
else's rows are unchanged, a stale feed and the daily pipeline run again do not bring them back, and
the gate excludes them with reason ``erasure``."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pandas as pd
import pytest

from retention.activation.eligibility import Gate
from retention.ingest import SOURCE_TABLES, ingest_day
from retention.paths import DATA_DIR_ENV, DataDir
from retention.privacy import Tombstones
from tests.activation_fixtures import NOW as GATE_NOW
from tests.activation_fixtures import campaign_set, person
from tests.fixtures import column_chunks
from tests.privacy_fixtures import (
    AS_OF,
    QUARANTINE_DAY,
    SELECT,
    activate,
    files_naming,
    needles,
    pick_subject,
    run_job,
    warehouse_tables,
)
from tests.warehouse_fixtures import run_dbt


def landing_records(root: Path, patterns: list[re.Pattern]) -> dict[str, pd.DataFrame]:
    """Every landed record (tables with ``_raw``) that does not name the person, per file."""
    out = {}
    for path in sorted((root / "landing").rglob("*.parquet")):
        frame = pd.read_parquet(path)
        if "_raw" in frame.columns and len(frame):
            keep = ~frame["_raw"].fillna("").map(lambda raw: any(p.search(raw.encode()) for p in patterns))
            out[str(path.relative_to(root))] = frame[keep].drop(columns=["_ingested_at"]).reset_index(drop=True)
    return out


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def env():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def erased(privacy_store, tmp_path_factory, env):
    root = tmp_path_factory.mktemp("erased") / "store"
    shutil.copytree(privacy_store, root, symlinks=True)
    env.setenv(DATA_DIR_ENV, str(root))
    subject = pick_subject(root)
    patterns = needles(subject)
    # a record of theirs that breaks a rule: quarantined, whole
    bad = root / "inbox" / "web" / QUARANTINE_DAY.isoformat() / "events-late.jsonl"
    bad.write_text(f'{{"event_id": "late-1", "email": "{subject["email"]}", "type": \n')
    ingest_day(DataDir(root), "web", QUARANTINE_DAY)
    stale_inbox = tmp_path_factory.mktemp("stale") / "inbox"
    shutil.copytree(root / "inbox", stale_inbox)
    before = {"files": files_naming(root, patterns), "warehouse": warehouse_tables(root),
              "landing": landing_records(root, patterns)}
    messy = f"  {subject['email'].upper()} "
    result = run_job(root, "privacy_requests", {"ops": {"privacy__act": {"config": {"action": "erase",
                                                                                    "email": messy}}}})
    assert result.success
    return root, subject, patterns, before, stale_inbox, result


def test_before_the_erasure_every_store_names_the_person(erased):
    _, _, _, before, _, _ = erased
    assert {"inbox", "landing", "quarantine", "warehouse.duckdb", "activation", "outbox", "reports"} <= set(
        before["files"]), sorted(before["files"])


def test_no_file_of_the_data_directory_or_of_dagster_names_them_afterwards(erased):
    root, _, patterns, _, _, _ = erased
    assert files_naming(root, patterns) == {}
    assert not list(root.rglob("*.wal"))  # the warehouse was rewritten whole, nothing pending


def test_the_erasure_log_has_hashes_and_counts_per_store_only(erased):
    root, subject, _, _, _, result = erased
    lines = [orjson.loads(line) for line in (root / "privacy" / "log.jsonl").read_bytes().splitlines()]
    assert len(lines) == 1 and lines[0]["action"] == "erase"
    counts = lines[0]["counts"]
    for store in ("inbox", "landing", "quarantine", "warehouse", "ledger", "outbox", "reports"):
        assert counts.get(store, 0) > 0, (store, counts)
    assert len(lines[0]["hashes"]) >= 4 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in lines[0]["hashes"])
    observation = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"][0]
    metadata = observation.event_specific_data.asset_observation.metadata
    assert metadata["records"].value == sum(counts.values())


def test_everyone_else_is_unchanged(erased):
    root, subject, patterns, before, _, _ = erased
    after = warehouse_tables(root)
    assert set(after) == set(before["warehouse"])
    for name, frame in before["warehouse"].items():
        if "customer_key" in frame.columns:
            others = frame[frame["customer_key"] != subject["customer_key"]]
            pd.testing.assert_frame_equal(sorted_frame(after[name]), sorted_frame(others), obj=name)
        if "order_id" in frame.columns:
            assert not set(after[name]["order_id"]) & set(subject["order_ids"]), name
    # aggregates stay
    pd.testing.assert_frame_equal(after["campaign_performance"], before["warehouse"]["campaign_performance"])
    landed = landing_records(root, patterns)
    assert landed.keys() == before["landing"].keys()
    for path, frame in before["landing"].items():
        if "order_id" in frame.columns:  # a refund of their order is theirs too
            frame = frame[~frame["order_id"].isin(subject["order_ids"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(landed[path], frame, obj=path)
    # the files the erasure rewrote are written as ingestion writes them: zstd, no dictionary pages
    for path in (root / "landing").rglob("*.parquet"):
        assert all(c.compression == "ZSTD" and not c.has_dictionary_page for c in column_chunks(path)), path


def test_a_stale_feed_and_the_daily_pipeline_do_not_bring_them_back(erased):
    root, subject, patterns, _, stale_inbox, _ = erased
    data_dir = DataDir(root)
    shutil.rmtree(root / "inbox")
    shutil.copytree(stale_inbox, root / "inbox")  # the feed delivers everything again, them included
    days = {date.fromisoformat(p.name) for p in (root / "inbox").glob("*/*")
            if any(pat.search(f.read_bytes()) for f in p.rglob("*") if f.is_file() for pat in patterns)}
    assert days
    for day in sorted(days):
        for source in SOURCE_TABLES:
            report = ingest_day(data_dir, source, day)
            assert report.landed or report.erased or report.records_in == 0
    for zone in ("landing", "quarantine"):
        assert files_naming(root / zone, patterns) == {}, zone
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from customers where customer_key = ? or email = ?",
                           [subject["customer_key"], subject["email"]]).fetchone()[0] == 0
    assert activate(root).success
    with sqlite3.connect(data_dir.activation / "ledger.sqlite") as con:
        assert con.execute("select count(*) from sends where customer_key = ?",
                           [subject["customer_key"]]).fetchone()[0] == 0


def test_the_gate_excludes_an_erased_person_with_reason_erasure(erased):
    root, subject, _, _, _, _ = erased
    campaigns = campaign_set()
    gate = Gate(campaigns.settings, GATE_NOW, erased=Tombstones.load(DataDir(root)))
    win_back = campaigns.get("win_back")
    # their audience row, as a stale feed could bring it back
    row = person(subject["customer_key"]) | subject["audience_row"]
    decision = gate.decide(win_back, win_back.step(1), row, None)
    assert (decision.outcome, decision.reason) == ("excluded", "erasure")
    # by their email or phone alone, under a new key, too
    for field in ("email", "phone"):
        alone = person("new-key") | {field: subject[field].upper() if field == "email" else subject[field]}
        assert gate.decide(win_back, win_back.step(1), alone, None).reason == "erasure", field
    assert gate.decide(win_back, win_back.step(1), person("someone-else"), None).reason != "erasure"
