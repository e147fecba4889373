"""Shopify webhook deliveries into the inbox: each one's raw body, once, before the 200.

A verified delivery is written unchanged to
``inbox/shopify/<UTC day>/webhooks/<topic>/<HHMMSS>-<X-Shopify-Webhook-Id>.json`` (``orders/create``
becomes the folder ``orders_create``), so the daily pull and the intraday increment land it with
the REST pages, into the same tables. Shopify delivers at least once and retries for hours: a
delivery whose webhook id is already in the inbox (today or the two days before) is acknowledged
and not written again (``retention.live.replays``: the file names are the record).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from retention.live.inbox_writer import write_atomic
from retention.live.replays import DeliveryIndex, digest_key
from retention.live.shopify_webhooks import COMPLIANCE_TOPICS, TOPIC_HEADER, WEBHOOK_ID_HEADER, header
from retention.paths import DataDir

WEBHOOKS_FOLDER = "webhooks"
# What the pipeline subscribes to: storefront changes, and the mandatory privacy topics.
TOPICS = frozenset({
    "orders/create", "orders/updated", "checkouts/create", "checkouts/update", "customers/create",
    "customers/update", "products/update", "inventory_levels/update",
    "customers/data_request", "customers/redact", "shop/redact",
})
PRIVACY_TOPICS = frozenset(COMPLIANCE_TOPICS)
_TOPIC = re.compile(r"[a-z_]+/[a-z_]+\Z")
_ENUM_TOPIC = re.compile(r"[a-z_]+\Z")  # an enum spelling of a topic the pipeline does not know
_WEBHOOK_ID = re.compile(r"[A-Za-z0-9-]{1,100}\Z")


class WebhookRefused(ValueError):
    """A delivery that is signed but cannot be stored as it is (names no topic or id)."""


def normal_topic(value: str) -> str:
    """``orders/create``; the GraphQL enum spelling (``ORDERS_CREATE``) of a known topic is accepted too."""
    value = value.strip()
    by_enum = {topic_folder(t).upper(): t for t in TOPICS}
    return by_enum.get(value, value.lower())


def topic_folder(topic: str) -> str:
    return topic.replace("/", "_")


def folder_topic(folder: str) -> str | None:
    """``orders_create`` -> ``orders/create`` for the topics the pipeline knows."""
    return next((t for t in TOPICS if topic_folder(t) == folder), None)


class ShopifyWebhookInbox:
    def __init__(self, data_dir: DataDir):
        self.data_dir = data_dir
        self.index = DeliveryIndex(self._stored_ids)

    def store(self, body: bytes, headers: Mapping[str, str], now: datetime) -> tuple[Path, bool]:
        """(where it is, whether it is new). Raises ``WebhookRefused`` for missing or malformed headers."""
        topic = normal_topic(header(headers, TOPIC_HEADER) or "")
        # Shopify names every delivery; without the header, the body's digest stands in for it
        webhook_id = (header(headers, WEBHOOK_ID_HEADER) or "").strip() or digest_key(body)
        if not _TOPIC.match(topic) and not _ENUM_TOPIC.match(topic):
            raise WebhookRefused(f"no valid {TOPIC_HEADER} header")
        if not _WEBHOOK_ID.match(webhook_id):
            raise WebhookRefused(f"no valid {WEBHOOK_ID_HEADER} header")
        folder = self._root(now.date()) / topic_folder(topic)
        path, new = self.index.store_once(
            webhook_id, now.date(), lambda: write_atomic(folder / f"{now:%H%M%S}-{webhook_id}.json", body))
        return (path if new else self._root(now.date())), new

    def _root(self, day: date) -> Path:
        return self.data_dir.inbox_day("shopify", day) / WEBHOOKS_FOLDER

    def _stored_ids(self, day: date) -> set[str]:
        root = self._root(day)
        return {p.stem.split("-", 1)[1] for p in root.glob("*/*.json")} if root.is_dir() else set()
