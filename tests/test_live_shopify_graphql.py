"""The Shopify GraphQL connector against a local server that plays the GraphQL Admin API over real
HTTP (``tests/fakes/shopify_graphql.py``): bulk backfill (run -> poll -> JSONL), incremental pages
with cursors, cost-based throttling and THROTTLED retries on an injected clock, 5xx retries,
GraphQL errors; and ingestion of what it writes into the same rows as the REST pages."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from retention.ingest import ingest_day, parse_files
from retention.live.shopify_api import cursor_path as rest_cursor_path
from retention.live.shopify_graphql import ShopifyGraphQLError, cursor_path, pull_shopify_graphql
from retention.live.shopify_graphql.client import Bucket
from retention.paths import DataDir
from tests.fakes.shopify import BASE_TIME, make_level, make_record
from tests.fakes.shopify_graphql import (
    NODE,
    TOKEN,
    FakeClock,
    FakeShopifyGraphQL,
    bulk_jsonl,
    config,
    copies,
    level_node,
    rest_records,
)
from tests.fixtures import PROVIDER_FIXTURES

DAY1, DAY2 = date(2026, 7, 14), date(2026, 7, 15)
STORE = ("customers", "orders", "products", "checkouts")
LINEAGE = {"_source_file", "_record_index", "_ingested_at", "_record_hash", "_raw", "_warnings"}
# what the GraphQL API does not carry (retention/ingest/shopify_graphql.py says so); everything else must match
NOT_IN_GRAPHQL = {
    "orders": {"contact_email", "checkout_id", "checkout_token", "cart_token", "token", "landing_site",
               "referring_site"},
    "refunds": {"processed_at", "restock", "user_id"},
    "fulfillments": {"line_item_count"},
    "product_variants": {"grams"},
    "checkouts": {"token", "cart_token", "email", "buyer_accepts_marketing", "buyer_accepts_sms_marketing",
                  "source_name", "discount_codes"},
    "checkout_lines": {"checkout_token", "key"},
    "locations": {"legacy"},
}


def inbox(data_dir: DataDir, day: date) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data_dir.inbox_day("shopify", day).iterdir())}


def store(fake: FakeShopifyGraphQL) -> None:
    """Shopify's own REST fixture records (tests/data/providers/shopify), a location and two levels."""
    for resource in STORE:
        for record in rest_records(resource):
            fake.add(resource, record)
    fake.add("locations", make_record("locations", 9000, BASE_TIME))
    fake.records["inventory_levels"] += [make_level(808950810, 9000, 5, BASE_TIME),
                                         make_level(49148385, 9000, None, BASE_TIME)]


def comparable(table, rows: list[dict]) -> list[dict]:
    skip = LINEAGE | NOT_IN_GRAPHQL.get(table, set())
    kept = [{k: v for k, v in row.items() if k not in skip} for row in rows]
    return sorted(kept, key=lambda row: json.dumps(row, default=str, sort_keys=True))


def rest_landing(tmp_path: Path, fake: FakeShopifyGraphQL):
    """What the REST path lands for the fake's records (its pages written as the REST API returns them)."""
    folder = tmp_path / "rest"
    folder.mkdir()
    paths = []
    for resource, records in fake.records.items():
        path = folder / f"{resource}-0001.json"
        path.write_text(json.dumps({resource: records}))
        paths.append(path)
    return parse_files("shopify", paths, folder)


