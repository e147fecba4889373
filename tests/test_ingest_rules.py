"""Each README rule ("what a record must have to land"): a record that breaks it goes to
quarantine whole, with a reason naming the record and the field; nothing is lost."""

from __future__ import annotations

import copy
from datetime import date

import orjson
import pyarrow.parquet as pq

from retention.ingest import ingest_day
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES as FIXTURES

DAY = date(2026, 3, 14)


def fixture(rel: str):
    return orjson.loads((FIXTURES / rel).read_bytes())


def write(tmp_path, source: str, files: dict[str, object]) -> DataDir:
    data = DataDir(tmp_path / "data")
    folder = data.inbox_day(source, DAY)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else orjson.dumps(content))
    return data


def quarantine(data: DataDir, source: str, table: str) -> list[dict]:
    return pq.read_table(data.quarantine_partition(source, table, DAY) / "part-0.parquet").to_pylist()


def landed(data: DataDir, source: str, table: str) -> list[dict]:
    return pq.read_table(data.landing_partition(source, table, DAY) / "part-0.parquet").to_pylist()


def reconcile(report) -> None:
    for table, counts in report.tables.items():
        assert counts.records_in == counts.landed + counts.quarantined, table


def test_order_rules(tmp_path):
    good = fixture("shopify/order_single.json")["order"]

    def variant(**changes):
        order = copy.deepcopy(good)
        for path, value in changes.items():
            target = order
            *parents, key = path.split("__")
            for part in parents:
                target = target[int(part)] if part.isdigit() else target[part]
            if value is KeyError:
                del target[int(key) if key.isdigit() else key]
            else:
                target[int(key) if key.isdigit() else key] = value
        return order

    orders = [
        good,                                                   # 0 lands
        variant(id="450789469x"),                              # 1 id not an integer
        variant(created_at=KeyError),                          # 2 created_at missing
        variant(line_items__1__price="abc"),                   # 3 line price
        variant(currency="US"),                                # 4 currency
        variant(total_price="1,00"),                           # 5 money field
        variant(updated_at="2008-01-10 11:00"),                # 6 no offset
        variant(line_items__0__quantity=-1),                   # 7 negative quantity
        variant(line_items__2__id=None),                       # 8 line id missing
        variant(refunds__0__created_at=KeyError),              # 9 an embedded refund breaks its rule
        variant(line_items__0__quantity="two"),                # 10 quantity not an integer
        variant(id=2**63),                                     # 11 beyond int64
        variant(subtotal_price="12.34567"),                    # 12 more than 4 decimals
        "not an object",                                       # 13
        variant(tags=["vip"], buyer_accepts_marketing="maybe"),  # 14 lenient fields: lands with warnings
    ]
    data = write(tmp_path, "shopify", {"orders-0001.json": {"orders": orders}})
    report = ingest_day(data, "shopify", DAY)
    reconcile(report)
    assert report.tables["orders"].records_in == 15
    assert report.tables["orders"].landed == 2 and report.tables["orders"].quarantined == 13
    # children only from the two landed orders; none from the quarantined ones
    assert report.tables["order_lines"].landed == 6 and report.tables["order_lines"].quarantined == 0
    assert report.tables["refunds"].landed == 2 and report.tables["refund_lines"].landed == 4
    rejects = {r["_record_index"]: r for r in quarantine(data, "shopify", "orders")}
    name = "shopify orders record {} of orders-0001.json (id 450789469): "
    assert rejects[1]["reason"] == ("shopify orders record 1 of orders-0001.json (id 450789469x): "
                                    "id: not a 64-bit integer: '450789469x'")
    assert rejects[2]["reason"] == name.format(2) + "created_at: missing"
    assert rejects[3]["reason"] == name.format(3) + "line_items[1].price: not a decimal: 'abc'"
    assert rejects[4]["reason"] == name.format(4) + "currency: not a 3-letter currency code: 'US'"
    assert rejects[5]["reason"] == name.format(5) + "total_price: not a decimal: '1,00'"
    assert rejects[6]["reason"] == name.format(6) + "updated_at: timestamp without UTC offset: '2008-01-10 11:00'"
    assert rejects[7]["reason"] == name.format(7) + "line_items[0].quantity: negative quantity: -1"
    assert rejects[8]["reason"] == name.format(8) + "line_items[2].id: missing"
    assert rejects[9]["reason"] == name.format(9) + "refunds[0].created_at: missing"
    assert rejects[10]["reason"] == name.format(10) + "line_items[0].quantity: not a 64-bit integer: 'two'"
    assert rejects[11]["reason"].endswith("id: not a 64-bit integer: 9223372036854775808")
    assert rejects[12]["reason"] == name.format(12) + "subtotal_price: not a decimal: '12.34567'"
    assert rejects[13]["reason"] == "shopify orders record 13 of orders-0001.json: record: not a JSON object: 'not an object'"
    assert orjson.loads(rejects[3]["raw"]) == orders[3]  # nothing lost
    assert rejects[3]["record_id"] == "450789469" and rejects[3]["_source_file"] == "shopify/2026-03-14/orders-0001.json"
    assert report.reasons["orders: line_items[].price: not a decimal"] == 1
    assert report.reasons["orders: created_at: missing"] == 1
    assert sum(report.reasons.values()) == 13
    assert report.examples[0] == rejects[1]["reason"]
    lenient = landed(data, "shopify", "orders")[1]
    assert lenient["tags"] == '["vip"]' and lenient["buyer_accepts_marketing"] is None
    assert lenient["_warnings"] == ["buyer_accepts_marketing: not a boolean: 'maybe'"]


