"""Shopify GraphQL Admin API files -> the same landing tables as the REST pages (``shopify``).

Two file kinds, written unchanged by ``retention.live.shopify_graphql`` into ``inbox/shopify/<day>/``:

- ``gql-<resource>-NNNN.json``: one response of a paginated query,
  ``{"data": {"<field>": {"nodes": [...], "pageInfo": {...}}}, "extensions": {...}}``. Fields:
  ``customers``, ``orders``, ``products``, ``abandonedCheckouts``, ``locations``, and
  ``location`` (one location's ``inventoryLevels`` connection: each level is a record of
  ``inventory_levels``).
- ``gql-bulk-<resource>-NNNN.jsonl``: a bulk operation's result: one object a line, objects of
  nested connections on lines of their own carrying ``__parentId`` (the gid of their parent).
  Children are attached to their parent before typing, so a product carries ALL its variants;
  an ``InventoryLevel`` line is a record of its own (as in REST), its location from ``__parentId``.

Each GraphQL node is first rewritten in the REST shape (gid -> integer id, ``shopMoney.amount``
-> the money string, enum ``PARTIALLY_REFUNDED`` -> ``partially_refunded``, tag lists ->
``"a, b"``...) and then typed by the REST parser (``retention.ingest.shopify``), so a record lands
in the same row, with the same rules, as its REST twin; ``_raw`` and ``_record_hash`` are the
GraphQL node's. A value that cannot be rewritten is passed on as it came, so the REST rule that
needs it quarantines the record naming the field (e.g. ``id: not a 64-bit integer: 'gid://x'``).

Columns the GraphQL API does not carry (null here; the REST pages fill them): orders
``contact_email``, ``checkout_id``, ``checkout_token``, ``cart_token``, ``token``, ``landing_site``,
``referring_site``; line items ``fulfillment_status``; refunds ``processed_at``, ``restock``,
``user_id``; fulfilments ``line_item_count``; variants ``grams``; checkouts ``token``,
``cart_token``, ``email``, ``phone``, ``buyer_accepts_marketing``, ``buyer_accepts_sms_marketing``,
``sms_marketing_phone``, ``source_name`` and the ``amount``/``type`` of ``discount_codes`` (GraphQL
gives the codes only); checkout lines ``key``, ``checkout_token``; locations ``legacy``.
Derived: order ``order_number`` (the digits of ``name``), ``total_line_items_price`` (sum of
line ``originalUnitPriceSet`` x ``quantity``), ``discount_codes`` (code and type from
``discountApplications``, amount the sum of the lines' allocations to that application).

A paginated order whose ``lineItems`` (or another nested connection) has ``hasNextPage`` is
quarantined (the reason says so): the connector fetches such records again whole, by id, with a
bulk operation, whose file lands them.
"""

from __future__ import annotations

import re
from functools import partial

import orjson

from retention.ingest import shopify as rest
from retention.ingest.collect import Collector, FileContext
from retention.ingest.json_files import NOT_JSON, load_json_file
from retention.ingest.records import Check, Issue, bytes_to_text, sha256_hex, show, to_money
from retention.ingest.shopify_inventory import level_id

PREFIX = "gql-"
BULK_PREFIX = "gql-bulk-"
EXTENSIONS = (".json", ".jsonl")

# top-level GraphQL field of a page -> landing table
PAGE_FIELDS = {
    "customers": "customers", "orders": "orders", "products": "products",
    "abandonedCheckouts": "checkouts", "locations": "locations",
}
# gid type of a top-level bulk line -> landing table
BULK_TYPES = {
    "Customer": "customers", "Order": "orders", "Product": "products",
    "AbandonedCheckout": "checkouts", "Location": "locations",
}
# gid type (or __typename) of a child line -> the connection field it belongs to on its parent
CHILD_FIELDS = {
    "LineItem": "lineItems", "ProductVariant": "variants", "AbandonedCheckoutLineItem": "lineItems",
    "RefundLineItem": "refundLineItems", "FulfillmentLineItem": "fulfillmentLineItems",
    "InventoryLevel": "inventoryLevels",
}
_GID = re.compile(r"gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?\Z")
_TRAILING_NUMBER = re.compile(r"(\d+)\D*\Z")


def is_graphql_file(name: str) -> bool:
    return name.lower().startswith(PREFIX)


