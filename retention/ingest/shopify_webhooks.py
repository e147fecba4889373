"""Shopify webhook deliveries in the inbox -> the same tables as the Admin API pages.

The receiver (``retention.live.shopify_inbox``) stores each delivery's raw body as
``webhooks/<topic>/<HHMMSS>-<webhook id>.json``. A storefront topic's body is one resource in the
REST shape (``orders/create`` an order, ``inventory_levels/update`` an inventory level...) and is
parsed by the same record parser as a page. The mandatory privacy topics land in
``privacy_requests``, one row a request, for the erasure and access workflows to act on.
A topic the pipeline does not subscribe to is quarantined whole, with its name.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import REQUIRED, VALID, Check, bytes_to_text, sha256_hex
from retention.ingest.schema import INT64, STRING, record_schema
from retention.live.shopify_inbox import PRIVACY_TOPICS, TOPICS, WEBHOOKS_FOLDER, folder_topic

PRIVACY_REQUESTS = record_schema([
    ("webhook_id", STRING), ("topic", STRING), ("shop_id", INT64), ("shop_domain", STRING),
    ("customer_id", INT64), ("email", STRING), ("phone", STRING), ("orders_to_redact", pa.list_(INT64)),
    ("orders_requested", pa.list_(INT64)), ("data_request_id", INT64),
])
# storefront topic -> the table its body lands in
TOPIC_TABLES = {
    "orders/create": "orders", "orders/updated": "orders", "checkouts/create": "checkouts",
    "checkouts/update": "checkouts", "customers/create": "customers", "customers/update": "customers",
    "products/update": "products", "inventory_levels/update": "inventory_levels",
}
assert set(TOPIC_TABLES) | PRIVACY_TOPICS == TOPICS


def is_webhook_file(path: Path) -> bool:
    return path.parent.parent.name == WEBHOOKS_FOLDER


def webhook_id(path: Path) -> str:
    return path.name.split(".", 1)[0].split("-", 1)[-1]


def parse_delivery(ctx: FileContext, doc, data: bytes, out: Collector, parsers: dict, identify) -> None:
    """One delivery (``doc`` is its parsed body): a storefront record, a privacy request, or a reject."""
    topic = folder_topic(ctx.path.parent.name)
    if topic is None:
        out.reject_file(ctx, f"webhook topic {ctx.path.parent.name!r} is not one the pipeline subscribes to "
                        f"({', '.join(sorted(TOPICS))})", "unknown webhook topic", bytes_to_text(data), sha256_hex(data))
        return
    table = TOPIC_TABLES.get(topic, "privacy_requests")
    if table == "privacy_requests":
        out.convert(ctx, table, 0, doc, lambda check, r: parse_privacy_request(check, r, topic, ctx.path),
                    lambda _: webhook_id(ctx.path))
    else:
        out.convert(ctx, table, 0, doc, parsers[table],
                    lambda r: identify(table, r) if isinstance(r, dict) else webhook_id(ctx.path))


def parse_privacy_request(c: Check, r: dict, topic: str, path: Path) -> dict:
    customer = r.get("customer") if isinstance(r.get("customer"), dict) else {}
    request = r.get("data_request") if isinstance(r.get("data_request"), dict) else {}
    return {
        "webhook_id": webhook_id(path),
        "topic": topic,
        "shop_id": c.int(r, "shop_id", REQUIRED),
        "shop_domain": c.text(r, "shop_domain"),
        "customer_id": c.int(customer, "id", REQUIRED if topic != "shop/redact" else None, "customer."),
        "email": c.text(customer, "email", None, "customer."),
        "phone": c.text(customer, "phone", None, "customer."),
        "orders_to_redact": _ids(c, r, "orders_to_redact"),
        "orders_requested": _ids(c, r, "orders_requested"),
        "data_request_id": c.int(request, "id", None, "data_request."),
    }


def _ids(c: Check, r: dict, key: str) -> list[int] | None:
    if key not in r:
        return None
    return [v for v in (c.int({"id": item}, "id", VALID, f"{key}.") for item in c.list(r, key, VALID)) if v is not None]
