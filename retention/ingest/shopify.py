"""Shopify Admin REST pages -> customers, orders (+ lines, refunds, refund lines, fulfilments),
products (+ variants), abandoned checkouts (+ lines), refund and fulfilment pages, locations and
inventory levels (``shopify_inventory``); webhook deliveries in ``webhooks/`` go through
``shopify_webhooks`` into the same tables (and ``privacy_requests``).

A page is ``{"<resource>s": [...]}`` or ``{"<resource>": {...}}``; other top-level keys
(``notice``) are ignored. A bare JSON list takes its resource from the file name's stem
(``products.json``, ``orders-0003.json``). ``{"variants": [...]}`` (the product-variants
endpoint) lands in ``product_variants``. A page with no resource key we know (for example
``{"errors": "Not Found"}``), or a bare list whose file name names no resource
(``transactions.json``), is quarantined whole as a ``_files`` record.

Orders carry ``refunds`` and ``fulfillments`` arrays: those land in ``refunds`` /
``fulfillments`` / ``refund_lines`` as child rows (``embedded = true``, ``order_updated_at``
set so staging can keep the children of the latest version of the order).
"""

from __future__ import annotations

import re
from functools import partial

import orjson
import pyarrow as pa

from retention.ingest.collect import Collector, FileContext
from retention.ingest.json_files import NOT_JSON, load_json_file
from retention.ingest.records import REQUIRED, VALID, Check, Issue, bytes_to_text, sha256_hex, show
from retention.ingest.schema import (
    BOOL,
    INT32,
    INT64,
    MONEY,
    STRING,
    STRINGS,
    TIMESTAMP,
    child_schema,
    record_schema,
)
from retention.ingest.shopify_inventory import (
    INVENTORY_LEVELS,
    LOCATIONS,
    level_id,
    parse_inventory_level,
    parse_location,
)
from retention.ingest.shopify_webhooks import PRIVACY_REQUESTS, is_webhook_file, parse_delivery

DISCOUNT_CODES = pa.list_(pa.struct([("code", STRING), ("amount", MONEY), ("type", STRING)]))


def _address_columns(prefix: str) -> list[tuple[str, pa.DataType]]:
    parts = ("country", "country_code", "province", "province_code", "city", "zip", "address_key")
    return [(f"{prefix}_{part}", STRING) for part in parts]


CUSTOMERS = record_schema([
    ("id", INT64), ("email", STRING), ("phone", STRING), ("first_name", STRING), ("last_name", STRING),
    ("state", STRING), ("verified_email", BOOL), ("tags", STRING), ("note", STRING), ("currency", STRING),
    ("orders_count", INT64), ("total_spent", MONEY), ("last_order_id", INT64),
    ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP), ("tax_exempt", BOOL),
    ("accepts_marketing", BOOL), ("accepts_marketing_updated_at", TIMESTAMP), ("marketing_opt_in_level", STRING),
    ("email_consent_state", STRING), ("email_consent_opt_in_level", STRING), ("email_consent_updated_at", TIMESTAMP),
    ("sms_consent_state", STRING), ("sms_consent_opt_in_level", STRING), ("sms_consent_updated_at", TIMESTAMP),
    ("sms_consent_collected_from", STRING),
    *_address_columns("default_address"),
])

ORDERS = record_schema([
    ("id", INT64), ("name", STRING), ("order_number", INT64), ("email", STRING), ("contact_email", STRING),
    ("phone", STRING), ("customer_id", INT64),
    ("created_at", TIMESTAMP), ("processed_at", TIMESTAMP), ("updated_at", TIMESTAMP),
    ("cancelled_at", TIMESTAMP), ("cancel_reason", STRING), ("closed_at", TIMESTAMP),
    ("currency", STRING), ("presentment_currency", STRING), ("financial_status", STRING),
    ("fulfillment_status", STRING), ("confirmed", BOOL), ("test", BOOL),
    ("subtotal_price", MONEY), ("total_line_items_price", MONEY), ("total_discounts", MONEY), ("total_tax", MONEY),
    ("total_shipping_price", MONEY), ("total_price", MONEY), ("current_subtotal_price", MONEY),
    ("current_total_discounts", MONEY), ("current_total_tax", MONEY), ("current_total_price", MONEY),
    ("total_outstanding", MONEY), ("taxes_included", BOOL),
    ("source_name", STRING), ("landing_site", STRING), ("referring_site", STRING),
    ("checkout_id", INT64), ("checkout_token", STRING), ("cart_token", STRING), ("token", STRING),
    ("discount_codes", DISCOUNT_CODES), ("tags", STRING), ("note", STRING), ("buyer_accepts_marketing", BOOL),
    ("customer_locale", STRING),
    *_address_columns("shipping"), *_address_columns("billing"),
    ("line_item_count", INT32), ("refund_count", INT32), ("fulfillment_count", INT32),
])