# -- small rewrites ------------------------------------------------------------------------------
def gid_type(value) -> str | None:
    match = _GID.match(value) if isinstance(value, str) else None
    return match.group("type") if match else None


def gid_int(value):
    """``gid://shopify/Order/123`` -> 123; an integer or numeric string passes; anything else unchanged."""
    if isinstance(value, str):
        match = _GID.match(value)
        if match:
            return int(match.group("id"))
    return value


def _ref_id(obj):
    """The numeric id of ``{"id": "gid://..."}`` (``customer { id }``), None when absent."""
    return gid_int(obj.get("id")) if isinstance(obj, dict) else None


def shop_money(bag):
    """MoneyBag ``{"shopMoney": {"amount": "1.0"}}`` -> ``"1.0"``; a bare MoneyV2 too."""
    if not isinstance(bag, dict):
        return bag
    inner = bag.get("shopMoney", bag)
    return inner.get("amount") if isinstance(inner, dict) else inner


def shop_currency(bag):
    if not isinstance(bag, dict):
        return None
    inner = bag.get("shopMoney", bag)
    return inner.get("currencyCode") if isinstance(inner, dict) else None


def enum(value):
    return value.lower() if isinstance(value, str) else value


def tags(value):
    return ", ".join(str(t) for t in value) if isinstance(value, list) else value


def nodes(conn) -> list:
    """The nodes of a connection: ``{"nodes": [...]}``, ``{"edges": [{"node": ...}]}`` or a list."""
    if isinstance(conn, list):
        return conn
    if not isinstance(conn, dict):
        return [] if conn is None else conn
    if "nodes" in conn:
        return conn["nodes"]
    if "edges" in conn:
        edges = conn["edges"]
        return [e.get("node") if isinstance(e, dict) else e for e in edges] if isinstance(edges, list) else edges
    return []


def has_next_page(conn) -> bool:
    return isinstance(conn, dict) and isinstance(conn.get("pageInfo"), dict) and conn["pageInfo"].get("hasNextPage") is True


def _address(a) -> dict | None:
    if not isinstance(a, dict):
        return a
    return {"country": a.get("country"), "country_code": a.get("countryCodeV2", a.get("countryCode")),
            "province": a.get("province"), "province_code": a.get("provinceCode"), "city": a.get("city"),
            "zip": a.get("zip"), "address1": a.get("address1"), "address2": a.get("address2")}


def _sum(values) -> str | None:
    total = None
    for v in values:
        amount = to_money(v)
        if amount is not None:
            total = amount if total is None else total + amount
    return None if total is None else str(total)


# -- GraphQL node -> REST-shaped record --------------------------------------------------------------
def customer_to_rest(n: dict) -> dict:
    """Email and phone with their marketing consent from ``defaultEmailAddress`` /
    ``defaultPhoneNumber`` (2025-04 on), or from the older ``email``, ``phone``,
    ``emailMarketingConsent``, ``smsMarketingConsent``."""
    email_address, phone_number = n.get("defaultEmailAddress"), n.get("defaultPhoneNumber")
    if isinstance(email_address, dict):
        email = email_address.get("emailAddress")
        email_consent = {"state": enum(email_address.get("marketingState")),
                         "opt_in_level": enum(email_address.get("marketingOptInLevel")),
                         "consent_updated_at": email_address.get("marketingUpdatedAt")}
    else:
        email, old = n.get("email"), n.get("emailMarketingConsent")
        email_consent = {"state": enum(old.get("marketingState")), "opt_in_level": enum(old.get("marketingOptInLevel")),
                         "consent_updated_at": old.get("consentUpdatedAt")} if isinstance(old, dict) else old
    if isinstance(phone_number, dict):
        phone = phone_number.get("phoneNumber")
        sms_consent = {"state": enum(phone_number.get("marketingState")),
                       "opt_in_level": enum(phone_number.get("marketingOptInLevel")),
                       "consent_updated_at": phone_number.get("marketingUpdatedAt"),
                       "consent_collected_from": phone_number.get("marketingCollectedFrom")}
    else:
        phone, old = n.get("phone"), n.get("smsMarketingConsent")
        sms_consent = {"state": enum(old.get("marketingState")), "opt_in_level": enum(old.get("marketingOptInLevel")),
                       "consent_updated_at": old.get("consentUpdatedAt"),
                       "consent_collected_from": old.get("consentCollectedFrom")} if isinstance(old, dict) else old
    return {
        "id": gid_int(n.get("id")), "email": email, "phone": phone,
        "first_name": n.get("firstName"), "last_name": n.get("lastName"), "state": enum(n.get("state")),
        "verified_email": n.get("verifiedEmail"), "tags": tags(n.get("tags")), "note": n.get("note"),
        "currency": shop_currency(n.get("amountSpent")), "orders_count": n.get("numberOfOrders"),
        "total_spent": shop_money(n.get("amountSpent")), "last_order_id": _ref_id(n.get("lastOrder")),
        "created_at": n.get("createdAt"), "updated_at": n.get("updatedAt"), "tax_exempt": n.get("taxExempt"),
        "email_marketing_consent": email_consent, "sms_marketing_consent": sms_consent,
        "default_address": _address(n.get("defaultAddress")),
    }


