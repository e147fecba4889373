"""The live sources inside Dagster: a pull fills the inbox, ingestion lands it, the schedule skips when unconnected."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.ingest import ingest_assets
from assets.live import shopify_inbox
from assets.resources import DataDirResource, ShopifyResource
from orchestration.definitions import defs, resources
from tests.fakes.shopify import BASE_TIME, DAY1, START_DATE, TOKEN, FakeShopify, seed

SCHEDULED = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)


def evaluate_schedule():
    schedule = defs.resolve_schedule_def("pull_live_sources_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=SCHEDULED, repository_def=defs.get_repository_def(),
        resources={"shopify": resources["shopify"], "sendgrid": resources["sendgrid"]},
    )
    return schedule.evaluate_tick(context)


def test_schedule_skips_when_no_provider_is_connected(monkeypatch):
    for name in ("SHOPIFY_STORE_DOMAIN", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_BASE", "SENDGRID_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = evaluate_schedule()
    assert not result.run_requests and "No live source is connected" in result.skip_message


def test_schedule_pulls_yesterday_from_the_connected_providers_only(monkeypatch):
    monkeypatch.setenv("SHOPIFY_STORE_DOMAIN", "example.myshopify.com")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    (request,) = evaluate_schedule().run_requests
    assert request.partition_key == "2026-07-14"  # the scheduled day's yesterday, not the wall clock's
    assert request.asset_selection == [dg.AssetKey(["inbox", "shopify"])]
    assert request.run_key == "pull_live_sources:2026-07-14"


def test_unconnected_pull_fails_with_a_clear_reason(tmp_path):
    result = dg.materialize(
        [shopify_inbox],
        resources={"shopify": ShopifyResource(), "data_dir": DataDirResource(root=str(tmp_path))},
        partition_key=DAY1.isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "SHOPIFY_STORE_DOMAIN and SHOPIFY_ACCESS_TOKEN" in failure.message


def test_pulled_pages_land_through_ingestion(tmp_path):
    ingest_shopify = next(a for a in ingest_assets if a.node_def.name == "ingest_shopify")
    with FakeShopify() as fake:
        seeded = seed(fake, {"customers": 3, "orders": 5, "products": 2, "checkouts": 1}, 1000, BASE_TIME)
        shopify = ShopifyResource(api="rest", api_base=fake.base, access_token=TOKEN, start_date=START_DATE)
        result = dg.materialize(
            [shopify_inbox, ingest_shopify],
            resources={"shopify": shopify, "data_dir": DataDirResource(root=str(tmp_path))},
            partition_key=DAY1.isoformat(),
        )
    assert result.success
    pulled = result.asset_materializations_for_node(shopify_inbox.op.name)[0].metadata
    assert pulled["orders_records"].value == 5 and pulled["customers_records"].value == 3
    orders = duckdb.sql(
        f"select id from read_parquet('{tmp_path}/landing/shopify/orders/*/*.parquet') order by id"
    ).fetchall()
    assert [row[0] for row in orders] == seeded["orders"]