ORDER_LINES = child_schema([
    ("order_id", INT64), ("line_id", INT64), ("position", INT32), ("product_id", INT64), ("variant_id", INT64),
    ("sku", STRING), ("title", STRING), ("variant_title", STRING), ("name", STRING), ("vendor", STRING),
    ("quantity", INT64), ("current_quantity", INT64), ("fulfillable_quantity", INT64), ("fulfillment_status", STRING),
    ("price", MONEY), ("total_discount", MONEY), ("discount_allocated", MONEY),
    ("gift_card", BOOL), ("requires_shipping", BOOL), ("taxable", BOOL), ("order_updated_at", TIMESTAMP),
])

REFUNDS = record_schema([
    ("id", INT64), ("order_id", INT64), ("created_at", TIMESTAMP), ("processed_at", TIMESTAMP), ("note", STRING),
    ("restock", BOOL), ("user_id", INT64), ("refund_amount", MONEY), ("refund_currency", STRING),
    ("refund_line_count", INT32), ("order_updated_at", TIMESTAMP), ("embedded", BOOL),
])

REFUND_LINES = child_schema([
    ("id", INT64), ("refund_id", INT64), ("order_id", INT64), ("line_item_id", INT64), ("quantity", INT64),
    ("restock_type", STRING), ("location_id", INT64), ("subtotal", MONEY), ("total_tax", MONEY),
    ("product_id", INT64), ("variant_id", INT64), ("sku", STRING),
    ("refund_created_at", TIMESTAMP), ("order_updated_at", TIMESTAMP),
])

FULFILLMENTS = record_schema([
    ("id", INT64), ("order_id", INT64), ("name", STRING), ("status", STRING), ("shipment_status", STRING),
    ("service", STRING), ("tracking_company", STRING), ("tracking_number", STRING), ("tracking_numbers", STRINGS),
    ("tracking_url", STRING), ("location_id", INT64), ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP),
    ("line_item_count", INT32), ("order_updated_at", TIMESTAMP), ("embedded", BOOL),
])

PRODUCTS = record_schema([
    ("id", INT64), ("title", STRING), ("handle", STRING), ("vendor", STRING), ("product_type", STRING),
    ("status", STRING), ("tags", STRING), ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP),
    ("published_at", TIMESTAMP), ("variant_count", INT32),
])

PRODUCT_VARIANTS = record_schema([
    ("id", INT64), ("product_id", INT64), ("title", STRING), ("sku", STRING), ("barcode", STRING),
    ("price", MONEY), ("compare_at_price", MONEY), ("position", INT64), ("inventory_quantity", INT64),
    ("inventory_item_id", INT64), ("inventory_policy", STRING), ("option1", STRING), ("option2", STRING),
    ("option3", STRING), ("grams", INT64), ("taxable", BOOL), ("requires_shipping", BOOL),
    ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP), ("product_updated_at", TIMESTAMP), ("embedded", BOOL),
])