_FULFILLMENT_STATUS = {"fulfilled": "fulfilled", "partially_fulfilled": "partial", "unfulfilled": None,
                       "restocked": "restocked"}


def _discount_type(app: dict) -> str | None:
    if app.get("targetType") == "SHIPPING_LINE":
        return "shipping"
    value = app.get("value")
    if isinstance(value, dict):
        if "percentage" in value:
            return "percentage"
        if "amount" in value:
            return "fixed_amount"
    return None


def order_to_rest(n: dict) -> dict:
    order_id = gid_int(n.get("id"))
    lines, allocated_by_app, line_totals = [], {}, []
    for li in nodes(n.get("lineItems")):
        if not isinstance(li, dict):
            lines.append(li)
            continue
        allocations = []
        for alloc in li.get("discountAllocations") or []:
            if not isinstance(alloc, dict):
                allocations.append(alloc)
                continue
            amount = shop_money(alloc.get("allocatedAmountSet"))
            app = alloc.get("discountApplication")
            if isinstance(app, dict) and app.get("index") is not None:
                allocated_by_app.setdefault(app["index"], []).append(amount)
            allocations.append({"amount": amount})
        price, quantity = shop_money(li.get("originalUnitPriceSet")), li.get("quantity")
        if to_money(price) is not None and isinstance(quantity, int):
            line_totals.append(str(to_money(price) * quantity))
        lines.append({
            "id": gid_int(li.get("id")), "product_id": _ref_id(li.get("product")),
            "variant_id": _ref_id(li.get("variant")), "sku": li.get("sku"), "title": li.get("title"),
            "variant_title": li.get("variantTitle"), "name": li.get("name"), "vendor": li.get("vendor"),
            "quantity": quantity, "current_quantity": li.get("currentQuantity"),
            "fulfillable_quantity": li.get("unfulfilledQuantity"),
            "fulfillment_status": None, "price": price,
            "total_discount": shop_money(li.get("totalDiscountSet")), "discount_allocations": allocations,
            "gift_card": li.get("isGiftCard"), "requires_shipping": li.get("requiresShipping"),
            "taxable": li.get("taxable"),
        })
    codes = []
    for i, app in enumerate(nodes(n.get("discountApplications"))):
        if not isinstance(app, dict) or app.get("code") is None:
            continue
        index = app.get("index", i)
        amount = _sum(allocated_by_app.get(index, []))
        if amount is None and isinstance(app.get("value"), dict) and "amount" in app["value"]:
            amount = app["value"]["amount"]
        codes.append({"code": app.get("code"), "amount": amount, "type": _discount_type(app)})
    if not codes and isinstance(n.get("discountCodes"), list):
        codes = [{"code": c, "amount": None, "type": None} for c in n["discountCodes"]]
    number = _TRAILING_NUMBER.search(n["name"]) if isinstance(n.get("name"), str) else None
    status = n.get("displayFulfillmentStatus")
    return {
        "id": order_id, "name": n.get("name"), "order_number": int(number.group(1)) if number else None,
        "email": n.get("email"), "phone": n.get("phone"), "customer": n.get("customer") and {
            "id": _ref_id(n.get("customer"))},
        "created_at": n.get("createdAt"), "processed_at": n.get("processedAt"), "updated_at": n.get("updatedAt"),
        "cancelled_at": n.get("cancelledAt"), "cancel_reason": enum(n.get("cancelReason")),
        "closed_at": n.get("closedAt"), "currency": n.get("currencyCode"),
        "presentment_currency": n.get("presentmentCurrencyCode"),
        "financial_status": enum(n.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUS.get(enum(status), enum(status)) if isinstance(status, str) else status,
        "confirmed": n.get("confirmed"), "test": n.get("test"),
        "subtotal_price": shop_money(n.get("subtotalPriceSet")),
        "total_line_items_price": _sum(line_totals) if line_totals else None,
        "total_discounts": shop_money(n.get("totalDiscountsSet")), "total_tax": shop_money(n.get("totalTaxSet")),
        "total_shipping_price_set": {"shop_money": {"amount": shop_money(n.get("totalShippingPriceSet"))}}
        if n.get("totalShippingPriceSet") is not None else None,
        "total_price": shop_money(n.get("totalPriceSet")),
        "current_subtotal_price": shop_money(n.get("currentSubtotalPriceSet")),
        "current_total_discounts": shop_money(n.get("currentTotalDiscountsSet")),
        "current_total_tax": shop_money(n.get("currentTotalTaxSet")),
        "current_total_price": shop_money(n.get("currentTotalPriceSet")),
        "total_outstanding": shop_money(n.get("totalOutstandingSet")),
        "taxes_included": n.get("taxesIncluded"), "source_name": n.get("sourceName"),
        "discount_codes": codes, "tags": tags(n.get("tags")), "note": n.get("note"),
        "buyer_accepts_marketing": n.get("customerAcceptsMarketing"), "customer_locale": n.get("customerLocale"),
        "shipping_address": _address(n.get("shippingAddress")), "billing_address": _address(n.get("billingAddress")),
        "line_items": lines,
        "refunds": [refund_to_rest(r, order_id) if isinstance(r, dict) else r for r in nodes(n.get("refunds"))],
        "fulfillments": [fulfillment_to_rest(f, order_id) if isinstance(f, dict) else f
                         for f in nodes(n.get("fulfillments"))],
    }


def refund_to_rest(r: dict, order_id) -> dict:
    amount = shop_money(r.get("totalRefundedSet"))
    lines = []
    for rli in nodes(r.get("refundLineItems")):
        if not isinstance(rli, dict):
            lines.append(rli)
            continue
        li = rli.get("lineItem") if isinstance(rli.get("lineItem"), dict) else {}
        lines.append({
            "id": gid_int(rli.get("id")), "line_item_id": _ref_id(li), "quantity": rli.get("quantity"),
            "restock_type": enum(rli.get("restockType")), "location_id": _ref_id(rli.get("location")),
            "subtotal": shop_money(rli.get("subtotalSet")), "total_tax": shop_money(rli.get("totalTaxSet")),
            "line_item": {"product_id": _ref_id(li.get("product")), "variant_id": _ref_id(li.get("variant")),
                          "sku": li.get("sku")},
        })
    return {
        "id": gid_int(r.get("id")), "order_id": order_id, "created_at": r.get("createdAt"), "note": r.get("note"),
        # the REST parser sums successful refund transactions: one transaction with the refund's total
        "transactions": [{"kind": "refund", "status": "success", "amount": amount,
                          "currency": shop_currency(r.get("totalRefundedSet"))}] if amount is not None else [],
        "refund_line_items": lines,
    }


def fulfillment_to_rest(f: dict, order_id) -> dict:
    tracking = [t for t in (f.get("trackingInfo") or []) if isinstance(t, dict)]
    service = f.get("service")
    return {
        "id": gid_int(f.get("id")), "order_id": order_id, "name": f.get("name"), "status": enum(f.get("status")),
        "shipment_status": enum(f.get("displayStatus")),
        "service": service.get("handle") if isinstance(service, dict) else service,
        "tracking_company": tracking[0].get("company") if tracking else None,
        "tracking_number": tracking[0].get("number") if tracking else None,
        "tracking_numbers": [t.get("number") for t in tracking if t.get("number") is not None],
        "tracking_url": tracking[0].get("url") if tracking else None,
        "location_id": _ref_id(f.get("location")), "created_at": f.get("createdAt"), "updated_at": f.get("updatedAt"),
    }


def product_to_rest(n: dict) -> dict:
    product_id = gid_int(n.get("id"))
    return {
        "id": product_id, "title": n.get("title"), "handle": n.get("handle"), "vendor": n.get("vendor"),
        "product_type": n.get("productType"), "status": enum(n.get("status")), "tags": tags(n.get("tags")),
        "created_at": n.get("createdAt"), "updated_at": n.get("updatedAt"), "published_at": n.get("publishedAt"),
        "variants": [variant_to_rest(v, product_id) if isinstance(v, dict) else v for v in nodes(n.get("variants"))],
    }


def variant_to_rest(v: dict, product_id) -> dict:
    options = [o.get("value") for o in (v.get("selectedOptions") or []) if isinstance(o, dict)]
    item = v.get("inventoryItem") if isinstance(v.get("inventoryItem"), dict) else {}
    return {
        "id": gid_int(v.get("id")), "product_id": product_id, "title": v.get("title"), "sku": v.get("sku"),
        "barcode": v.get("barcode"), "price": shop_money(v.get("price")), "compare_at_price": shop_money(v.get("compareAtPrice")),
        "position": v.get("position"), "inventory_quantity": v.get("inventoryQuantity"),
        "inventory_item_id": _ref_id(item), "inventory_policy": enum(v.get("inventoryPolicy")),
        "option1": options[0] if len(options) > 0 else None, "option2": options[1] if len(options) > 1 else None,
        "option3": options[2] if len(options) > 2 else None, "taxable": v.get("taxable"),
        "requires_shipping": item.get("requiresShipping"), "created_at": v.get("createdAt"),
        "updated_at": v.get("updatedAt"),
    }


def checkout_to_rest(n: dict) -> dict:
    lines = []
    for li in nodes(n.get("lineItems")):
        if not isinstance(li, dict):
            lines.append(li)
            continue
        lines.append({
            "product_id": _ref_id(li.get("product")), "variant_id": _ref_id(li.get("variant")), "sku": li.get("sku"),
            "title": li.get("title"), "variant_title": li.get("variantTitle"), "quantity": li.get("quantity"),
            "price": shop_money(li.get("originalUnitPriceSet")), "line_price": shop_money(li.get("originalTotalPriceSet")),
        })
    return {
        "id": gid_int(n.get("id")), "name": n.get("name"), "email": n.get("email"), "phone": n.get("phone"),
        "customer": n.get("customer") and {"id": _ref_id(n.get("customer"))},
        "created_at": n.get("createdAt"), "updated_at": n.get("updatedAt"), "completed_at": n.get("completedAt"),
        "closed_at": n.get("closedAt"), "abandoned_checkout_url": n.get("abandonedCheckoutUrl"),
        "buyer_accepts_marketing": n.get("buyerAcceptsMarketing"),
        "currency": n.get("currencyCode") or shop_currency(n.get("totalPriceSet")),
        "presentment_currency": _presentment_currency(n.get("totalPriceSet")),
        "subtotal_price": shop_money(n.get("subtotalPriceSet")),
        "total_line_items_price": shop_money(n.get("totalLineItemsPriceSet")),
        "total_discounts": shop_money(n.get("totalDiscountSet")), "total_tax": shop_money(n.get("totalTaxSet")),
        "total_price": shop_money(n.get("totalPriceSet")), "source_name": n.get("sourceName"),
        "discount_codes": [{"code": c, "amount": None, "type": None} for c in n["discountCodes"]]
        if isinstance(n.get("discountCodes"), list) else None,
        "shipping_address": _address(n.get("shippingAddress")), "line_items": lines,
    }


def _presentment_currency(bag):
    money = bag.get("presentmentMoney") if isinstance(bag, dict) else None
    return money.get("currencyCode") if isinstance(money, dict) else None


def location_to_rest(n: dict) -> dict:
    a = n.get("address") if isinstance(n.get("address"), dict) else {}
    return {
        "id": gid_int(n.get("id")), "name": n.get("name"), "address1": a.get("address1"), "address2": a.get("address2"),
        "city": a.get("city"), "zip": a.get("zip"), "province": a.get("province"), "province_code": a.get("provinceCode"),
        "country": a.get("country"), "country_code": a.get("countryCode"), "phone": a.get("phone"),
        "active": n.get("isActive"), "legacy": n.get("legacy"), "created_at": n.get("createdAt"),
        "updated_at": n.get("updatedAt"),
    }


def level_to_rest(n: dict, location_id=None) -> dict:
    item = n.get("item") if isinstance(n.get("item"), dict) else {}
    available = None
    for q in n.get("quantities") or []:
        if isinstance(q, dict) and q.get("name") == "available":
            available = q.get("quantity")
    if item.get("tracked") is False:
        available = None
    location = _ref_id(n.get("location")) if isinstance(n.get("location"), dict) else location_id
    return {"inventory_item_id": _ref_id(item), "location_id": location, "available": available,
            "updated_at": n.get("updatedAt")}


TO_REST = {
    "customers": customer_to_rest, "orders": order_to_rest, "products": product_to_rest,
    "checkouts": checkout_to_rest, "locations": location_to_rest, "inventory_levels": level_to_rest,
}
NESTED = {"orders": ("lineItems", "discountApplications", "refundLineItems"), "products": ("variants",),
          "checkouts": ("lineItems",)}


def _truncated(table: str, node: dict) -> list[Issue]:
    """Nested connections that say more nodes exist than the page holds."""
    issues = []
    for key in NESTED.get(table, ()):
        conns = [node.get(key)]
        if key == "refundLineItems":
            conns = [r.get(key) for r in nodes(node.get("refunds")) if isinstance(r, dict)]
        if any(has_next_page(c) for c in conns):
            issues.append(Issue(key, "more nodes than the page holds",
                                "hasNextPage: more nodes than the page holds (the connector fetches the record "
                                "whole with a bulk operation)"))
    return issues


# -- landing one node -------------------------------------------------------------------------------
def land_node(ctx: FileContext, out: Collector, table: str, index: int, node, location_id=None) -> None:
    out.convert(ctx, table, index, node, partial(_type_node, table, location_id), partial(_node_id, table, location_id))


def _to_rest(table: str, location_id, node: dict) -> dict:
    return level_to_rest(node, location_id) if table == "inventory_levels" else TO_REST[table](node)


def _type_node(table: str, location_id, check: Check, node: dict):
    """A GraphQL node in the REST shape, typed by the REST record parser."""
    record = _to_rest(table, location_id, node)
    check.errors.extend(_truncated(table, node))
    row, children = rest.PARSERS[table](check, record)
    _raw_children(table, node, children)
    return row, children


def _node_id(table: str, location_id, node: dict):
    record = _to_rest(table, location_id, node)
    return level_id(record) if table == "inventory_levels" else rest.record_id(record)


EMBEDDED = {"products": {"product_variants": "variants"}, "orders": {"refunds": "refunds", "fulfillments": "fulfillments"}}


def _raw_children(table: str, node: dict, children: list) -> None:
    """Embedded children (variants, refunds, fulfilments) keep their GraphQL node as ``_raw``."""
    for child_table, key in EMBEDDED.get(table, {}).items():
        sources = [x for x in nodes(node.get(key)) if isinstance(x, dict)]
        rows = [row for t, row in children if t == child_table]
        for row, source in zip(rows, sources):
            row["_raw"] = orjson.dumps(source).decode()


# -- files --------------------------------------------------------------------------------------------
def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    if ctx.path.name.lower().removesuffix(".gz").endswith(".jsonl"):
        parse_bulk(ctx, data, out)
    else:
        parse_page(ctx, data, out)


def parse_page(ctx: FileContext, data: bytes, out: Collector) -> None:
    doc = load_json_file(ctx, data, out)
    if doc is NOT_JSON:
        return
    body = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(body, dict):
        errors = doc.get("errors") if isinstance(doc, dict) else None
        problem = f"GraphQL errors: {show(errors)}" if errors else "no \"data\" object in the response"
        out.reject_file(ctx, problem, "no data", bytes_to_text(data), sha256_hex(data))
        return
    found = False
    for key, value in body.items():
        if key in PAGE_FIELDS:
            found = True
            for index, node in enumerate(_page_nodes(ctx, out, key, value, data)):
                land_node(ctx, out, PAGE_FIELDS[key], index, node)
        elif key == "location" and isinstance(value, dict):  # one location's inventory levels
            found = True
            location_id = gid_int(value.get("id"))
            for index, node in enumerate(_page_nodes(ctx, out, "inventoryLevels", value.get("inventoryLevels"), data)):
                land_node(ctx, out, "inventory_levels", index, node, location_id)
    if not found:
        out.reject_file(ctx, f"no resource field in data (fields: {', '.join(map(repr, body)) or 'none'})",
                        "no resource field", bytes_to_text(data), sha256_hex(data))


def _page_nodes(ctx, out, key, value, data) -> list:
    items = nodes(value)
    if not isinstance(items, list):
        out.reject_file(ctx, f"{key!r} holds no nodes list: {show(value)}", f"{key} not a connection",
                        bytes_to_text(data), sha256_hex(data))
        return []
    return items


FLUSH_EVERY = 500  # records between two conversions of the gathered rows to Arrow


def parse_bulk(ctx: FileContext, data: bytes, out: Collector) -> None:
    """A bulk JSONL result, in two passes so that memory holds the file and one record, not every
    record of the file: the first reads each line once to learn which record it belongs to (a child
    names its parent, which may itself be a child, or an object in its record's ``refunds`` list);
    the second rebuilds each record with its children attached and types it, in file order."""
    lines = data.splitlines()
    roots: list[tuple[int, str]] = []  # (line index, table)
    owner: dict[str, int] = {}  # gid -> line index of the record holding it
    children: dict[int, list[int]] = {}
    levels: list[int] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        obj = _line_object(ctx, out, index, line)
        if obj is None:
            continue
        kind = gid_type(obj.get("id")) or obj.get("__typename")
        parent_gid = obj.get("__parentId")
        if parent_gid is None:
            table = BULK_TYPES.get(kind)
            if table is None:
                out.reject_file(ctx, f"a top-level object of unknown type {kind!r}", "unknown object type",
                                bytes_to_text(line), sha256_hex(line), index=index)
                continue
            roots.append((index, table))
            for gid in _ids(obj):
                owner[gid] = index
            continue
        root = owner.get(parent_gid)
        field = _child_field(kind)
        if root is None or field is None:
            problem = (f"child of {show(parent_gid)}, which is not earlier in the file" if root is None
                       else f"a child of unknown type {kind!r}")
            out.reject_file(ctx, problem, "orphan child line" if root is None else "unknown child type",
                            bytes_to_text(line), sha256_hex(line), index=index)
            continue
        if kind == "InventoryLevel":  # a record of its own, as in REST
            levels.append(index)
            continue
        children.setdefault(root, []).append(index)
        for gid in _ids(obj):
            owner[gid] = root
    del owner
    for done, (index, table) in enumerate(roots, 1):
        record = orjson.loads(lines[index])
        by_id = {gid: obj for gid, obj in _objects_with_ids(record)}
        for child_index in children.get(index, ()):
            child = orjson.loads(lines[child_index])
            parent = by_id[child.pop("__parentId")]
            field = _child_field(gid_type(child.get("id")) or child.get("__typename"))
            conn = parent.get(field)
            if not isinstance(conn, dict) or "nodes" not in conn:
                conn = parent[field] = {"nodes": []}
            conn["nodes"].append(child)
            by_id.update(_objects_with_ids(child))
        land_node(ctx, out, table, index, record)
        if done % FLUSH_EVERY == 0:
            out.flush()
    for index in levels:
        level = orjson.loads(lines[index])
        location_id = gid_int(level.pop("__parentId"))
        land_node(ctx, out, "inventory_levels", index, level, location_id)


def _line_object(ctx: FileContext, out: Collector, index: int, line: bytes) -> dict | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        out.reject_file(ctx, f"not valid JSON: {exc}", "not valid JSON", bytes_to_text(line), sha256_hex(line),
                        index=index)
        return None
    if not isinstance(obj, dict):
        out.reject_file(ctx, f"not a JSON object: {show(obj)}", "not an object", bytes_to_text(line),
                        sha256_hex(line), index=index)
        return None
    return obj


def _child_field(kind) -> str | None:
    if kind in CHILD_FIELDS:
        return CHILD_FIELDS[kind]
    return "discountApplications" if isinstance(kind, str) and kind.endswith("Application") else None


def _objects_with_ids(obj: dict):
    """(gid, object) of the line's own object and of the objects in its lists (an order's refunds),
    which children may name as their parent."""
    if isinstance(obj.get("id"), str):
        yield obj["id"], obj
    for value in obj.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    yield item["id"], item


def _ids(obj: dict) -> list[str]:
    return [gid for gid, _ in _objects_with_ids(obj)]