# -- bulk backfill --------------------------------------------------------------------------------------
def test_bulk_backfill_writes_jsonl_unchanged_and_lands_the_rest_rows(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    clock = FakeClock()
    with FakeShopifyGraphQL(running_polls=2) as fake:
        store(fake)
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake), clock=clock)

        # one bulk operation per resource (locations bring their levels), each polled CREATED, RUNNING, COMPLETED
        runs = [r for r in fake.requests if "bulkOperationRunQuery" in r["query"]]
        assert len(runs) == 5 and len(fake.operations) == 5
        assert all(op["polls"] == 3 for op in fake.operations.values())
        assert clock.sleeps == [0.5, 0.75] * 5  # poll intervals, on the injected clock only
        inner = {json.loads(json.dumps(r["variables"]["query"])).split("(")[0].strip("{ ") for r in runs}
        assert inner == {"customers", "orders", "products", "abandonedCheckouts", "locations"}
        assert all("updated_at:<='" in r["variables"]["query"] for r in runs if "locations" not in r["variables"]["query"])
        # the JSONL written byte for byte as served; the storage URL never gets the shop's token
        written = inbox(data_dir, DAY1)
        assert sorted(written) == [f"gql-bulk-{r}-0001.jsonl" for r in
                                   ("checkouts", "customers", "locations", "orders", "products")]
        assert sorted(written.values()) == sorted(fake.files.values())
        assert len(fake.downloads) == 5 and not any("X-Shopify-Access-Token" in h for h in fake.downloads)
        assert b"gid:\\/\\/shopify\\/LineItem\\/" in written["gql-bulk-orders-0001.jsonl"]  # Shopify's escaping
        assert summary.resources["customers"].records == 2 and summary.resources["products"].records == 2
        assert summary.resources["locations"].records == 1 and summary.resources["inventory_levels"].records == 2

        # cursors: the newest updatedAt of each resource
        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        assert cursors["customers"]["updated_at_min"] == "2025-04-02T16:27:00Z"
        assert cursors["customers"]["via"] == "bulk"
        assert set(cursors) == {"customers", "orders", "products", "checkouts", "locations", "inventory_levels"}

        report = ingest_day(data_dir, "shopify", DAY1)
        assert report.quarantined == 0 and report.files == 5
        rest = rest_landing(tmp_path, fake)
        graphql = parse_files("shopify", sorted(data_dir.inbox_day("shopify", DAY1).iterdir()), data_dir.inbox)
        assert {t: (c.records_in, c.landed) for t, c in graphql.counts.items()} == \
               {t: (c.records_in, c.landed) for t, c in rest.counts.items()}
        for table, rows in rest.tables.items():
            assert comparable(table, graphql.tables[table].to_pylist()) == comparable(table, rows.to_pylist()), table
        # the landed rows keep the GraphQL node as _raw, and numeric ids
        order = graphql.tables["orders"].to_pylist()[0]
        assert order["id"] == 450789469 and json.loads(order["_raw"])["id"] == "gid://shopify/Order/450789469"
        assert {d["code"]: str(d["amount"]) for d in order["discount_codes"]} == {"TENOFF": "10.0000"}


def test_paginated_pull_lands_the_rest_rows_too(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    with FakeShopifyGraphQL() as fake:
        store(fake)
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, backfill="never"), clock=FakeClock())
        assert not fake.operations and summary.records == 9
        assert sorted(inbox(data_dir, DAY1)) == [f"gql-{r}-0001.json" for r in sorted(
            ("customers", "orders", "products", "checkouts", "locations", "inventory_levels"))]
        report = ingest_day(data_dir, "shopify", DAY1)
        assert report.quarantined == 0
        rest = rest_landing(tmp_path, fake)
    graphql = parse_files("shopify", sorted(data_dir.inbox_day("shopify", DAY1).iterdir()), data_dir.inbox)
    for table, rows in rest.tables.items():
        assert comparable(table, graphql.tables[table].to_pylist()) == comparable(table, rows.to_pylist()), table


def test_bulk_products_keep_all_their_variants(tmp_path):
    # the REST products endpoint stops at 100 variants; a bulk export has them all
    data_dir = DataDir(tmp_path)
    product = copy.deepcopy(rest_records("products")[0])
    template = product["variants"][0]
    product["variants"] = [dict(template, id=10_000 + i, position=i + 1, option1=f"Colour {i}") for i in range(150)]
    with FakeShopifyGraphQL(running_polls=0) as fake:
        fake.add("products", product)
        pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("products",)), clock=FakeClock())
    report = ingest_day(data_dir, "shopify", DAY1)
    assert report.tables["products"].landed == 1 and report.tables["product_variants"].landed == 150
    parsed = parse_files("shopify", list(data_dir.inbox_day("shopify", DAY1).iterdir()))
    assert parsed.tables["products"].to_pylist()[0]["variant_count"] == 150