CHECKOUTS = record_schema([
    ("id", INT64), ("token", STRING), ("cart_token", STRING), ("name", STRING), ("email", STRING),
    ("phone", STRING), ("customer_id", INT64), ("created_at", TIMESTAMP), ("updated_at", TIMESTAMP),
    ("completed_at", TIMESTAMP), ("closed_at", TIMESTAMP), ("abandoned_checkout_url", STRING),
    ("buyer_accepts_marketing", BOOL), ("buyer_accepts_sms_marketing", BOOL), ("sms_marketing_phone", STRING),
    ("currency", STRING), ("presentment_currency", STRING), ("subtotal_price", MONEY),
    ("total_line_items_price", MONEY), ("total_discounts", MONEY), ("total_tax", MONEY), ("total_price", MONEY),
    ("source_name", STRING), ("landing_site", STRING), ("referring_site", STRING), ("discount_codes", DISCOUNT_CODES),
    *_address_columns("shipping"), ("line_item_count", INT32),
])

CHECKOUT_LINES = child_schema([
    ("checkout_id", INT64), ("checkout_token", STRING), ("position", INT32), ("key", STRING),
    ("product_id", INT64), ("variant_id", INT64), ("sku", STRING), ("title", STRING), ("variant_title", STRING),
    ("quantity", INT64), ("price", MONEY), ("line_price", MONEY), ("checkout_updated_at", TIMESTAMP),
])

SCHEMAS: dict[str, pa.Schema] = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_lines": ORDER_LINES,
    "refunds": REFUNDS,
    "refund_lines": REFUND_LINES,
    "fulfillments": FULFILLMENTS,
    "products": PRODUCTS,
    "product_variants": PRODUCT_VARIANTS,
    "checkouts": CHECKOUTS,
    "checkout_lines": CHECKOUT_LINES,
    "locations": LOCATIONS,
    "inventory_levels": INVENTORY_LEVELS,
    "privacy_requests": PRIVACY_REQUESTS,
}
EXTENSIONS = (".json",)

# page key (or file-name stem) -> landing table
RESOURCES = {
    "customers": "customers", "customer": "customers",
    "orders": "orders", "order": "orders",
    "products": "products", "product": "products",
    "checkouts": "checkouts", "checkout": "checkouts", "abandoned_checkouts": "checkouts",
    "refunds": "refunds", "refund": "refunds",
    "fulfillments": "fulfillments", "fulfillment": "fulfillments",
    "variants": "product_variants", "variant": "product_variants",
    "locations": "locations", "location": "locations",
    "inventory_levels": "inventory_levels", "inventory_level": "inventory_levels",
}
_STEM = re.compile(r"(?P<resource>[a-z_]+?)(?:[-_.]\d+)?\Z")
_CURRENCY = re.compile(r"[A-Za-z]{3}\Z")


# -- the file -------------------------------------------------------------------------------------
def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    doc = load_json_file(ctx, data, out)
    if doc is NOT_JSON:
        return
    if is_webhook_file(ctx.path):
        parse_delivery(ctx, doc, data, out, PARSERS, identify)
        return
    pages: list[tuple[str, str, object]] = []  # (key, table, value)
    if isinstance(doc, list):
        match = _STEM.match(ctx.stem.lower())
        resource = match.group("resource") if match else None
        if resource not in RESOURCES:
            out.reject_file(
                ctx, f"a bare JSON list, but the file name {ctx.name!r} names no known resource "
                f"({', '.join(sorted(k for k in RESOURCES if k.endswith('s')))})",
                "bare list with unknown resource", bytes_to_text(data), sha256_hex(data))
            return
        pages.append((resource, RESOURCES[resource], doc))
    elif isinstance(doc, dict):
        pages = [(key, RESOURCES[key], value) for key, value in doc.items() if key in RESOURCES]
        if not pages:
            out.reject_file(
                ctx, f"no resource key in the page (keys: {', '.join(map(repr, doc)) or 'none'})",
                "no resource key", bytes_to_text(data), sha256_hex(data))
            return
    else:
        out.reject_file(ctx, f"not a page: a JSON {type(doc).__name__}", "not a page",
                        bytes_to_text(data), sha256_hex(data))
        return

    for key, table, value in pages:
        if key.endswith("s"):
            if not isinstance(value, list):
                raw = orjson.dumps(value).decode()
                out.reject_file(ctx, f"{key!r} is not a list: {show(value)}", f"{key} not a list",
                                raw, sha256_hex(raw.encode()))
                continue
            records = value
        else:
            records = [value]
        for index, record in enumerate(records):
            out.convert(ctx, table, index, record, PARSERS[table], partial(identify, table))


