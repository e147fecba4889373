"""A local server that plays Shopify's GraphQL Admin API over real HTTP, for the GraphQL connector's
tests and benchmark: ``POST /admin/api/<version>/graphql.json`` answering the connector's queries
with Shopify's documented response shapes.

- Paginated connections: ``first``/``after`` with opaque cursors, ``nodes`` and
  ``pageInfo { hasNextPage endCursor }``, the ``query:`` filter ``updated_at:>='..' AND
  updated_at:<='..'`` (or ``id:1 OR id:2``); nested connections (``lineItems``, ``variants``...)
  cut at the ``first:`` the query asks for, with their own ``pageInfo``.
- Bulk operations: ``bulkOperationRunQuery`` (the response shape of
  ``tests/data/providers/shopify_graphql/gql_bulk_operation_run_query.json``), then ``node(id:)``
  answers ``CREATED``/``RUNNING`` for ``running_polls`` polls and ``COMPLETED`` with ``url``,
  ``objectCount``, ``rootObjectCount``, ``fileSize``; the JSONL at ``url`` is written as Shopify
  writes it (children on lines of their own after their parent, with ``__parentId``, slashes
  escaped ``\\/``). The download does not take the shop's token (a signed storage URL).
- ``extensions.cost`` on every response (``throttleStatus`` floats as Shopify sends them), with
  scripted values (``cost_script``); injected faults per request number: ``THROTTLED`` errors,
  HTTP 5xx, other GraphQL errors, ``userErrors``.

Records are kept as REST records (the fixtures of ``tests/data/providers/shopify``) and served as
GraphQL nodes through ``*_node`` below: Shopify's GraphQL names and types for the same values
(gid ids, MoneyBag ``shopMoney.amount`` strings, upper-case enums, tag lists, UTC times).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.fixtures import PROVIDER_FIXTURES

TOKEN = "shpat_graphql_test_token_not_a_secret"
VERSION = "2026-07"
REST_TEMPLATES = {
    "customers": ("customers_list.json", "customers"),
    "orders": ("orders_list_status_any.json", "orders"),
    "products": ("products_list.json", "products"),
    "checkouts": ("abandoned_checkouts.json", "checkouts"),
}
ROOT_FIELDS = {"customers": "customers", "orders": "orders", "products": "products",
               "abandonedCheckouts": "checkouts", "locations": "locations"}
GID_TYPES = {"customers": "Customer", "orders": "Order", "products": "Product", "checkouts": "AbandonedCheckout",
             "locations": "Location"}


def rest_records(resource: str) -> list[dict]:
    name, key = REST_TEMPLATES[resource]
    return json.loads((PROVIDER_FIXTURES / "shopify" / name).read_text())[key]


# -- REST record -> GraphQL node (Shopify's GraphQL names and types for the same values) -----------
def gid(kind: str, rid) -> str | None:
    return None if rid is None else f"gid://shopify/{kind}/{rid}"


def utc(ts: str | None) -> str | None:
    if not ts:
        return ts
    return datetime.fromisoformat(ts).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bag(amount, currency: str | None) -> dict | None:
    if amount is None:
        return None
    money = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def upper(value):
    return value.upper() if isinstance(value, str) else value


def ref(kind: str, rid) -> dict | None:
    return None if rid is None else {"id": gid(kind, rid)}


def address_node(a: dict | None) -> dict | None:
    if a is None:
        return None
    return {"address1": a.get("address1"), "address2": a.get("address2"), "country": a.get("country"),
            "countryCodeV2": a.get("country_code"), "province": a.get("province"),
            "provinceCode": a.get("province_code"), "city": a.get("city"), "zip": a.get("zip")}


def tag_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def customer_node(r: dict) -> dict:
    """As the documented ``customers`` query answers from 2025-04 on: email and phone with their
    marketing state in ``defaultEmailAddress`` / ``defaultPhoneNumber``."""
    email, sms = r.get("email_marketing_consent") or {}, r.get("sms_marketing_consent") or {}
    return {
        "id": gid("Customer", r["id"]), "firstName": r.get("first_name"), "lastName": r.get("last_name"),
        "state": upper(r.get("state")), "verifiedEmail": r.get("verified_email"), "tags": tag_list(r.get("tags")),
        "note": r.get("note"),
        "numberOfOrders": str(r.get("orders_count", 0)),  # UnsignedInt64: a string
        "amountSpent": {"amount": r.get("total_spent", "0.00"), "currencyCode": r.get("currency")},
        "lastOrder": ref("Order", r.get("last_order_id")),
        "createdAt": utc(r.get("created_at")), "updatedAt": utc(r.get("updated_at")), "taxExempt": r.get("tax_exempt"),
        "defaultEmailAddress": {"emailAddress": r.get("email"), "marketingState": upper(email.get("state")),
                                "marketingOptInLevel": upper(email.get("opt_in_level")),
                                "marketingUpdatedAt": utc(email.get("consent_updated_at"))} if r.get("email") else None,
        "defaultPhoneNumber": {"phoneNumber": r.get("phone"), "marketingState": upper(sms.get("state")),
                               "marketingOptInLevel": upper(sms.get("opt_in_level")),
                               "marketingUpdatedAt": utc(sms.get("consent_updated_at")),
                               "marketingCollectedFrom": sms.get("consent_collected_from")} if r.get("phone") else None,
        "defaultAddress": address_node(r.get("default_address")),
    }


def _price_of(obj: dict, key: str):
    return (obj.get(f"{key}_set") or {}).get("shop_money", {}).get("amount", obj.get(key))


def order_node(r: dict) -> dict:
    cur = r.get("currency")
    lines = [{
        "id": gid("LineItem", li["id"]), "sku": li.get("sku"), "title": li.get("title"),
        "variantTitle": li.get("variant_title"), "name": li.get("name"), "vendor": li.get("vendor"),
        "quantity": li.get("quantity"), "currentQuantity": li.get("current_quantity"),
        "unfulfilledQuantity": li.get("fulfillable_quantity"), "isGiftCard": li.get("gift_card"),
        "requiresShipping": li.get("requires_shipping"), "taxable": li.get("taxable"),
        "product": ref("Product", li.get("product_id")), "variant": ref("ProductVariant", li.get("variant_id")),
        "originalUnitPriceSet": bag(li.get("price"), cur), "totalDiscountSet": bag(li.get("total_discount"), cur),
        "discountAllocations": [{"allocatedAmountSet": bag(a.get("amount"), cur),
                                 "discountApplication": {"index": a.get("discount_application_index")}}
                                for a in li.get("discount_allocations") or []],
    } for li in r.get("line_items") or []]
    apps = []
    for i, app in enumerate(r.get("discount_applications") or []):
        value = ({"percentage": float(app["value"])} if app.get("value_type") == "percentage"
                 else {"amount": app.get("value"), "currencyCode": cur})
        node = {"__typename": {"discount_code": "DiscountCodeApplication", "manual": "ManualDiscountApplication",
                               "script": "ScriptDiscountApplication"}.get(app.get("type"), "AutomaticDiscountApplication"),
                "index": i, "allocationMethod": upper(app.get("allocation_method")),
                "targetType": upper(app.get("target_type")), "value": value}
        if app.get("type") == "discount_code":
            node["code"] = app.get("code")
        apps.append(node)
    refunds = []
    for ref_ in r.get("refunds") or []:
        total = sum((Decimal(str(t["amount"])) for t in ref_.get("transactions") or []
                     if t.get("kind") == "refund" and t.get("status") in ("success", None)), Decimal(0))
        refunds.append({
            "id": gid("Refund", ref_["id"]), "createdAt": utc(ref_.get("created_at")), "note": ref_.get("note"),
            "totalRefundedSet": bag(total, cur),
            "refundLineItems": [{
                "id": gid("RefundLineItem", rli["id"]), "quantity": rli.get("quantity"),
                "restockType": upper(rli.get("restock_type")), "location": ref("Location", rli.get("location_id")),
                "subtotalSet": bag(_price_of(rli, "subtotal"), cur), "totalTaxSet": bag(_price_of(rli, "total_tax"), cur),
                "lineItem": {"id": gid("LineItem", rli.get("line_item_id")), "sku": (rli.get("line_item") or {}).get("sku"),
                             "product": ref("Product", (rli.get("line_item") or {}).get("product_id")),
                             "variant": ref("ProductVariant", (rli.get("line_item") or {}).get("variant_id"))},
            } for rli in ref_.get("refund_line_items") or []],
        })
    fulfillments = []
    for f in r.get("fulfillments") or []:
        numbers, urls = f.get("tracking_numbers") or [], f.get("tracking_urls") or []
        fulfillments.append({
            "id": gid("Fulfillment", f["id"]), "name": f.get("name"), "status": upper(f.get("status")),
            "displayStatus": upper(f.get("shipment_status")), "createdAt": utc(f.get("created_at")),
            "updatedAt": utc(f.get("updated_at")), "location": ref("Location", f.get("location_id")),
            "service": {"handle": f.get("service")} if f.get("service") else None,
            "trackingInfo": [{"company": f.get("tracking_company"), "number": n,
                              "url": urls[i] if i < len(urls) else None} for i, n in enumerate(numbers)],
        })
    status = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(r.get("fulfillment_status"),
                                                                       upper(r.get("fulfillment_status")))
    return {
        "id": gid("Order", r["id"]), "name": r.get("name"), "email": r.get("email"), "phone": r.get("phone"),
        "customer": ref("Customer", (r.get("customer") or {}).get("id")),
        "createdAt": utc(r.get("created_at")), "processedAt": utc(r.get("processed_at")),
        "updatedAt": utc(r.get("updated_at")), "cancelledAt": utc(r.get("cancelled_at")),
        "cancelReason": upper(r.get("cancel_reason")), "closedAt": utc(r.get("closed_at")), "currencyCode": cur,
        "presentmentCurrencyCode": r.get("presentment_currency"),
        "displayFinancialStatus": upper(r.get("financial_status")), "displayFulfillmentStatus": status,
        "confirmed": r.get("confirmed"), "test": r.get("test"),
        "subtotalPriceSet": bag(r.get("subtotal_price"), cur), "totalDiscountsSet": bag(r.get("total_discounts"), cur),
        "totalTaxSet": bag(r.get("total_tax"), cur),
        "totalShippingPriceSet": bag(_price_of(r, "total_shipping_price"), cur),
        "totalPriceSet": bag(r.get("total_price"), cur),
        "currentSubtotalPriceSet": bag(r.get("current_subtotal_price"), cur),
        "currentTotalDiscountsSet": bag(r.get("current_total_discounts"), cur),
        "currentTotalTaxSet": bag(r.get("current_total_tax"), cur),
        "currentTotalPriceSet": bag(r.get("current_total_price"), cur),
        "totalOutstandingSet": bag(r.get("total_outstanding"), cur),
        "taxesIncluded": r.get("taxes_included"), "sourceName": r.get("source_name"), "tags": tag_list(r.get("tags")),
        "note": r.get("note"), "customerAcceptsMarketing": r.get("buyer_accepts_marketing"),
        "customerLocale": r.get("customer_locale"), "discountCodes": [c["code"] for c in r.get("discount_codes") or []],
        "shippingAddress": address_node(r.get("shipping_address")), "billingAddress": address_node(r.get("billing_address")),
        "lineItems": lines, "discountApplications": apps, "refunds": refunds, "fulfillments": fulfillments,
    }


def product_node(r: dict) -> dict:
    return {
        "id": gid("Product", r["id"]), "title": r.get("title"), "handle": r.get("handle"), "vendor": r.get("vendor"),
        "productType": r.get("product_type"), "status": upper(r.get("status")), "tags": tag_list(r.get("tags")),
        "createdAt": utc(r.get("created_at")), "updatedAt": utc(r.get("updated_at")),
        "publishedAt": utc(r.get("published_at")),
        "variants": [{
            "id": gid("ProductVariant", v["id"]), "title": v.get("title"), "sku": v.get("sku"),
            "barcode": v.get("barcode"), "price": v.get("price"), "compareAtPrice": v.get("compare_at_price"),
            "position": v.get("position"), "inventoryQuantity": v.get("inventory_quantity"),
            "inventoryPolicy": upper(v.get("inventory_policy")), "taxable": v.get("taxable"),
            "createdAt": utc(v.get("created_at")), "updatedAt": utc(v.get("updated_at")),
            "selectedOptions": [{"name": f"Option{i}", "value": v[f"option{i}"]} for i in (1, 2, 3)
                                if v.get(f"option{i}") is not None],
            "inventoryItem": {"id": gid("InventoryItem", v.get("inventory_item_id")),
                              "requiresShipping": v.get("requires_shipping")},
        } for v in r.get("variants") or []],
    }


def checkout_node(r: dict) -> dict:
    cur = r.get("currency")
    return {
        "id": gid("AbandonedCheckout", r["id"]), "name": r.get("name"),
        "abandonedCheckoutUrl": r.get("abandoned_checkout_url"), "createdAt": utc(r.get("created_at")),
        "updatedAt": utc(r.get("updated_at")), "completedAt": utc(r.get("completed_at")),
        "customer": ref("Customer", (r.get("customer") or {}).get("id")), "taxesIncluded": r.get("taxes_included"),
        "subtotalPriceSet": bag(r.get("subtotal_price"), cur),
        "totalLineItemsPriceSet": bag(r.get("total_line_items_price"), cur),
        "totalDiscountSet": bag(r.get("total_discounts"), cur), "totalTaxSet": bag(r.get("total_tax"), cur),
        "totalPriceSet": bag(r.get("total_price"), cur),
        "discountCodes": [c["code"] for c in r.get("discount_codes") or []],
        "shippingAddress": address_node(r.get("shipping_address")),
        "lineItems": [{
            "id": gid("AbandonedCheckoutLineItem", int(li["key"], 16) if li.get("key") else i), "title": li.get("title"),
            "variantTitle": li.get("variant_title"), "sku": li.get("sku"), "quantity": li.get("quantity"),
            "product": ref("Product", li.get("product_id")), "variant": ref("ProductVariant", li.get("variant_id")),
            "originalUnitPriceSet": bag(li.get("price"), cur), "originalTotalPriceSet": bag(li.get("line_price"), cur),
        } for i, li in enumerate(r.get("line_items") or [])],
    }


def location_node(r: dict) -> dict:
    return {
        "id": gid("Location", r["id"]), "name": r.get("name"), "isActive": r.get("active"),
        "createdAt": utc(r.get("created_at")), "updatedAt": utc(r.get("updated_at")),
        "address": {"address1": r.get("address1"), "address2": r.get("address2"), "city": r.get("city"),
                    "zip": r.get("zip"), "province": r.get("province"), "provinceCode": r.get("province_code"),
                    "country": r.get("country"), "countryCode": r.get("country_code"), "phone": r.get("phone")},
    }


def level_node(r: dict) -> dict:
    item, location = r["inventory_item_id"], r["location_id"]
    return {
        "id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}",
        "updatedAt": utc(r["updated_at"]),
        "item": {"id": gid("InventoryItem", item), "tracked": r.get("available") is not None},
        "location": {"id": gid("Location", location)},
        "quantities": [{"name": "available", "quantity": r.get("available") if r.get("available") is not None else 0}],
    }


NODE = {"customers": customer_node, "orders": order_node, "products": product_node, "checkouts": checkout_node,
        "locations": location_node}
NESTED = {"orders": ("lineItems", "discountApplications"), "products": ("variants",), "checkouts": ("lineItems",)}


# -- the server ---------------------------------------------------------------------------------------
_ROOT = re.compile(r"\{\s*(\w+)\s*(?:\(|\{)")
_FILTER_SINCE = re.compile(r"updated_at:>='([^']+)'")
_FILTER_UNTIL = re.compile(r"updated_at:<='([^']+)'")
_IDS = re.compile(r"\bid:(\d+)")
_BULK_SEARCH = re.compile(r'query:\s*"((?:[^"\\]|\\.)*)"')


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last": offset}).encode()).decode()


def _decode(cursor: str | None) -> int:
    return json.loads(base64.urlsafe_b64decode(cursor))["last"] if cursor else 0


def bulk_jsonl(resource: str, nodes: list[dict]) -> bytes:
    """Shopify's bulk layout: the root object without its connections, then each connection's nodes
    on lines of their own with ``__parentId`` (slashes escaped as Shopify writes them)."""
    out = []

    def line(obj):
        out.append(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/"))

    for node in nodes:
        node = copy.deepcopy(node)
        children = []
        for key in NESTED.get(resource, ()) + (("inventoryLevels",) if resource == "locations" else ()):
            for child in node.pop(key, []) or []:
                children.append(dict(child, __parentId=node["id"]))
        refund_children = []
        for refund in node.get("refunds") or []:
            for child in refund.pop("refundLineItems", []) or []:
                refund_children.append(dict(child, __parentId=refund["id"]))
        line(node)
        for child in children + refund_children:
            line(child)
    return ("\n".join(out) + "\n").encode() if out else b""


class FakeShopifyGraphQL:
    def __init__(self, running_polls: int = 2):
        self.records: dict[str, list[dict]] = {r: [] for r in (*REST_TEMPLATES, "locations", "inventory_levels")}
        self.running_polls = running_polls
        self.operations: dict[str, dict] = {}
        self.bulk_bodies: dict[str, bytes] = {}  # resource -> a prebuilt JSONL result (benchmarks)
        self.files: dict[str, bytes] = {}
        self.requests: list[dict] = []  # every GraphQL request body (query, variables)
        self.served: list[tuple[str, bytes]] = []  # (root field, body) of each page served
        self.downloads: list[dict] = []  # headers of each JSONL download
        self.faults: dict[int, tuple] = {}  # request number (1-based) -> fault
        self.cost_script: list[tuple[float, float, float]] = []  # (requested, available, restore rate)
        self.maximum = 1000.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                fake.handle_post(self)

            def do_GET(self):  # noqa: N802
                fake.handle_get(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- data ---------------------------------------------------------------------------------------
    def add(self, resource: str, rest_record: dict) -> None:
        self.records[resource].append(rest_record)

    def node(self, resource: str, rest_record: dict) -> dict:
        node = NODE[resource](rest_record)
        if resource == "locations":
            node["inventoryLevels"] = [level_node(lv) for lv in self.records["inventory_levels"]
                                       if lv["location_id"] == rest_record["id"]]
        return node

    def matching(self, resource: str, search: str | None) -> list[dict]:
        records = self.records[resource]
        if search:
            ids = {int(i) for i in _IDS.findall(search)}
            since, until = _FILTER_SINCE.search(search), _FILTER_UNTIL.search(search)
            records = [r for r in records
                       if (not ids or r["id"] in ids)
                       and (not since or _ts(r["updated_at"]) >= _ts(since.group(1)))
                       and (not until or _ts(r["updated_at"]) <= _ts(until.group(1)))]
        return sorted(records, key=lambda r: r["id"])

    # -- HTTP -----------------------------------------------------------------------------------------
    def reply(self, h, status: int, body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def cost(self, requested: float) -> dict:
        with self.lock:
            scripted = self.cost_script.pop(0) if self.cost_script else None
        if scripted:
            requested, available, rate = scripted
        else:
            available, rate = self.maximum - requested, 50.0
        return {"requestedQueryCost": requested, "actualQueryCost": requested,
                "throttleStatus": {"maximumAvailable": self.maximum, "currentlyAvailable": int(available),
                                   "restoreRate": rate}}

    def handle_get(self, h) -> None:
        path = urlsplit(h.path).path
        with self.lock:
            self.downloads.append(dict(h.headers))
            body = self.files.get(path)
        if body is None:
            return self.reply(h, 404, b"Not Found", "text/plain")
        self.reply(h, 200, body, "application/jsonl")

    def handle_post(self, h) -> None:
        length = int(h.headers.get("Content-Length", 0))
        raw = h.rfile.read(length)
        if urlsplit(h.path).path != f"/admin/api/{VERSION}/graphql.json":
            return self.reply(h, 404, b'{"errors":"Not Found"}')
        if h.headers.get("X-Shopify-Access-Token") != TOKEN:
            return self.reply(h, 401, b'{"errors":"[API] Invalid API key or access token (unrecognized login or '
                                      b'wrong password)"}')
        request = json.loads(raw)
        with self.lock:
            self.requests.append(request)
            number = len(self.requests)
            fault = self.faults.pop(number, None)
        if fault:
            kind = fault[0]
            if kind == "status":
                return self.reply(h, fault[1], b'{"errors":"Internal Server Error"}')
            if kind == "throttled":  # Shopify's THROTTLED shape, optionally with the cost block
                doc = json.loads((PROVIDER_FIXTURES / "shopify_graphql" / "gql_throttled.json").read_text())
                if len(fault) > 1 and fault[1]:
                    requested, available, rate = fault[1]
                    doc["extensions"] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                                  "throttleStatus": {"maximumAvailable": self.maximum,
                                                                     "currentlyAvailable": available,
                                                                     "restoreRate": rate}}}
                return self.reply(h, 200, json.dumps(doc).encode())
            if kind == "error":
                doc = {"errors": [{"message": fault[1], "locations": [{"line": 1, "column": 1}],
                                   "extensions": {"code": fault[2] if len(fault) > 2 else "BAD_REQUEST"}}]}
                return self.reply(h, 200, json.dumps(doc).encode())
            if kind == "user_errors":
                doc = {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
                    {"field": ["query"], "message": fault[1]}]}}, "extensions": {"cost": self.cost(10)}}
                return self.reply(h, 200, json.dumps(doc).encode())
        query, variables = request.get("query", ""), request.get("variables") or {}
        if "bulkOperationRunQuery" in query:
            doc = self.run_bulk(variables["query"])
        elif "PollBulk" in query or "node(id:" in query:
            doc = self.poll(variables["id"])
        elif "currentBulkOperation" in query:
            last = list(self.operations)[-1:] or [None]
            doc = self.poll(last[0]) if last[0] else {"data": {"currentBulkOperation": None}}
            doc["data"] = {"currentBulkOperation": doc["data"].get("node")}
        elif "LocationLevels" in query:
            doc = self.levels_page(query, variables)
        else:
            doc = self.page(query, variables)
        body = json.dumps(doc).encode()
        self.reply(h, 200, body)

    # -- bulk operations ------------------------------------------------------------------------------------
    def run_bulk(self, inner: str) -> dict:
        field = _ROOT.search(inner).group(1)
        resource = ROOT_FIELDS[field]
        search = _BULK_SEARCH.search(inner)
        search_text = json.loads(f'"{search.group(1)}"') if search else None
        if resource in self.bulk_bodies:
            body = self.bulk_bodies[resource]
            roots = body.count(b"\n") - body.count(b'"__parentId"')
        else:
            nodes = [self.node(resource, r) for r in self.matching(resource, search_text)]
            body, roots = bulk_jsonl(resource, nodes), len(nodes)
        with self.lock:
            number = 408566366379 + len(self.operations)
            op_id = f"gid://shopify/BulkOperation/{number}"
            self.operations[op_id] = {"polls": 0, "body": body, "roots": roots, "path": f"/bulk/{number}.jsonl"}
            if body:
                self.files[f"/bulk/{number}.jsonl"] = body
        return {"data": {"bulkOperationRunQuery": {"bulkOperation": {"id": op_id, "status": "CREATED"},
                                                   "userErrors": []}},
                "extensions": {"cost": self.cost(10)}}

    def poll(self, op_id: str) -> dict:
        with self.lock:
            op = self.operations.get(op_id)
            if op is None:
                return {"data": {"node": None}, "extensions": {"cost": self.cost(1)}}
            op["polls"] += 1
            polls = op["polls"]
        done = polls > self.running_polls
        body = op["body"]
        node = {
            "id": op_id, "status": "COMPLETED" if done else ("CREATED" if polls == 1 else "RUNNING"),
            "errorCode": None, "createdAt": "2026-07-14T06:00:00Z",
            "completedAt": "2026-07-14T06:01:00Z" if done else None,
            "objectCount": str(body.count(b"\n")) if done else "0",
            "rootObjectCount": str(op["roots"]) if done else "0",
            "fileSize": str(len(body)) if done and body else None,
            "url": f"{self.base}{op['path']}?X-Goog-Signature=fake" if done and body else None,
            "partialDataUrl": None,
        }
        return {"data": {"node": node}, "extensions": {"cost": self.cost(1)}}

    # -- pages --------------------------------------------------------------------------------------------------
    def _cut(self, query: str, resource: str, node: dict) -> dict:
        """Nested connections as Shopify pages them: ``first`` nodes and their pageInfo."""
        for key in NESTED.get(resource, ()):
            match = re.search(rf"\b{key}\(first: (\d+)", query)
            first = int(match.group(1)) if match else 10
            items = node.get(key) or []
            node[key] = {"nodes": items[:first], "pageInfo": {
                "hasNextPage": len(items) > first, "endCursor": _encode(min(first, len(items))) if items else None}}
        if resource == "orders":
            match = re.search(r"\brefundLineItems\(first: (\d+)", query)
            first = int(match.group(1)) if match else 10
            for refund in node.get("refunds") or []:
                items = refund.get("refundLineItems") or []
                refund["refundLineItems"] = {"nodes": items[:first], "pageInfo": {
                    "hasNextPage": len(items) > first, "endCursor": _encode(first) if items else None}}
        return node

    def page(self, query: str, variables: dict) -> dict:
        field = re.search(r"\{\s*(\w+)\(first:", query).group(1)
        resource = ROOT_FIELDS[field]
        matching = self.matching(resource, variables.get("query"))
        first, offset = int(variables["first"]), _decode(variables.get("after"))
        chunk = matching[offset:offset + first]
        nodes = [self._cut(query, resource, NODE[resource](r)) for r in chunk]
        more = offset + first < len(matching)
        doc = {"data": {field: {"nodes": nodes, "pageInfo": {
            "hasNextPage": more, "endCursor": _encode(offset + len(chunk)) if chunk else None}}},
            "extensions": {"cost": self.cost(2 + first * 3)}}
        with self.lock:
            self.served.append((field, json.dumps(doc).encode()))
        return doc

    def levels_page(self, query: str, variables: dict) -> dict:
        location_id = int(variables["id"].rsplit("/", 1)[1])
        if not any(r["id"] == location_id for r in self.records["locations"]):
            return {"data": {"location": None}, "extensions": {"cost": self.cost(2)}}
        search = variables.get("query")
        levels = [lv for lv in self.records["inventory_levels"] if lv["location_id"] == location_id]
        if search:
            since, until = _FILTER_SINCE.search(search), _FILTER_UNTIL.search(search)
            levels = [lv for lv in levels if (not since or _ts(lv["updated_at"]) >= _ts(since.group(1)))
                      and (not until or _ts(lv["updated_at"]) <= _ts(until.group(1)))]
        levels.sort(key=lambda lv: lv["inventory_item_id"])
        first, offset = int(variables["first"]), _decode(variables.get("after"))
        chunk = levels[offset:offset + first]
        more = offset + first < len(levels)
        doc = {"data": {"location": {"id": variables["id"], "inventoryLevels": {
            "nodes": [level_node(lv) for lv in chunk],
            "pageInfo": {"hasNextPage": more, "endCursor": _encode(offset + len(chunk)) if chunk else None}}}},
            "extensions": {"cost": self.cost(2 + first * 2)}}
        with self.lock:
            self.served.append(("location", json.dumps(doc).encode()))
        return doc


class FakeClock:
    """``now()``/``sleep()`` that never waits: sleeping moves the time on and is recorded."""

    def __init__(self):
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def config(fake: FakeShopifyGraphQL, **kw):
    from retention.live.shopify_graphql import ShopifyGraphQLConfig

    values = dict(access_token=TOKEN, api_base=fake.base, api_version=VERSION, backoff_base=0.01, backoff_max=0.05,
                  poll_interval=0.5, poll_interval_max=2.0)
    values.update(kw)
    return ShopifyGraphQLConfig(**values)


def copies(resource: str, n: int, start_id: int, updated: datetime) -> list[dict]:
    """``n`` copies of the resource's REST fixture records, new ids, ``updated_at`` a minute apart."""
    templates = rest_records(resource)
    out = []
    for i in range(n):
        rec = copy.deepcopy(templates[i % len(templates)])
        rec["id"] = start_id + i
        rec["updated_at"] = (updated + timedelta(minutes=i)).isoformat()
        out.append(rec)
    return out
