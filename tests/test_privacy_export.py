"""Data access: ``python -m retention.privacy export`` writes one JSON document with the person's
records from every store and nobody else's; the Shopify privacy webhooks landed in
``shopify/privacy_requests`` are acted on once each (an access request exports, a redact erases)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest

from retention.ingest import ingest_day
from retention.paths import DATA_DIR_ENV, DataDir
from tests.privacy_fixtures import PROVIDER_KEYS, files_naming, instance_in, needles, pick_subject, run_job
from tests.warehouse_fixtures import PROJECT_ROOT

WEBHOOK_DAY = date(2025, 6, 30)


@pytest.fixture
def store(privacy_store, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(privacy_store, root, symlinks=True)
    return root


def privacy_command(root: Path, *args: str) -> list[dict]:
    env = {**os.environ, DATA_DIR_ENV: str(root), "DAGSTER_HOME": str(root / "dagster_home")}
    proc = subprocess.run([sys.executable, "-m", "retention.privacy", *args], env=env, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [orjson.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def other_customers(root: Path, subject: dict) -> list[str]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return [r[0] for r in con.execute("select email from customers where email is not null and customer_key != ?",
                                          [subject["customer_key"]]).fetchall()]


def test_the_document_holds_their_records_from_every_store_and_nobody_elses(store):
    subject = pick_subject(store)
    before = files_naming(store, needles(subject))
    [line] = privacy_command(store, "export", "--email", subject["email"])
    assert subject["email"] not in orjson.dumps(line).decode()  # what is printed names no one
    document = orjson.loads((store / line["document"]).read_bytes())
    assert document["identifiers"]["emails"] == [subject["email"]]
    assert document["identifiers"]["shopify_customer_ids"] == [subject["shopify_id"]]
    for name in ("inbox", "landing", "warehouse", "ledger", "outbox", "reports", "simulation"):
        assert document["stores"].get(name), name
        assert document["counts"][name] == len(document["stores"][name])
    text = orjson.dumps(document["stores"]).decode().lower()
    assert subject["email"] in text and str(subject["shopify_id"]) in text
    leaked = [email for email in other_customers(store, subject) if email in text]
    assert leaked == []
    # an access request removes nothing
    assert files_naming(store, needles(subject)).keys() - {"exports", "privacy"} == before.keys()


def write_webhook(root: Path, topic: str, webhook_id: str, body: dict) -> None:
    folder = root / "inbox" / "shopify" / WEBHOOK_DAY.isoformat() / "webhooks" / topic.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"120000-{webhook_id}.json").write_bytes(orjson.dumps(body))


def test_landed_shopify_requests_are_acted_on_once(store):
    subject = pick_subject(store)
    with duckdb.connect(str(store / "warehouse.duckdb"), read_only=True) as con:
        other = con.execute("""select c.email, c.primary_customer_id, c.customer_key from customers c
                               where c.primary_customer_id is not null and c.customer_key != ? and c.email is not null
                                 and c.customer_id_count = 1 order by c.primary_customer_id limit 1""",
                            [subject["customer_key"]]).fetchone()
    shop = {"shop_id": 954889, "shop_domain": "retention-demo.myshopify.com"}
    write_webhook(store, "customers/data_request", "dr-1", shop | {
        "customer": {"id": int(subject["shopify_id"]), "email": subject["email"], "phone": subject["phone"]},
        "orders_requested": subject["order_ids"], "data_request": {"id": 9999}})
    write_webhook(store, "customers/redact", "rd-1", shop | {
        "customer": {"id": int(other[1]), "email": other[0], "phone": None}, "orders_to_redact": []})
    ingest_day(DataDir(store), "shopify", WEBHOOK_DAY)

    lines = privacy_command(store, "requests")
    assert [(line["request_id"], line["action"]) for line in lines] == [
        ("shopify:dr-1", "export"), ("shopify:rd-1", "erase")]
    document = orjson.loads((store / lines[0]["document"]).read_bytes())
    assert document["stores"]["warehouse"] and other[0] not in orjson.dumps(document).decode()
    erased = [re.compile(re.escape(other[0]).encode(), re.I), re.compile(rb"(?<!\d)%d(?!\d)" % other[1]),
              re.compile(other[2].encode())]
    assert files_naming(store, erased) == {}
    assert privacy_command(store, "requests") == []  # each request once


def test_shop_redact_takes_the_shops_dagster_history_too(store, monkeypatch):
    """shop/redact through the Dagster job: the data directory's stores and every earlier run (configs
    naming people, compute logs) go; the acting run stays, and the ledger keeps its tombstones only."""
    subject = pick_subject(store)
    monkeypatch.setenv(DATA_DIR_ENV, str(store))
    for key in PROVIDER_KEYS:
        monkeypatch.delenv(key, raising=False)
    # an export request run through Dagster: its config names the person
    assert run_job(store, "privacy_requests", {"ops": {"privacy__act": {"config": {
        "action": "export", "email": subject["email"]}}}}).success
    home = store / "dagster_home"
    assert files_naming(home, needles(subject))  # before: Dagster's storage names them
    with instance_in(store) as instance:
        earlier = {run.run_id for run in instance.get_runs()}
    assert len(earlier) >= 2  # the activation and the export
    everyone = [re.compile(re.escape(email).encode(), re.I) for email in other_customers(store, subject)]
    write_webhook(store, "shop/redact", "sr-1", {"shop_id": 954889, "shop_domain": "retention-demo.myshopify.com"})
    ingest_day(DataDir(store), "shopify", WEBHOOK_DAY)

    result = run_job(store, "privacy_requests", {"ops": {"privacy__act": {"config": {"action": "requests"}}}})
    assert result.success
    with instance_in(store) as instance:
        assert {run.run_id for run in instance.get_runs()} == {result.run_id}
    assert files_naming(home, needles(subject) + everyone) == {}
    assert not (store / "inbox").exists() and not (store / "warehouse.duckdb").exists()
    line = orjson.loads((store / "privacy" / "log.jsonl").read_bytes().splitlines()[-1])
    assert line["action"] == "erase_shop" and line["counts"]["dagster_runs"] == len(earlier)