def identify(table: str, record: dict):
    return level_id(record) if table == "inventory_levels" else record_id(record)


def record_id(record: dict):
    rid = record.get("id")
    if rid is None or isinstance(rid, (dict, list)):
        rid = record.get("token")
    return rid if not isinstance(rid, (dict, list)) else None


# -- shared pieces -----------------------------------------------------------------------------
def street_address_key(address: dict) -> str | None:
    """The street address as a hash: two records at one address (however spaced, cased or
    punctuated) share it, and the street itself never lands (the referral checks compare only this)."""
    def plain(text) -> str:
        return re.sub(r"[^a-z0-9]+", " ", str(text or "").lower()).strip()

    street = plain(f"{address.get('address1') or ''} {address.get('address2') or ''}")
    if not street:
        return None
    zip_code = plain(address.get("zip")).replace(" ", "")
    return sha256_hex(f"{street}|{zip_code}|{plain(address.get('country_code'))}".encode())[:32]


def _address(c: Check, record: dict, key: str, prefix: str) -> dict:
    a = c.dict(record, key)
    return {
        f"{prefix}_country": c.text(a, "country", at=f"{key}."),
        f"{prefix}_country_code": c.text(a, "country_code", at=f"{key}."),
        f"{prefix}_province": c.text(a, "province", at=f"{key}."),
        f"{prefix}_province_code": c.text(a, "province_code", at=f"{key}."),
        f"{prefix}_city": c.text(a, "city", at=f"{key}."),
        f"{prefix}_zip": c.text(a, "zip", at=f"{key}."),
        f"{prefix}_address_key": street_address_key(a) if a else None,
    }


def _discount_codes(c: Check, record: dict) -> list[dict] | None:
    codes = record.get("discount_codes")
    if codes is None:
        return None
    if not isinstance(codes, list):
        c.warnings.append(Issue("discount_codes", "not a list", f"not a list: {show(codes)}"))
        return None
    out = []
    for i, code in enumerate(codes):
        at = f"discount_codes[{i}]."
        if not isinstance(code, dict):
            c.warnings.append(Issue(at[:-1], "not an object", f"not an object: {show(code)}"))
            continue
        out.append({"code": c.text(code, "code", at=at), "amount": c.money(code, "amount", VALID, at),
                    "type": c.text(code, "type", at=at)})
    return out


def _currency(c: Check, record: dict) -> str | None:
    value = record.get("currency")
    if value is None:
        c.error("currency", "missing")
        return None
    if not isinstance(value, str) or not _CURRENCY.match(value):
        c.error("currency", "not a 3-letter currency code", f"not a 3-letter currency code: {show(value)}")
        return None
    return value


def _objects(c: Check, record: dict, key: str, at: str = ""):
    """(index, object) of a list of objects; a non-object element is an error (children matter)."""
    for i, item in enumerate(c.list(record, key, VALID, at)):
        if isinstance(item, dict):
            yield i, item
        else:
            c.error(f"{at}{key}[{i}]", "not an object", f"not an object: {show(item)}")


def _money_amount(c: Check, record: dict, key: str) -> object:
    """``total_shipping_price_set.shop_money.amount``."""
    shop = c.dict(c.dict(record, key), "shop_money", at=f"{key}.")
    return c.money(shop, "amount", VALID, at=f"{key}.shop_money.")


