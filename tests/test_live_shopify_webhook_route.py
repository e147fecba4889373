"""Shopify webhooks at the receiver (the verification alone: test_live_shopify_webhooks.py):
Shopify's own HMAC vectors (valid, tampered, wrong secret, unsigned), a redelivered webhook id
stored once (also when the copies race), the receiver's
size rules, and the deliveries landing in the same tables as the Admin API pages (privacy
topics in ``privacy_requests``, an unknown topic quarantined with its name)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retention.ingest import ingest_day
from retention.live.webhooks import ReceiverConfig, WebhookServer
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES

GQL = PROVIDER_FIXTURES / "shopify_graphql"
VECTORS = json.loads((GQL / "webhook_hmac_vectors.json").read_text())["vectors"]
SECRET = "test_secret_key"
PATH = "/shopify/webhooks"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, topic: str, webhook_id: str, secret: str = SECRET) -> dict:
    return {"X-Shopify-Hmac-Sha256": sign(body, secret), "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Shop-Domain": "shop1.myshopify.io",
            "X-Shopify-API-Version": "2026-07", "Content-Type": "application/json"}


@pytest.fixture
def server(tmp_path):
    with WebhookServer(ReceiverConfig(data_dir=DataDir(tmp_path), port=0, shopify_api_secret=SECRET)) as running:
        yield running


def post(server: WebhookServer, body: bytes, hdrs: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", PATH, body=body, headers=hdrs)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def stored(root: Path) -> list[Path]:
    return sorted((root / "inbox" / "shopify").rglob("*.json"))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_shopifys_own_vectors(tmp_path, vector):
    body = vector["raw_body"].encode()
    config = ReceiverConfig(data_dir=DataDir(tmp_path), port=0, shopify_api_secret=vector["secret"])
    with WebhookServer(config) as server:
        status = post(server, body, {**vector["other_headers"], vector["header_name"]: vector["header_value"]})
    assert status == (200 if vector["expected"] == "accepted" else 403)
    assert len(stored(tmp_path)) == (1 if vector["expected"] == "accepted" else 0)
    if vector["expected"] == "accepted":
        assert stored(tmp_path)[0].read_bytes() == body  # the raw body, unchanged


def test_tampered_body_wrong_secret_and_unsigned_are_refused_and_write_nothing(server, tmp_path):
    body = b'{"id": 1, "updated_at": "2026-03-14T10:00:00Z"}'
    good = headers(body, "orders/updated", "w-1")
    assert post(server, body + b" ", good) == 403  # tampered
    assert post(server, body, headers(body, "orders/updated", "w-1", secret="another")) == 403
    assert post(server, body, {k: v for k, v in good.items() if k != "X-Shopify-Hmac-Sha256"}) == 401
    assert stored(tmp_path) == []


def test_a_redelivered_webhook_id_is_acknowledged_and_stored_once(server, tmp_path):
    body = b'{"id": 1, "updated_at": "2026-03-14T10:00:00Z"}'
    assert [post(server, body, headers(body, "orders/updated", "w-2")) for _ in range(3)] == [200, 200, 200]
    assert len(stored(tmp_path)) == 1
    assert server.receiver.stats["shopify accepted"] == 1 and server.receiver.stats["shopify duplicate"] == 2


def test_racing_copies_of_one_delivery_are_stored_once(server, tmp_path):
    body = b'{"id": 2, "updated_at": "2026-03-14T10:00:00Z"}'
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(post(server, body, headers(body, "orders/create", "w-3"))))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16
    assert len(stored(tmp_path)) == 1


def test_a_redelivery_the_next_day_is_still_recognised(tmp_path):
    from retention.live.shopify_inbox import ShopifyWebhookInbox

    inbox = ShopifyWebhookInbox(DataDir(tmp_path))
    body, hdrs = b"{}", {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w-4"}
    assert inbox.store(body, hdrs, datetime(2026, 3, 14, 23, 59, tzinfo=UTC))[1] is True
    # a new receiver process (no memory of the first) the next day
    again = ShopifyWebhookInbox(DataDir(tmp_path))
    assert again.store(body, hdrs, datetime(2026, 3, 15, 0, 30, tzinfo=UTC))[1] is False
    assert len(stored(tmp_path)) == 1


def test_a_signed_delivery_without_a_topic_is_refused(server, tmp_path):
    body = b"{}"
    hdrs = {k: v for k, v in headers(body, "orders/create", "w-5").items() if k != "X-Shopify-Topic"}
    assert post(server, body, hdrs) == 400
    assert stored(tmp_path) == []


def test_without_a_webhook_id_the_bodys_digest_dedupes(server, tmp_path):
    body = b'{"id": 5}'
    hdrs = {k: v for k, v in headers(body, "ORDERS_UPDATED", "x").items() if k != "X-Shopify-Webhook-Id"}
    assert [post(server, body, hdrs) for _ in range(2)] == [200, 200]
    assert [p.parent.name for p in stored(tmp_path)] == ["orders_updated"]  # the enum spelling is the same topic


def test_a_webhook_id_that_is_not_an_id_is_refused(server, tmp_path):
    body = b"{}"
    assert post(server, body, headers(body, "orders/create", "../../escape")) == 400
    assert stored(tmp_path) == []


def test_the_receivers_size_rule_holds(tmp_path):
    config = ReceiverConfig(data_dir=DataDir(tmp_path), port=0, shopify_api_secret=SECRET, max_body_bytes=64)
    with WebhookServer(config) as server:
        body = b"{" + b" " * 100 + b"}"
        assert post(server, body, headers(body, "orders/create", "w-6")) == 413
    assert stored(tmp_path) == []


def test_without_a_secret_the_route_is_closed(tmp_path):
    with WebhookServer(ReceiverConfig(data_dir=DataDir(tmp_path), port=0)) as server:
        body = b"{}"
        assert post(server, body, headers(body, "orders/create", "w-7")) == 503
    assert stored(tmp_path) == []


def _rows(root: Path, table: str) -> list[dict]:
    files = sorted((root / "landing" / "shopify" / table).rglob("*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def test_deliveries_land_in_the_same_tables_as_the_pages(server, tmp_path):
    order = json.loads((PROVIDER_FIXTURES / "shopify" / "order_single.json").read_text())["order"]
    customer = json.loads((PROVIDER_FIXTURES / "shopify" / "customer_single.json").read_text())["customer"]
    for topic, record, wid in (("orders/create", order, "w-10"), ("customers/update", customer, "w-11")):
        body = json.dumps(record).encode()
        assert post(server, body, headers(body, topic, wid)) == 200
    for name, wid in (("webhook_customers_redact.json", "w-12"), ("webhook_customers_data_request.json", "w-13"),
                      ("webhook_shop_redact.json", "w-14")):
        body = (GQL / name).read_bytes()
        topic = {"webhook_customers_redact.json": "customers/redact",
                 "webhook_customers_data_request.json": "customers/data_request"}.get(name, "shop/redact")
        assert post(server, body, headers(body, topic, wid)) == 200
    day = datetime.now(UTC).date()
    report = ingest_day(DataDir(tmp_path), "shopify", day)
    assert {t: (c.landed, c.quarantined) for t, c in report.tables.items() if c.records_in} == {
        "orders": (1, 0), "order_lines": (3, 0), "refunds": (1, 0), "refund_lines": (2, 0), "fulfillments": (1, 0),
        "customers": (1, 0), "privacy_requests": (3, 0)}
    assert report.tables["order_lines"].landed == len(order["line_items"])

    # the same records as Admin API pages land as the same rows
    pages = DataDir(tmp_path / "pages")
    folder = pages.inbox_day("shopify", day)
    folder.mkdir(parents=True)
    (folder / "orders.json").write_text(json.dumps({"orders": [order]}))
    (folder / "customers.json").write_text(json.dumps({"customers": [customer]}))
    ingest_day(pages, "shopify", day)
    for table in ("orders", "order_lines", "customers"):
        assert _rows(tmp_path, table) == _rows(pages.root, table), table

    requests = {r["topic"]: r for r in _rows(tmp_path, "privacy_requests")}
    assert requests["customers/redact"]["customer_id"] == 191167
    assert requests["customers/redact"]["orders_to_redact"] == [299938, 280263, 220458]
    assert requests["customers/data_request"]["data_request_id"] == 9999
    assert requests["shop/redact"]["shop_id"] == 954889 and requests["shop/redact"]["customer_id"] is None


def test_an_unknown_topic_is_kept_and_quarantined_with_its_name(server, tmp_path):
    body = b'{"id": 1}'
    assert post(server, body, headers(body, "app/uninstalled", "w-20")) == 200  # nothing is lost
    report = ingest_day(DataDir(tmp_path), "shopify", datetime.now(UTC).date())
    assert report.tables["_files"].quarantined == 1
    reasons = [r for f in (tmp_path / "quarantine" / "shopify" / "_files").rglob("*.parquet")
               for r in pq.read_table(f)["reason"].to_pylist()]
    assert any("app_uninstalled" in r for r in reasons), reasons


def test_a_privacy_request_naming_no_customer_is_quarantined_with_the_reason(server, tmp_path):
    body = json.dumps({"shop_id": 1, "shop_domain": "s.myshopify.com", "orders_to_redact": []}).encode()
    assert post(server, body, headers(body, "customers/redact", "w-21")) == 200
    report = ingest_day(DataDir(tmp_path), "shopify", datetime.now(UTC).date())
    assert report.tables["privacy_requests"].quarantined == 1