def test_customer_product_checkout_refund_fulfillment_rules(tmp_path):
    customer = fixture("shopify/customer_single.json")["customer"]
    product = fixture("shopify/product_single.json")["product"]
    checkout = fixture("shopify/abandoned_checkouts.json")["checkouts"][0]
    refund = fixture("shopify/refunds_list.json")["refunds"][0]
    fulfillment = fixture("shopify/fulfillments_list.json")["fulfillments"][0]
    bad_variant = copy.deepcopy(product)
    bad_variant["variants"][2]["price"] = None
    data = write(tmp_path, "shopify", {
        "customers-0001.json": {"customers": [
            customer, {**customer, "id": "abc"}, {**customer, "created_at": None}, {**customer, "updated_at": "soon"}]},
        "products-0001.json": {"products": [
            product, {**product, "title": ""}, {**product, "id": None}, bad_variant]},
        "checkouts-0001.json": {"checkouts": [
            checkout, {**checkout, "id": None}, {**checkout, "id": None, "token": None},
            {**checkout, "total_price": "379,69"}, {**checkout, "created_at": "2012-13-40T00:00:00Z"}]},
        "refunds-0001.json": {"refunds": [refund, {**refund, "order_id": None}]},
        "fulfillments-0001.json": {"fulfillments": [fulfillment, {**fulfillment, "created_at": 1700000000}]},
    })
    report = ingest_day(data, "shopify", DAY)
    reconcile(report)
    counts = {t: (c.landed, c.quarantined) for t, c in report.tables.items()}
    assert counts["customers"] == (1, 3)
    assert counts["products"] == (1, 3) and counts["product_variants"] == (4, 0)
    assert counts["checkouts"] == (2, 3) and counts["checkout_lines"] == (4, 0)
    assert counts["refunds"] == (1, 1) and counts["fulfillments"] == (1, 1)
    reasons = lambda table: [r["reason"].split(": ", 1)[1] for r in quarantine(data, "shopify", table)]  # noqa: E731
    assert reasons("customers") == ["id: not a 64-bit integer: 'abc'", "created_at: missing",
                                    "updated_at: invalid timestamp: 'soon'"]
    assert reasons("products") == ["title: empty string", "id: missing", "variants[2].price: missing"]
    assert reasons("checkouts") == [
        "id: no integer id and no token (id None, token None)", "total_price: not a decimal: '379,69'",
        "created_at: invalid timestamp: '2012-13-40T00:00:00Z'"]
    assert reasons("refunds") == ["order_id: missing"]
    assert reasons("fulfillments") == ["created_at: invalid timestamp: 1700000000"]
    token_only = [c for c in landed(data, "shopify", "checkouts") if c["id"] is None]
    assert token_only[0]["token"] == "2a1ace52255252df566af0faaedfbfa7"