# -- customers ----------------------------------------------------------------------------------
def parse_customer(c: Check, r: dict):
    email_consent = c.dict(r, "email_marketing_consent")
    sms_consent = c.dict(r, "sms_marketing_consent")
    row = {
        "id": c.int(r, "id", REQUIRED),
        "email": c.text(r, "email"),
        "phone": c.text(r, "phone"),
        "first_name": c.text(r, "first_name"),
        "last_name": c.text(r, "last_name"),
        "state": c.text(r, "state"),
        "verified_email": c.bool(r, "verified_email"),
        "tags": c.text(r, "tags"),
        "note": c.text(r, "note"),
        "currency": c.text(r, "currency"),
        "orders_count": c.int(r, "orders_count"),
        "total_spent": c.money(r, "total_spent"),
        "last_order_id": c.int(r, "last_order_id"),
        "created_at": c.ts(r, "created_at", REQUIRED),
        "updated_at": c.ts(r, "updated_at", REQUIRED),
        "tax_exempt": c.bool(r, "tax_exempt"),
        "accepts_marketing": c.bool(r, "accepts_marketing"),
        "accepts_marketing_updated_at": c.ts(r, "accepts_marketing_updated_at"),
        "marketing_opt_in_level": c.text(r, "marketing_opt_in_level"),
        "email_consent_state": c.text(email_consent, "state", at="email_marketing_consent."),
        "email_consent_opt_in_level": c.text(email_consent, "opt_in_level", at="email_marketing_consent."),
        "email_consent_updated_at": c.ts(email_consent, "consent_updated_at", at="email_marketing_consent."),
        "sms_consent_state": c.text(sms_consent, "state", at="sms_marketing_consent."),
        "sms_consent_opt_in_level": c.text(sms_consent, "opt_in_level", at="sms_marketing_consent."),
        "sms_consent_updated_at": c.ts(sms_consent, "consent_updated_at", at="sms_marketing_consent."),
        "sms_consent_collected_from": c.text(sms_consent, "consent_collected_from", at="sms_marketing_consent."),
        **_address(c, r, "default_address", "default_address"),
    }
    return row, []


