"""Shopify locations and inventory levels: ``{"locations": [...]}`` and ``{"inventory_levels": [...]}``
pages (REST Admin API), typed for landing.

An inventory level is the quantity of one inventory item (a variant's stock) at one location,
as of its ``updated_at``; it has no id of its own, so ``(inventory_item_id, location_id,
updated_at)`` identifies a delivered version. ``available`` is null when the item's inventory is
not tracked, and negative when it is oversold; anything but an integer or null is an error.
"""

from __future__ import annotations

from retention.ingest.records import REQUIRED, VALID, Check
from retention.ingest.schema import BOOL, INT64, STRING, TIMESTAMP, record_schema

LOCATIONS = record_schema([
    ("id", INT64), ("name", STRING), ("address1", STRING), ("address2", STRING), ("city", STRING), ("zip", STRING),
    ("province", STRING), ("province_code", STRING), ("country", STRING), ("country_code", STRING),
    ("phone", STRING), ("active", BOOL), ("legacy", BOOL), ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP),
])

INVENTORY_LEVELS = record_schema([
    ("inventory_item_id", INT64), ("location_id", INT64), ("available", INT64), ("updated_at", TIMESTAMP),
])


def parse_location(c: Check, r: dict):
    row = {
        "id": c.int(r, "id", REQUIRED),
        "name": c.text(r, "name"),
        "address1": c.text(r, "address1"),
        "address2": c.text(r, "address2"),
        "city": c.text(r, "city"),
        "zip": c.text(r, "zip"),
        "province": c.text(r, "province"),
        "province_code": c.text(r, "province_code"),
        "country": c.text(r, "country"),
        "country_code": c.text(r, "country_code"),
        "phone": c.text(r, "phone"),
        "active": c.bool(r, "active"),
        "legacy": c.bool(r, "legacy"),
        "created_at": c.ts(r, "created_at"),
        "updated_at": c.ts(r, "updated_at", REQUIRED),
    }
    return row, []


def parse_inventory_level(c: Check, r: dict):
    row = {
        "inventory_item_id": c.int(r, "inventory_item_id", REQUIRED),
        "location_id": c.int(r, "location_id", REQUIRED),
        "available": c.int(r, "available", VALID),  # null: not tracked
        "updated_at": c.ts(r, "updated_at", REQUIRED),
    }
    return row, []


def level_id(record: dict) -> str | None:
    """``<inventory_item_id>@<location_id>`` for messages: a level has no id of its own."""
    item, location = record.get("inventory_item_id"), record.get("location_id")
    if item is None and location is None:
        return None
    return f"{item}@{location}"