def test_bulk_with_no_result_writes_nothing_and_goes_on_with_pages(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopifyGraphQL(running_polls=1) as fake:
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",)), clock=FakeClock())
        assert summary.records == 0 and summary.resources["customers"].files == []
        assert len(fake.operations) == 1 and not any(data_dir.inbox_day("shopify", DAY1).iterdir())
        # the cursor is the export's upper bound: the next run pages from there
        until = re.search(r"updated_at:<='([^']+)'", fake.requests[0]["variables"]["query"]).group(1)
        assert json.loads(cursor_path(data_dir).read_text())["resources"]["customers"]["updated_at_min"] == until
        pull_shopify_graphql(data_dir, DAY2, config(fake, resources=("customers",)), clock=FakeClock())
        assert len(fake.operations) == 1
        assert fake.requests[-1]["variables"]["query"].startswith(f"updated_at:>='{until}'")


def test_bulk_operation_failure_and_user_errors_are_clear(tmp_path):
    with FakeShopifyGraphQL() as fake:
        fake.faults[1] = ("user_errors", "A bulk query operation for this app and shop is already in progress")
        with pytest.raises(ShopifyGraphQLError, match=r"^customers: bulkOperationRunQuery refused: A bulk query "
                                                      r"operation .* in progress \(query\)"):
            pull_shopify_graphql(DataDir(tmp_path), DAY1, config(fake, resources=("customers",)), clock=FakeClock())


# -- incremental pages ------------------------------------------------------------------------------------
def test_incremental_pages_follow_the_cursor_and_pagination(tmp_path):
    data_dir = DataDir(tmp_path)
    clock = FakeClock()
    with FakeShopifyGraphQL(running_polls=0) as fake:
        old = copies("customers", 3, 1000, BASE_TIME)
        for rec in old:
            fake.add("customers", rec)
        pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",)), clock=clock)
        cursor = json.loads(cursor_path(data_dir).read_text())["resources"]["customers"]["updated_at_min"]

        # a day later: five new customers and one updated; pages of two
        fake.requests.clear()
        later = BASE_TIME + timedelta(days=1)
        for rec in copies("customers", 5, 2000, later):
            fake.add("customers", rec)
        old[0]["updated_at"] = (later + timedelta(hours=2)).isoformat()
        summary = pull_shopify_graphql(data_dir, DAY2, config(fake, resources=("customers",),
                                                              page_sizes={"customers": 2}), clock=clock)

        assert not any("bulkOperationRunQuery" in r["query"] for r in fake.requests)  # a cursor: no backfill
        pages = [r for r in fake.requests if "customers(" in r["query"]]
        assert [p["variables"]["after"] is None for p in pages] == [True, False, False, False]
        assert all(p["variables"]["first"] == 2 for p in pages)
        assert pages[0]["variables"]["query"].startswith(f"updated_at:>='{cursor}' AND updated_at:<='")
        assert [p["variables"]["after"] for p in pages[1:]] == [
            json.loads(body)["data"]["customers"]["pageInfo"]["endCursor"] for _, body in fake.served[-4:-1]]
        # every page written unchanged, numbered
        written = inbox(data_dir, DAY2)
        assert sorted(written) == [f"gql-customers-000{n}.json" for n in (1, 2, 3, 4)]
        assert [written[f"gql-customers-000{n}.json"] for n in (1, 2, 3, 4)] == [b for _, b in fake.served[-4:]]
        # five new, the updated one, and the one of the cursor's very second (inclusive, as REST: duplicates
        # are harmless, staging keeps the latest version)
        fetched = [n["id"] for _, b in fake.served[-4:] for n in json.loads(b)["data"]["customers"]["nodes"]]
        assert sorted(fetched) == sorted(f"gid://shopify/Customer/{i}" for i in (1000, 1002, 2000, 2001, 2002, 2003, 2004))
        assert summary.resources["customers"].records == 7 and summary.resources["customers"].pages == 4
        state = json.loads(cursor_path(data_dir).read_text())["resources"]["customers"]
        assert state["updated_at_min"] == (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert state["via"] == "pages"

        report = ingest_day(data_dir, "shopify", DAY2)
        assert report.quarantined == 0 and report.tables["customers"].landed == 7


def test_rest_cursors_carry_over_to_graphql(tmp_path):
    data_dir = DataDir(tmp_path)
    rest_cursor_path(data_dir).parent.mkdir(parents=True)
    since = (BASE_TIME + timedelta(minutes=2)).isoformat()
    rest_cursor_path(data_dir).write_text(json.dumps({"version": 1, "resources": {"orders": {"updated_at_min": since}}}))
    with FakeShopifyGraphQL() as fake:
        for rec in copies("orders", 4, 500, BASE_TIME):
            fake.add("orders", rec)
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("orders",)), clock=FakeClock())
    assert not fake.operations  # no backfill: the REST cursor says where we are
    assert summary.resources["orders"].records == 2
    assert fake.requests[0]["variables"]["query"].startswith(f"updated_at:>='{since}'")