# -- orders ----------------------------------------------------------------------------------------
def parse_order(c: Check, r: dict):
    order_id = c.int(r, "id", REQUIRED)
    updated_at = c.ts(r, "updated_at", REQUIRED)
    customer = c.dict(r, "customer")
    children: list[tuple[str, dict]] = []

    lines = 0
    for i, li in _objects(c, r, "line_items"):
        at = f"line_items[{i}]."
        lines += 1
        allocated = None
        for j, alloc in _objects(c, li, "discount_allocations", at):
            amount = c.money(alloc, "amount", VALID, f"{at}discount_allocations[{j}].")
            if amount is not None:
                allocated = amount if allocated is None else allocated + amount
        quantity = c.int(li, "quantity", REQUIRED, at)
        if quantity is not None and quantity < 0:
            c.error(at + "quantity", "negative quantity", f"negative quantity: {quantity}")
        children.append(("order_lines", {
            "order_id": order_id,
            "line_id": c.int(li, "id", REQUIRED, at),
            "position": i,
            "product_id": c.int(li, "product_id", at=at),
            "variant_id": c.int(li, "variant_id", at=at),
            "sku": c.text(li, "sku", at=at),
            "title": c.text(li, "title", at=at),
            "variant_title": c.text(li, "variant_title", at=at),
            "name": c.text(li, "name", at=at),
            "vendor": c.text(li, "vendor", at=at),
            "quantity": quantity,
            "current_quantity": c.int(li, "current_quantity", at=at),
            "fulfillable_quantity": c.int(li, "fulfillable_quantity", at=at),
            "fulfillment_status": c.text(li, "fulfillment_status", at=at),
            "price": c.money(li, "price", REQUIRED, at),
            "total_discount": c.money(li, "total_discount", VALID, at),
            "discount_allocated": allocated,
            "gift_card": c.bool(li, "gift_card", at=at),
            "requires_shipping": c.bool(li, "requires_shipping", at=at),
            "taxable": c.bool(li, "taxable", at=at),
            "order_updated_at": updated_at,
        }))

    refunds = 0
    for i, refund in _objects(c, r, "refunds"):
        refunds += 1
        row, refund_children = parse_refund(c, refund, at=f"refunds[{i}].", order_id=order_id)
        row["order_updated_at"] = updated_at
        row["embedded"] = True
        row["_raw"] = orjson.dumps(refund).decode()
        for _, child in refund_children:
            child["order_updated_at"] = updated_at
        children.append(("refunds", row))
        children.extend(refund_children)

    fulfillments = 0
    for i, fulfillment in _objects(c, r, "fulfillments"):
        fulfillments += 1
        row, _ = parse_fulfillment(c, fulfillment, at=f"fulfillments[{i}].", order_id=order_id)
        row["order_updated_at"] = updated_at
        row["embedded"] = True
        row["_raw"] = orjson.dumps(fulfillment).decode()
        children.append(("fulfillments", row))

    row = {
        "id": order_id,
        "name": c.text(r, "name"),
        "order_number": c.int(r, "order_number"),
        "email": c.text(r, "email"),
        "contact_email": c.text(r, "contact_email"),
        "phone": c.text(r, "phone"),
        "customer_id": c.int(customer, "id", at="customer."),
        "created_at": c.ts(r, "created_at", REQUIRED),
        "processed_at": c.ts(r, "processed_at"),
        "updated_at": updated_at,
        "cancelled_at": c.ts(r, "cancelled_at"),
        "cancel_reason": c.text(r, "cancel_reason"),
        "closed_at": c.ts(r, "closed_at"),
        "currency": _currency(c, r),
        "presentment_currency": c.text(r, "presentment_currency"),
        "financial_status": c.text(r, "financial_status"),
        "fulfillment_status": c.text(r, "fulfillment_status"),
        "confirmed": c.bool(r, "confirmed"),
        "test": c.bool(r, "test"),
        "subtotal_price": c.money(r, "subtotal_price", VALID),
        "total_line_items_price": c.money(r, "total_line_items_price", VALID),
        "total_discounts": c.money(r, "total_discounts", VALID),
        "total_tax": c.money(r, "total_tax", VALID),
        "total_shipping_price": _money_amount(c, r, "total_shipping_price_set"),
        "total_price": c.money(r, "total_price", VALID),
        "current_subtotal_price": c.money(r, "current_subtotal_price", VALID),
        "current_total_discounts": c.money(r, "current_total_discounts", VALID),
        "current_total_tax": c.money(r, "current_total_tax", VALID),
        "current_total_price": c.money(r, "current_total_price", VALID),
        "total_outstanding": c.money(r, "total_outstanding", VALID),
        "taxes_included": c.bool(r, "taxes_included"),
        "source_name": c.text(r, "source_name"),
        "landing_site": c.text(r, "landing_site"),
        "referring_site": c.text(r, "referring_site"),
        "checkout_id": c.int(r, "checkout_id"),
        "checkout_token": c.text(r, "checkout_token"),
        "cart_token": c.text(r, "cart_token"),
        "token": c.text(r, "token"),
        "discount_codes": _discount_codes(c, r),
        "tags": c.text(r, "tags"),
        "note": c.text(r, "note"),
        "buyer_accepts_marketing": c.bool(r, "buyer_accepts_marketing"),
        "customer_locale": c.text(r, "customer_locale"),
        **_address(c, r, "shipping_address", "shipping"),
        **_address(c, r, "billing_address", "billing"),
        "line_item_count": lines,
        "refund_count": refunds,
        "fulfillment_count": fulfillments,
    }
    return row, children


