"""The blocking `expectations` checks in Dagster runs, and the run-failure sensor.

A clean day lands and builds downstream; a bad day (duplicated keys, invalid emails, a source
that halves) fails its check, names the failing expectation, and stops downstream assets."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import orjson
import pytest

from assets.ingest import ingest_assets
from assets.partitions import daily_partitions
from assets.quality import quality_checks
from assets.resources import AlertWebhookResource, DataDirResource
from orchestration.sensors import report_run_failures, sensors
from retention.ingest import SOURCE_TABLES
from retention.quality.alerts import WEBHOOK_ENV
from tests.warehouse_fixtures import land_store

SOURCES = ("shopify", "web")
DOWNSTREAM = dg.AssetKey("built_on_landing")


@dg.asset(
    key=DOWNSTREAM,
    deps=[dg.AssetKey(["landing", source, table]) for source in SOURCES for table in SOURCE_TABLES[source]],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def built_on_landing() -> None:
    """Stands in for the warehouse, which reads every landing table: it must not build on a day
    whose landing failed its checks (a blocking check holds back what depends on its asset)."""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return land_store(tmp_path_factory.mktemp("store"))


def run_day(store, first: date, last: date | None = None) -> dg.ExecuteInProcessResult:
    """Land the day(s) of Shopify and web from the inbox, check them, then build downstream."""
    assets = [a for a in ingest_assets if any(k.path[1] in SOURCES for k in a.keys)]
    checks = [c for c in quality_checks if any(k.asset_key.path[1] in SOURCES for k in c.check_keys)]
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": (last or first).isoformat(),
    }
    return dg.materialize(
        [*assets, *checks, built_on_landing],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"data_dir": DataDirResource(root=str(store.root))},
        tags=tags,
        raise_on_error=False,
    )


def expectations(result) -> dict[tuple[str, ...], dg.AssetCheckEvaluation]:
    return {tuple(e.asset_key.path): e for e in result.get_asset_check_evaluations() if e.check_name == "expectations"}


def built(result) -> set[dg.AssetKey]:
    return {e.step_materialization_data.materialization.asset_key for e in result.get_asset_materialization_events()}


def edit_shopify_page(store, day: date, resource: str, change) -> None:
    path = sorted(store.inbox_day("shopify", day).glob(f"{resource}-*.json"))[0]
    page = orjson.loads(path.read_bytes())
    change(page[resource])
    path.write_bytes(orjson.dumps(page))


def test_every_landing_table_has_a_blocking_expectations_check():
    specs = [spec for check in quality_checks for spec in check.check_specs]
    assert len(specs) == sum(1 for a in ingest_assets for _ in a.keys)
    assert all(spec.name == "expectations" and spec.blocking for spec in specs)


def test_a_clean_day_passes_and_builds_downstream(store):
    result = run_day(store, date(2025, 2, 20))
    assert result.success
    checks = expectations(result)
    assert len(checks) == sum(len(SOURCE_TABLES[source]) for source in SOURCES) and all(c.passed for c in checks.values())
    assert checks[("landing", "web", "events")].metadata["rows"].value > 0
    assert DOWNSTREAM in built(result)


def test_a_range_run_validates_each_day(store):
    result = run_day(store, date(2025, 2, 24), date(2025, 2, 25))
    assert result.success
    assert all(c.metadata["days"].value == 2 for c in expectations(result).values())


def assert_stopped_by(result, table: tuple[str, ...], expectation: str) -> dg.AssetCheckEvaluation:
    assert not result.success
    check = expectations(result)[table]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert expectation in check.metadata["failed_expectation_names"].value
    assert expectation in check.metadata["failures"].value  # the Markdown table the UI shows
    assert DOWNSTREAM not in built(result)
    return check


def test_duplicated_keys_stop_downstream(store):
    day = date(2025, 2, 21)

    def clash(orders: list) -> None:
        orders.append({**orders[0], "email": "someone.else@example.com", "note": "a different order, same id"})

    edit_shopify_page(store, day, "orders", clash)
    assert_stopped_by(run_day(store, day), ("landing", "shopify", "orders"), "expect_compound_columns_to_be_unique")


def test_invalid_emails_stop_downstream_and_are_hashed(store):
    day = date(2025, 2, 22)

    def spoil(customers: list) -> None:
        customers[0]["email"] = "not-an-email"

    edit_shopify_page(store, day, "customers", spoil)
    check = assert_stopped_by(run_day(store, day), ("landing", "shopify", "customers"),
                              "expect_column_values_to_match_regex")
    assert "not-an-email" not in check.metadata["failures"].value
    assert "sha256:" in check.metadata["failures"].value


def test_a_source_that_suddenly_halves_stops_downstream(store):
    day = date(2025, 2, 23)
    path = store.inbox_day("web", day) / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert_stopped_by(run_day(store, day), ("landing", "web", "events"), "expect_table_row_count_to_be_between")


# -- the run-failure sensor ------------------------------------------------------------------
def failed_run(instance: dg.DagsterInstance):
    @dg.op
    def read_inbox():
        raise RuntimeError("the inbox folder is unreadable")

    @dg.job
    def fragile():
        read_inbox()

    result = fragile.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return instance.get_run_by_id(result.run_id), failure


def sensor_context(instance):
    run, failure = failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="report_run_failures", dagster_instance=instance, dagster_run=run, dagster_event=failure,
        resources={"alert_webhook": AlertWebhookResource()},
    ).for_run_failure()
    return run, context


@pytest.fixture
def receiver():
    """A local webhook receiver that keeps what it is sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/pipeline", received
    server.shutdown()
    server.server_close()


def test_the_sensor_is_exported():
    assert report_run_failures in sensors


def test_a_failed_run_is_posted_to_the_webhook(receiver, monkeypatch):
    url, received = receiver
    monkeypatch.setenv(WEBHOOK_ENV, url)
    instance = dg.DagsterInstance.ephemeral()
    run, context = sensor_context(instance)
    report_run_failures(context)
    assert len(received) == 1 and received[0]["content_type"] == "application/json"
    body = received[0]["body"]
    assert body["job"] == "fragile" and body["run_id"] == run.run_id
    assert body["failed_steps"] == ["read_inbox"]
    assert "read_inbox" in body["text"] and body["error"]
    assert set(body) == {"text", "job", "run_id", "failed_steps", "error", "partition"}


def test_without_a_webhook_the_failure_is_logged(receiver, monkeypatch, capfd):
    _, received = receiver
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    _, context = sensor_context(dg.DagsterInstance.ephemeral())
    capfd.readouterr()  # only what the sensor logs
    report_run_failures(context)
    assert received == []
    assert f"{WEBHOOK_ENV} is not set" in capfd.readouterr().err