def test_records_too_big_for_a_page_come_whole_by_bulk(tmp_path):
    data_dir = DataDir(tmp_path)
    order = copy.deepcopy(rest_records("orders")[0])
    template = order["line_items"][0]
    order["line_items"] = [dict(template, id=70_000 + i) for i in range(40)]  # more than lineItems(first: 10) holds
    order["refunds"], order["discount_applications"] = [], []
    small = dict(copy.deepcopy(order), id=450789470, line_items=order["line_items"][:2])
    with FakeShopifyGraphQL(running_polls=0) as fake:
        fake.add("orders", order)
        fake.add("orders", small)
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("orders",), backfill="never"),
                                       clock=FakeClock())
        bulk_queries = [r["variables"]["query"] for r in fake.requests if "bulkOperationRunQuery" in r["query"]]
    assert len(bulk_queries) == 1 and 'query: "id:450789469"' in bulk_queries[0]
    assert sorted(inbox(data_dir, DAY1)) == ["gql-bulk-orders-0001.jsonl", "gql-orders-0001.json"]
    assert summary.resources["orders"].records == 2
    report = ingest_day(data_dir, "shopify", DAY1)
    # the page's cut copy is quarantined saying why; the bulk copy lands with all 40 lines
    assert report.tables["orders"].landed == 2 and report.tables["orders"].quarantined == 1
    assert report.tables["order_lines"].landed == 42
    assert any("(id 450789469)" in e and "lineItems: hasNextPage" in e for e in report.examples)


def test_locations_every_run_and_levels_per_location_since_their_cursor(tmp_path):
    data_dir = DataDir(tmp_path)
    state = {"version": 1, "resources": {"locations": {"updated_at_min": "2020-01-01T00:00:00Z"},
                                         "inventory_levels": {"updated_at_min": BASE_TIME.isoformat()}}}
    cursor_path(data_dir).parent.mkdir(parents=True)
    cursor_path(data_dir).write_text(json.dumps(state))
    with FakeShopifyGraphQL() as fake:
        for i in range(2):
            fake.add("locations", make_record("locations", 9000 + i, BASE_TIME))
        fake.records["inventory_levels"] += [make_level(800 + i, 9000 + i % 2, i, BASE_TIME + timedelta(minutes=i))
                                             for i in range(7)]
        fake.records["inventory_levels"].append(make_level(899, 9000, 1, BASE_TIME - timedelta(days=3)))  # older
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("inventory_levels",),
                                                              page_sizes={"inventory_levels": 2}), clock=FakeClock())
    assert list(summary.resources) == ["locations", "inventory_levels"]
    assert summary.resources["locations"].records == 2 and summary.resources["inventory_levels"].records == 7
    assert summary.resources["inventory_levels"].pages == 4  # 4 levels at one location, 3 at the other, 2 a page
    report = ingest_day(data_dir, "shopify", DAY1)
    assert report.quarantined == 0 and report.tables["inventory_levels"].landed == 7
    levels = parse_files("shopify", sorted(data_dir.inbox_day("shopify", DAY1).glob("gql-inventory_levels-*")))
    rows = levels.tables["inventory_levels"].to_pylist()
    assert {(r["inventory_item_id"], r["location_id"], r["available"]) for r in rows} == \
           {(800 + i, 9000 + i % 2, i) for i in range(7)}