# -- refunds and fulfilments -------------------------------------------------------------------------
def parse_refund(c: Check, r: dict, at: str = "", order_id: int | None = None):
    refund_id = c.int(r, "id", REQUIRED, at)
    if order_id is None or r.get("order_id") is not None:
        order_id = c.int(r, "order_id", REQUIRED, at)
    created_at = c.ts(r, "created_at", REQUIRED, at)
    amount = currency = None
    for i, t in _objects(c, r, "transactions", at):
        value = c.money(t, "amount", VALID, f"{at}transactions[{i}].")
        if t.get("kind") == "refund" and t.get("status") in ("success", None) and value is not None:
            amount = value if amount is None else amount + value
            currency = currency or c.text(t, "currency", at=f"{at}transactions[{i}].")
    children = []
    for i, rli in _objects(c, r, "refund_line_items", at):
        lat = f"{at}refund_line_items[{i}]."
        line_item = c.dict(rli, "line_item", at=lat)
        children.append(("refund_lines", {
            "id": c.int(rli, "id", REQUIRED, lat),
            "refund_id": refund_id,
            "order_id": order_id,
            "line_item_id": c.int(rli, "line_item_id", at=lat),
            "quantity": c.int(rli, "quantity", at=lat),
            "restock_type": c.text(rli, "restock_type", at=lat),
            "location_id": c.int(rli, "location_id", at=lat),
            "subtotal": c.money(rli, "subtotal", VALID, lat),
            "total_tax": c.money(rli, "total_tax", VALID, lat),
            "product_id": c.int(line_item, "product_id", at=lat + "line_item."),
            "variant_id": c.int(line_item, "variant_id", at=lat + "line_item."),
            "sku": c.text(line_item, "sku", at=lat + "line_item."),
            "refund_created_at": created_at,
        }))
    row = {
        "id": refund_id,
        "order_id": order_id,
        "created_at": created_at,
        "processed_at": c.ts(r, "processed_at", at=at),
        "note": c.text(r, "note", at=at),
        "restock": c.bool(r, "restock", at=at),
        "user_id": c.int(r, "user_id", at=at),
        "refund_amount": amount,
        "refund_currency": currency,
        "refund_line_count": len(children),
        "embedded": False,
    }
    return row, children


def parse_fulfillment(c: Check, r: dict, at: str = "", order_id: int | None = None):
    if order_id is None or r.get("order_id") is not None:
        order_id = c.int(r, "order_id", REQUIRED, at)
    numbers = r.get("tracking_numbers")
    row = {
        "id": c.int(r, "id", REQUIRED, at),
        "order_id": order_id,
        "name": c.text(r, "name", at=at),
        "status": c.text(r, "status", at=at),
        "shipment_status": c.text(r, "shipment_status", at=at),
        "service": c.text(r, "service", at=at),
        "tracking_company": c.text(r, "tracking_company", at=at),
        "tracking_number": c.text(r, "tracking_number", at=at),
        "tracking_numbers": [n if isinstance(n, str) else str(n) for n in numbers if n is not None]
        if isinstance(numbers, list) else None,
        "tracking_url": c.text(r, "tracking_url", at=at),
        "location_id": c.int(r, "location_id", at=at),
        "created_at": c.ts(r, "created_at", REQUIRED, at),
        "updated_at": c.ts(r, "updated_at", at=at),
        "line_item_count": len(r["line_items"]) if isinstance(r.get("line_items"), list) else None,
        "embedded": False,
    }
    return row, []


# -- products -------------------------------------------------------------------------------------------
def parse_product(c: Check, r: dict):
    product_id = c.int(r, "id", REQUIRED)
    updated_at = c.ts(r, "updated_at", REQUIRED)
    children = []
    for i, variant in _objects(c, r, "variants"):
        row, _ = parse_variant(c, variant, at=f"variants[{i}].", product_id=product_id)
        row["product_updated_at"] = updated_at
        row["embedded"] = True
        row["_raw"] = orjson.dumps(variant).decode()
        children.append(("product_variants", row))
    row = {
        "id": product_id,
        "title": c.text(r, "title", REQUIRED, nonempty=True),
        "handle": c.text(r, "handle"),
        "vendor": c.text(r, "vendor"),
        "product_type": c.text(r, "product_type"),
        "status": c.text(r, "status"),
        "tags": c.text(r, "tags"),
        "created_at": c.ts(r, "created_at", REQUIRED),
        "updated_at": updated_at,
        "published_at": c.ts(r, "published_at"),
        "variant_count": len(children),
    }
    return row, children