def test_unreadable_shopify_files(tmp_path):
    data = write(tmp_path, "shopify", {
        "orders-0001.json": b'{"orders": [{"id": 1,',
        "orders-0002.json": {"errors": "Not Found"},
        "orders-0003.json": {"orders": None},
        "orders-0004.json": b"",
        "orders-0005.json": {"orders": []},
        "notes.txt": b"not ingested",
    })
    report = ingest_day(data, "shopify", DAY)
    reconcile(report)
    assert report.files == 5 and report.skipped_files == ["shopify/2026-03-14/notes.txt"]
    assert report.tables["_files"].quarantined == 5 and report.tables["orders"].records_in == 0
    files = quarantine(data, "shopify", "_files")
    assert [f["_source_file"] for f in files] == [
        *(f"shopify/2026-03-14/orders-000{i}.json" for i in (1, 2, 3, 4)), "shopify/2026-03-14/notes.txt"]
    assert files[4]["reason"] == "shopify file notes.txt: unknown file type .txt for source shopify (it reads .json)"
    assert files[4]["raw"] == "not ingested"
    assert files[0]["reason"].startswith("shopify file orders-0001.json: not valid JSON: ")
    assert files[0]["raw"] == '{"orders": [{"id": 1,' and files[0]["_record_index"] is None
    assert files[1]["reason"] == "shopify file orders-0002.json: no resource key in the page (keys: 'errors')"
    assert files[2]["reason"] == "shopify file orders-0003.json: 'orders' is not a list: None"
    assert report.reasons["_files: not valid JSON"] == 2


def test_sendgrid_rules(tmp_path):
    event = {"email": "a@example.com", "timestamp": 1773480000, "event": "delivered", "sg_event_id": "ev1",
             "sg_message_id": "m1", "category": ["winback"], "campaign": "winback_30d", "step": "1", "send_id": "s-9"}
    data = write(tmp_path, "sendgrid", {
        "events-0001.json": [
            event,
            {**event, "sg_event_id": "ev2", "event": ""},
            {**event, "sg_event_id": "ev3", "email": None},
            {**event, "sg_event_id": "ev4", "email": 123},
            {**event, "sg_event_id": "ev5", "timestamp": "yesterday"},
            {**event, "sg_event_id": "ev6", "timestamp": True},
            {**event, "sg_event_id": "ev7", "timestamp": 1773480000123},
            {**event, "sg_event_id": "ev8", "email": ""},
            42,
        ],
        "events-0002.json": b"[{\"event\": \"open\"",
        "events-0003.json": b"\xef\xbb\xbf" + orjson.dumps(event),
    })
    report = ingest_day(data, "sendgrid", DAY)
    reconcile(report)
    assert report.tables["events"].records_in == 10
    assert report.tables["events"].landed == 4 and report.tables["events"].quarantined == 6
    assert report.tables["_files"].quarantined == 1
    rows = landed(data, "sendgrid", "events")
    assert [r["sg_event_id"] for r in rows] == ["ev1", "ev7", "ev8", "ev1"]
    assert rows[0]["campaign"] == "winback_30d" and rows[0]["step"] == "1" and rows[0]["send_id"] == "s-9"
    assert rows[0]["custom_args"] == '{"campaign":"winback_30d","send_id":"s-9","step":"1"}'
    assert rows[0]["categories"] == ["winback"]
    assert rows[1]["timestamp"].timestamp() == 1773480000.123
    assert rows[0]["_record_hash"] == rows[3]["_record_hash"]  # same event, another delivery: same hash
    assert rows[2]["email"] == ""
    reasons = [r["reason"] for r in quarantine(data, "sendgrid", "events")]
    assert reasons == [
        "sendgrid events record 1 of events-0001.json (id ev2): event: empty string",
        "sendgrid events record 2 of events-0001.json (id ev3): email: missing",
        "sendgrid events record 3 of events-0001.json (id ev4): email: not a string: 123",
        "sendgrid events record 4 of events-0001.json (id ev5): timestamp: not Unix seconds or milliseconds: 'yesterday'",
        "sendgrid events record 5 of events-0001.json (id ev6): timestamp: not Unix seconds or milliseconds: True",
        "sendgrid events record 8 of events-0001.json: event: not a JSON object: 42",
    ]
    [bad_file] = quarantine(data, "sendgrid", "_files")
    assert bad_file["reason"].startswith("sendgrid file events-0002.json: not valid JSON")