# -- throttling, retries, errors ----------------------------------------------------------------------------
def test_cost_based_waiting_and_throttled_retry_on_the_injected_clock(tmp_path):
    data_dir = DataDir(tmp_path)
    clock = FakeClock()
    with FakeShopifyGraphQL() as fake:
        for rec in copies("customers", 3, 1000, BASE_TIME):
            fake.add("customers", rec)
        # page 1 costs 110 and leaves 10 of 1000 points, restoring 50 a second: the next page of the same
        # query waits (110 - 10) / 50 = 2.0 s
        fake.cost_script = [(110.0, 10.0, 50.0)]
        # the third request is THROTTLED with its cost block: 110 needed, 30 left -> (110 - 30) / 50 = 1.6 s
        fake.faults[3] = ("throttled", (110.0, 30, 50.0))
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",), backfill="never",
                                                              page_sizes={"customers": 1}), clock=clock)
    assert clock.sleeps == pytest.approx([2.0, 1.6])
    assert summary.retries == 1 and summary.throttled_seconds == pytest.approx(3.6)
    assert summary.resources["customers"].records == 3 and summary.resources["customers"].pages == 3
    assert len(fake.requests) == 4


def test_throttled_without_cost_backs_off_then_succeeds(tmp_path):
    clock = FakeClock()
    with FakeShopifyGraphQL() as fake:
        fake.add("customers", rest_records("customers")[0])
        fake.faults[1] = ("throttled", None)  # Shopify's published shape: errors only, no extensions.cost
        summary = pull_shopify_graphql(DataDir(tmp_path), DAY1, config(fake, resources=("customers",),
                                                                       backfill="never"), clock=clock)
    assert summary.retries == 1 and summary.records == 1
    assert len(clock.sleeps) == 1 and 0.005 <= clock.sleeps[0] <= 0.01  # backoff of attempt 0: [base/2, base]


def test_bucket_arithmetic():
    bucket = Bucket(maximum=1000.0, available=100.0, rate=50.0, at=10.0)
    assert bucket.wait_for(300, now=10.0) == pytest.approx(4.0)
    assert bucket.wait_for(300, now=12.0) == pytest.approx(2.0)  # 2 s restored 100 points
    assert bucket.wait_for(300, now=20.0) == 0.0
    assert bucket.wait_for(5000, now=10.0) == pytest.approx(18.0)  # never more than the whole bucket


def test_5xx_is_retried_and_pages_written_once(tmp_path):
    data_dir = DataDir(tmp_path)
    clock = FakeClock()
    with FakeShopifyGraphQL() as fake:
        for rec in copies("customers", 3, 1000, BASE_TIME):
            fake.add("customers", rec)
        fake.faults[2] = ("status", 503)
        fake.faults[3] = ("status", 502)
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",), backfill="never",
                                                              page_sizes={"customers": 2}), clock=clock)
    assert summary.retries == 2 and summary.resources["customers"].pages == 2
    assert sorted(inbox(data_dir, DAY1)) == ["gql-customers-0001.json", "gql-customers-0002.json"]
    assert len(clock.sleeps) == 2


def test_5xx_beyond_the_retries_fails_and_keeps_the_cursor(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopifyGraphQL() as fake:
        fake.add("customers", rest_records("customers")[0])
        fake.faults.update({n: ("status", 500) for n in range(1, 10)})
        with pytest.raises(ShopifyGraphQLError, match=r"^customers: graphql.json answered 500 after 4 attempts"):
            pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",), backfill="never",
                                                        max_retries=3), clock=FakeClock())
    assert not cursor_path(data_dir).exists()


def test_graphql_error_names_the_resource_and_keeps_earlier_cursors(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopifyGraphQL() as fake:
        fake.add("customers", rest_records("customers")[0])
        fake.add("orders", rest_records("orders")[0])
        fake.faults[2] = ("error", "Field 'cancelReasn' doesn't exist on type 'Order'", "undefinedField")
        with pytest.raises(ShopifyGraphQLError) as err:
            pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers", "orders"), backfill="never"),
                                 clock=FakeClock())
    assert str(err.value) == ("orders: GraphQL errors: Field 'cancelReasn' doesn't exist on type 'Order' "
                              "[undefinedField]")
    assert TOKEN not in str(err.value)
    assert set(json.loads(cursor_path(data_dir).read_text())["resources"]) == {"customers"}