def parse_variant(c: Check, r: dict, at: str = "", product_id: int | None = None):
    if product_id is None or r.get("product_id") is not None:
        product_id = c.int(r, "product_id", at=at)
    row = {
        "id": c.int(r, "id", REQUIRED, at),
        "product_id": product_id,
        "title": c.text(r, "title", at=at),
        "sku": c.text(r, "sku", at=at),
        "barcode": c.text(r, "barcode", at=at),
        "price": c.money(r, "price", REQUIRED, at),
        "compare_at_price": c.money(r, "compare_at_price", VALID, at),
        "position": c.int(r, "position", at=at),
        "inventory_quantity": c.int(r, "inventory_quantity", at=at),
        "inventory_item_id": c.int(r, "inventory_item_id", at=at),
        "inventory_policy": c.text(r, "inventory_policy", at=at),
        "option1": c.text(r, "option1", at=at),
        "option2": c.text(r, "option2", at=at),
        "option3": c.text(r, "option3", at=at),
        "grams": c.int(r, "grams", at=at),
        "taxable": c.bool(r, "taxable", at=at),
        "requires_shipping": c.bool(r, "requires_shipping", at=at),
        "created_at": c.ts(r, "created_at", at=at),
        "updated_at": c.ts(r, "updated_at", at=at),
        "embedded": False,
    }
    return row, []


# -- abandoned checkouts -----------------------------------------------------------------------------
def parse_checkout(c: Check, r: dict):
    checkout_id = c.int(r, "id")
    token = c.text(r, "token")
    if checkout_id is None and not token:
        c.error("id", "no integer id and no token",
                f"no integer id and no token (id {show(r.get('id'))}, token {show(r.get('token'))})")
    updated_at = c.ts(r, "updated_at", REQUIRED)
    customer = c.dict(r, "customer")
    children = []
    for i, li in _objects(c, r, "line_items"):
        at = f"line_items[{i}]."
        children.append(("checkout_lines", {
            "checkout_id": checkout_id,
            "checkout_token": token,
            "position": i,
            "key": c.text(li, "key", at=at),
            "product_id": c.int(li, "product_id", at=at),
            "variant_id": c.int(li, "variant_id", at=at),
            "sku": c.text(li, "sku", at=at),
            "title": c.text(li, "title", at=at),
            "variant_title": c.text(li, "variant_title", at=at),
            "quantity": c.int(li, "quantity", at=at),
            "price": c.money(li, "price", VALID, at),
            "line_price": c.money(li, "line_price", VALID, at),
            "checkout_updated_at": updated_at,
        }))
    row = {
        "id": checkout_id,
        "token": token,
        "cart_token": c.text(r, "cart_token"),
        "name": c.text(r, "name"),
        "email": c.text(r, "email"),
        "phone": c.text(r, "phone"),
        "customer_id": c.int(customer, "id", at="customer."),
        "created_at": c.ts(r, "created_at", REQUIRED),
        "updated_at": updated_at,
        "completed_at": c.ts(r, "completed_at"),
        "closed_at": c.ts(r, "closed_at"),
        "abandoned_checkout_url": c.text(r, "abandoned_checkout_url"),
        "buyer_accepts_marketing": c.bool(r, "buyer_accepts_marketing"),
        "buyer_accepts_sms_marketing": c.bool(r, "buyer_accepts_sms_marketing"),
        "sms_marketing_phone": c.text(r, "sms_marketing_phone"),
        "currency": c.text(r, "currency"),
        "presentment_currency": c.text(r, "presentment_currency"),
        "subtotal_price": c.money(r, "subtotal_price", VALID),
        "total_line_items_price": c.money(r, "total_line_items_price", VALID),
        "total_discounts": c.money(r, "total_discounts", VALID),
        "total_tax": c.money(r, "total_tax", VALID),
        "total_price": c.money(r, "total_price", VALID),
        "source_name": c.text(r, "source_name"),
        "landing_site": c.text(r, "landing_site"),
        "referring_site": c.text(r, "referring_site"),
        "discount_codes": _discount_codes(c, r),
        **_address(c, r, "shipping_address", "shipping"),
        "line_item_count": len(children),
    }
    return row, children


PARSERS = {
    "customers": parse_customer,
    "orders": parse_order,
    "products": parse_product,
    "checkouts": parse_checkout,
    "refunds": parse_refund,
    "fulfillments": parse_fulfillment,
    "product_variants": parse_variant,
    "locations": parse_location,
    "inventory_levels": parse_inventory_level,
}
