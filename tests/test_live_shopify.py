"""The Shopify connector against a local server that plays the Admin REST API over real HTTP
(``tests/fakes/shopify.py``): cursor pagination with Link headers, a 429 with Retry-After, a 500
once, the call-limit header; locations and inventory levels by group of locations."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from retention.ingest import ingest_day
from retention.live.shopify_api import ShopifyError, cursor_path, pull_shopify
from retention.paths import DataDir
from tests.fakes.shopify import (
    BASE_TIME,
    START_DATE,
    TEMPLATES,
    TOKEN,
    FakeShopify,
    config,
    level_key,
    make_level,
    seed,
    seed_levels,
)

DAY1, DAY2 = date(2026, 7, 14), date(2026, 7, 15)
STORE_RESOURCES = tuple(TEMPLATES)  # customers, orders, products, checkouts


def inbox_pages(data_dir: DataDir, day: date) -> dict[str, bytes]:
    folder = data_dir.inbox_day("shopify", day)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def test_backfill_then_incremental(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        # before the configured start date: never fetched
        seed(fake, {"customers": 2, "orders": 2}, 100, BASE_TIME - timedelta(days=40))
        first = seed(fake, {"customers": 7, "orders": 8, "products": 4, "checkouts": 2}, 1000, BASE_TIME)
        fake.faults[("orders", 2)] = [(429, {"Retry-After": "0.05"})]
        fake.faults[("customers", 2)] = [(500, {})]
        fake.call_limit[("products", 1)] = "39/40"

        summary = pull_shopify(data_dir, DAY1, config(fake, resources=STORE_RESOURCES))

        assert summary.resources["customers"].records == 7 and summary.resources["customers"].pages == 3
        assert summary.resources["orders"].records == 8 and summary.resources["orders"].pages == 3
        assert summary.resources["products"].records == 4 and summary.resources["checkouts"].records == 2
        assert summary.retries == 2
        # every page fetched exactly once (a fault is not a page), written byte for byte
        keys = [(r, k) for r, k, _ in fake.served]
        assert len(keys) == len(set(keys)) == summary.pages
        written = inbox_pages(data_dir, DAY1)
        assert sorted(written) == sorted(f"{r}-{n:04d}.json" for r, s in summary.resources.items()
                                         for n in range(1, s.pages + 1))
        served_by_resource = {}
        for resource, _, body in fake.served:
            served_by_resource.setdefault(resource, []).append(body)
        for resource, bodies in served_by_resource.items():
            assert [written[f"{resource}-{n:04d}.json"] for n in range(1, len(bodies) + 1)] == bodies
        fetched_ids = {r: [x["id"] for b in bodies for x in json.loads(b)[r]] for r, bodies in served_by_resource.items()}
        assert fetched_ids == {r: ids for r, ids in first.items()}

        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        newest_order = max(fake.records["orders"], key=lambda r: datetime.fromisoformat(r["updated_at"]))
        assert cursors["orders"]["updated_at_min"] == newest_order["updated_at"]

        report = ingest_day(data_dir, "shopify", DAY1)
        assert report.quarantined == 0
        assert report.tables["customers"].landed == 7 and report.tables["orders"].landed == 8
        assert report.tables["products"].landed == 4 and report.tables["checkouts"].landed == 2

        # second run: one order updated later, new customers; only records at/after the cursors come
        fake.served.clear()
        later = BASE_TIME + timedelta(days=1)
        fake.records["orders"][3]["updated_at"] = later.isoformat()
        new = seed(fake, {"customers": 4}, 5000, later)
        summary2 = pull_shopify(data_dir, DAY2, config(fake, resources=STORE_RESOURCES))
        fetched = {}
        for resource, _, body in fake.served:
            fetched.setdefault(resource, []).extend(x["id"] for x in json.loads(body)[resource])
        boundary = {r: {x["id"] for x in fake.records[r] if x["updated_at"] == cursors[r]["updated_at_min"]}
                    for r in cursors}
        assert set(fetched["customers"]) == set(new["customers"]) | boundary["customers"]
        assert set(fetched["orders"]) == {fake.records["orders"][3]["id"]} | boundary["orders"]
        assert set(fetched["products"]) == boundary["products"]
        assert summary2.records == sum(len(v) for v in fetched.values())
        assert ingest_day(data_dir, "shopify", DAY2).quarantined == 0


def test_records_newer_than_the_run_wait_for_the_next_run(tmp_path):
    data_dir = DataDir(tmp_path)
    now = datetime.now(UTC)
    with FakeShopify() as fake:
        seed(fake, {"customers": 2}, 1000, now - timedelta(hours=1))
        seed(fake, {"customers": 1}, 2000, now + timedelta(seconds=5))  # updated while we page
        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("customers",), settle_seconds=0))
        assert summary.records == 2
        cursor = json.loads(cursor_path(data_dir).read_text())["resources"]["customers"]["updated_at_min"]
        assert datetime.fromisoformat(cursor) < now


def test_same_day_rerun_appends_pages(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"customers": 4}, 1000, BASE_TIME)
        cfg = config(fake, resources=("customers",))
        pull_shopify(data_dir, DAY1, cfg)
        seed(fake, {"customers": 1}, 2000, BASE_TIME + timedelta(days=2))
        pull_shopify(data_dir, DAY1, cfg)
        assert sorted(inbox_pages(data_dir, DAY1)) == [f"customers-{n:04d}.json" for n in (1, 2, 3)]


def test_failure_keeps_cursor(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"customers": 2, "products": 5}, 1000, BASE_TIME)
        fake.faults[("products", 2)] = [(503, {})] * 10
        with pytest.raises(ShopifyError) as err:
            pull_shopify(data_dir, DAY1, config(fake, resources=("customers", "products"), max_retries=3))
        assert TOKEN not in str(err.value)
        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        assert "customers" in cursors and "products" not in cursors
        # the next run starts products over from the start date and completes
        fake.faults.clear()
        fake.served.clear()
        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("products",)))
        assert summary.resources["products"].records == 5
        assert "products" in json.loads(cursor_path(data_dir).read_text())["resources"]


def test_bad_token_fails_without_leaking(tmp_path):
    with FakeShopify() as fake:
        with pytest.raises(ShopifyError) as err:
            pull_shopify(DataDir(tmp_path), DAY1, config(fake, access_token="wrong-token-value"))
        assert "401" in str(err.value) and "wrong-token-value" not in str(err.value)
        assert not cursor_path(DataDir(tmp_path)).exists()


# -- locations and inventory levels ---------------------------------------------------------------
def levels_served(fake: FakeShopify) -> list[dict]:
    return [x for r, _, body in fake.served if r == "inventory_levels" for x in json.loads(body)[r]]


def test_inventory_levels_by_location_group_with_pagination_and_rate_limits(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"locations": 52}, 9000, BASE_TIME - timedelta(days=400))  # more than one request's worth
        levels = seed_levels(fake, [801, 802], BASE_TIME)
        fake.records["inventory_levels"].append(make_level(803, 9000, 1, BASE_TIME - timedelta(days=40)))  # before start
        fake.call_limit[("locations", 1)] = "39/40"
        fake.faults[("inventory_levels", 1)] = [(500, {})]
        fake.faults[("inventory_levels", 3)] = [(429, {"Retry-After": "0.05"})]

        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("inventory_levels",), limit=25))

        # locations came first (levels need their ids), whole and unfiltered, though not asked for
        assert list(summary.resources) == ["locations", "inventory_levels"]
        assert summary.resources["locations"].records == 52
        first_pages = [(r, q) for r, q in fake.queries if r in ("locations", "inventory_levels")]
        assert first_pages[0] == ("locations", {})
        groups = [q for r, q in first_pages if r == "inventory_levels"]
        groups = list({q["location_ids"]: q for q in groups}.values())  # a retried first page asks again
        assert [len(q["location_ids"].split(",")) for q in groups] == [50, 2]
        assert all(q["updated_at_min"].startswith(START_DATE) and q["limit"] == "25" and "updated_at_max" not in q
                   for q in groups)
        # every level exactly once, pages written byte for byte and numbered on across the groups
        got = levels_served(fake)
        assert sorted(map(level_key, got)) == sorted(map(level_key, levels)) and len(got) == 104
        assert summary.retries == 2 and summary.throttled_seconds > 0
        pages = [body for r, _, body in fake.served if r == "inventory_levels"]
        written = inbox_pages(data_dir, DAY1)
        assert [written[f"inventory_levels-{n:04d}.json"] for n in range(1, len(pages) + 1)] == pages
        assert summary.resources["inventory_levels"].pages == len(pages) == 5  # 100 levels / 25, then 4 more

        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        newest = max(levels, key=lambda r: datetime.fromisoformat(r["updated_at"]))
        assert cursors["inventory_levels"]["updated_at_min"] == newest["updated_at"]

        report = ingest_day(data_dir, "shopify", DAY1)
        assert report.quarantined == 0
        assert report.tables["locations"].landed == 52 and report.tables["inventory_levels"].landed == 104


def test_inventory_levels_incremental_from_their_cursor(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"locations": 2}, 9000, BASE_TIME - timedelta(days=400))
        seed_levels(fake, [801, 802, 803], BASE_TIME)
        pull_shopify(data_dir, DAY1, config(fake, resources=("locations", "inventory_levels")))
        cursor = json.loads(cursor_path(data_dir).read_text())["resources"]["inventory_levels"]["updated_at_min"]

        fake.served.clear()
        later = BASE_TIME + timedelta(days=1)
        restock = fake.records["inventory_levels"][1]
        restock.update(available=40, updated_at=later.isoformat())
        fake.records["inventory_levels"].append(make_level(804, 9001, 7, later + timedelta(minutes=1)))
        summary = pull_shopify(data_dir, DAY2, config(fake, resources=("locations", "inventory_levels")))

        # the whole location list again (the endpoint has no filter); levels at or after the cursor only
        assert summary.resources["locations"].records == 2
        boundary = {level_key(r) for r in fake.records["inventory_levels"] if r["updated_at"] == cursor}
        assert {level_key(r) for r in levels_served(fake)} == {level_key(restock), (804, 9001)} | boundary
        assert (json.loads(cursor_path(data_dir).read_text())["resources"]["inventory_levels"]["updated_at_min"]
                == fake.records["inventory_levels"][-1]["updated_at"])
        assert ingest_day(data_dir, "shopify", DAY2).quarantined == 0


def test_inventory_cursor_stops_at_the_runs_upper_bound(tmp_path):
    # no updated_at_max on inventory_levels.json: a level newer than the run comes now and again next run
    data_dir = DataDir(tmp_path)
    now = datetime.now(UTC)
    with FakeShopify() as fake:
        seed(fake, {"locations": 1}, 9000, now - timedelta(days=400))
        seed_levels(fake, [801], now - timedelta(hours=1))
        seed_levels(fake, [802], now + timedelta(minutes=5))
        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("inventory_levels",), settle_seconds=0))
        assert summary.resources["inventory_levels"].records == 2
        cursor = json.loads(cursor_path(data_dir).read_text())["resources"]["inventory_levels"]["updated_at_min"]
        assert now - timedelta(seconds=1) <= datetime.fromisoformat(cursor) < now + timedelta(minutes=1)


def test_no_locations_no_level_requests(tmp_path):
    with FakeShopify() as fake:
        summary = pull_shopify(DataDir(tmp_path), DAY1, config(fake, resources=("inventory_levels",)))
        assert summary.resources["inventory_levels"].records == 0
        assert [r for r, _ in fake.queries] == ["locations"]