def test_a_page_too_costly_is_asked_again_smaller(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopifyGraphQL() as fake:
        for rec in copies("customers", 5, 1000, BASE_TIME):
            fake.add("customers", rec)
        fake.faults[1] = ("error", "Query cost is 1204, which exceeds the single query max cost limit (1000).",
                          "MAX_COST_EXCEEDED")
        summary = pull_shopify_graphql(data_dir, DAY1, config(fake, resources=("customers",), backfill="never",
                                                              page_sizes={"customers": 4}), clock=FakeClock())
    assert [r["variables"]["first"] for r in fake.requests] == [4, 2, 2, 2]
    assert summary.records == 5 and summary.retries == 0


def test_bad_token_fails_without_leaking(tmp_path):
    with FakeShopifyGraphQL() as fake:
        with pytest.raises(ShopifyGraphQLError) as err:
            pull_shopify_graphql(DataDir(tmp_path), DAY1, config(fake, access_token="wrong-token-value"),
                                 clock=FakeClock())
    assert "401" in str(err.value) and "wrong-token-value" not in str(err.value)


# -- ingestion of Shopify's own payloads and of broken records ------------------------------------------------
def test_shopifys_bulk_sample_parses_line_by_line(tmp_path):
    # a real bulk result (HotWax dev shop): orders without createdAt/updatedAt/currency in the query,
    # so each order is quarantined naming its id and the missing fields; its line items are attached
    sample = (PROVIDER_FIXTURES / "shopify_graphql" / "gql_bulk_result_orders.jsonl").read_bytes()
    path = tmp_path / "gql-bulk-orders-0001.jsonl"
    path.write_bytes(sample)
    parsed = parse_files("shopify", [path], tmp_path)
    assert parsed.counts["orders"].records_in == 3 and parsed.counts["orders"].quarantined == 3
    assert parsed.counts["_files"].records_in == 0 if "_files" in parsed.counts else True
    reasons = parsed.quarantine.to_pylist()
    assert [r["record_id"] for r in reasons] == ["6280604516516", "6280605434020", "6280606187684"]
    assert all("created_at: missing" in r["reason"] and "currency: missing" in r["reason"] for r in reasons)
    assert all("Traceback" not in r["reason"] for r in reasons)
    assert json.loads(reasons[0]["raw"])["lineItems"]["nodes"][0]["sku"] == "WH09-XS-Green"


def test_a_broken_record_never_takes_its_neighbours(tmp_path):
    nodes = [NODE["customers"](r) for r in rest_records("customers")]
    broken = dict(nodes[0], id="gid://shopify/Customer/not-a-number", updatedAt="yesterday")
    page = {"data": {"customers": {"nodes": [nodes[0], broken, nodes[1]],
                                   "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
    (tmp_path / "gql-customers-0001.json").write_text(json.dumps(page))
    lines = bulk_jsonl("customers", nodes).splitlines()
    (tmp_path / "gql-bulk-customers-0001.jsonl").write_bytes(
        b"\n".join([lines[0], b'{"id":"gid:\\/\\/shopify\\/Customer\\/1",', b'{"id":"x","__parentId":"gid://shopify/Order/9"}',
                    lines[1]]) + b"\n")
    parsed = parse_files("shopify", sorted(tmp_path.iterdir()), tmp_path)
    assert parsed.counts["customers"].landed == 4 and parsed.counts["customers"].quarantined == 1
    assert parsed.counts["_files"].quarantined == 2
    reasons = sorted(r["reason"] for r in parsed.quarantine.to_pylist())
    assert reasons[0].startswith("shopify _files record 1 (line 2) of gql-bulk-customers-0001.jsonl: not valid JSON")
    assert "child of 'gid://shopify/Order/9', which is not earlier in the file" in reasons[1]
    assert reasons[2].startswith("shopify customers record 1 of gql-customers-0001.json "
                                 "(id gid://shopify/Customer/not-a-number): id: not a 64-bit integer")
    assert "updated_at: invalid timestamp: 'yesterday'" in reasons[2]


def test_a_gzipped_bulk_file_lands_like_the_plain_one(tmp_path):
    import gzip

    from retention.ingest.day import inbox_files

    data_dir = DataDir(tmp_path)
    folder = data_dir.inbox_day("shopify", DAY1)
    folder.mkdir(parents=True)
    body = bulk_jsonl("products", [NODE["products"](r) for r in rest_records("products")])
    (folder / "gql-bulk-products-0001.jsonl.gz").write_bytes(gzip.compress(body))
    (folder / "notes.jsonl").write_bytes(body)  # not a GraphQL file: the REST parser takes .json only
    files, skipped = inbox_files(data_dir, "shopify", DAY1)
    assert [p.name for p in files] == ["gql-bulk-products-0001.jsonl.gz"] and [p.name for p in skipped] == ["notes.jsonl"]
    report = ingest_day(data_dir, "shopify", DAY1)
    assert report.tables["products"].landed == 2 and report.tables["product_variants"].landed == 5
    assert report.skipped_files == [f"shopify/{DAY1}/notes.jsonl"]


def test_levels_and_locations_of_a_bulk_file_land_like_rest(tmp_path):
    location = make_record("locations", 9000, BASE_TIME)
    levels = [make_level(801, 9000, 3, BASE_TIME), make_level(802, 9000, None, BASE_TIME)]
    node = dict(NODE["locations"](location), inventoryLevels=[level_node(lv) for lv in levels])
    (tmp_path / "gql-bulk-locations-0001.jsonl").write_bytes(bulk_jsonl("locations", [node]))
    (tmp_path / "rest").mkdir()
    (tmp_path / "rest" / "locations.json").write_text(json.dumps({"locations": [location]}))
    (tmp_path / "rest" / "inventory_levels.json").write_text(json.dumps({"inventory_levels": levels}))
    graphql = parse_files("shopify", [tmp_path / "gql-bulk-locations-0001.jsonl"])
    rest = parse_files("shopify", sorted((tmp_path / "rest").iterdir()))
    for table in ("locations", "inventory_levels"):
        assert comparable(table, graphql.tables[table].to_pylist()) == comparable(table, rest.tables[table].to_pylist())


def test_the_benchmark_runs():
    from bench.shopify_graphql import run

    result = run(20)
    assert result["records"] == 20 and result["order_lines_landed"] == 60 and result["pull_records_per_s"] > 0


def test_customers_of_older_api_versions_land_the_same():
    # before 2025-04: email, phone, emailMarketingConsent, smsMarketingConsent on the customer itself
    from retention.ingest.shopify_graphql import customer_to_rest

    for record in rest_records("customers"):
        new = NODE["customers"](record)
        old = {k: v for k, v in new.items() if k not in ("defaultEmailAddress", "defaultPhoneNumber")}
        email, phone = new["defaultEmailAddress"], new["defaultPhoneNumber"]
        old.update(email=email["emailAddress"], phone=phone["phoneNumber"],
                   emailMarketingConsent={"marketingState": email["marketingState"],
                                          "marketingOptInLevel": email["marketingOptInLevel"],
                                          "consentUpdatedAt": email["marketingUpdatedAt"]},
                   smsMarketingConsent={"marketingState": phone["marketingState"],
                                        "marketingOptInLevel": phone["marketingOptInLevel"],
                                        "consentUpdatedAt": phone["marketingUpdatedAt"],
                                        "consentCollectedFrom": phone["marketingCollectedFrom"]})
        assert customer_to_rest(old) == customer_to_rest(new)


def test_logs_carry_counts_not_people(tmp_path, caplog):
    caplog.set_level("DEBUG")
    with FakeShopifyGraphQL(running_polls=0) as fake:
        store(fake)
        pull_shopify_graphql(DataDir(tmp_path / "bulk"), DAY1, config(fake), clock=FakeClock())
        pull_shopify_graphql(DataDir(tmp_path / "pages"), DAY1, config(fake, backfill="never"), clock=FakeClock())
    text = caplog.text
    assert "shopify graphql customers" in text
    for record in rest_records("customers") + rest_records("orders"):
        for value in (record.get("email"), record.get("phone"), record.get("first_name"), record.get("last_name")):
            assert not value or value not in text
    assert TOKEN not in text
