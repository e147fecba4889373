"""A local server that plays Shopify's Admin REST API over real HTTP, for the connector's tests:
``updated_at_min`` (inclusive) and ``updated_at_max``, ``limit``, opaque ``page_info`` cursors that
refuse other filters, Link headers, the call-limit header, injected faults; ``locations.json``
(no filters) and ``inventory_levels.json`` (``location_ids`` required, no ``updated_at_max``)."""

from __future__ import annotations

import base64
import copy
import json
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from retention.live.shopify_api import ShopifyConfig
from tests.fixtures import PROVIDER_FIXTURES

TOKEN = "shpat_test_token_not_a_secret"
DAY1 = date(2026, 7, 14)  # the delivery day the live tests pull into
VERSION = "2026-07"
TEMPLATES = {
    "customers": ("customers_list.json", "customers"),
    "orders": ("orders_list_status_any.json", "orders"),
    "products": ("products_list.json", "products"),
    "checkouts": ("abandoned_checkouts.json", "checkouts"),
}
# Shopify's documented shapes (REST Admin API, Location and InventoryLevel resources)
LOCATION = {
    "id": 0, "name": "Main Warehouse", "address1": "126 York Street", "address2": "", "city": "Ottawa",
    "zip": "K1N 5T5", "province": "Ontario", "country": "CA", "phone": "555-555-5555",
    "created_at": "", "updated_at": "", "country_code": "CA", "country_name": "Canada",
    "province_code": "ON", "legacy": False, "active": True, "admin_graphql_api_id": "",
    "localized_country_name": "Canada", "localized_province_name": "Ontario",
}
LOCATION_IDS_PER_REQUEST = 50
BASE_TIME = (datetime.now(UTC) - timedelta(days=20)).replace(hour=12, minute=0, second=0, microsecond=0)
START_DATE = (BASE_TIME - timedelta(days=10)).date().isoformat()
RESOURCES = (*TEMPLATES, "locations", "inventory_levels")


def template(resource: str) -> dict:
    name, key = TEMPLATES[resource]
    return json.loads((PROVIDER_FIXTURES / "shopify" / name).read_text())[key][0]


def shopify_time(ts: datetime) -> str:
    return ts.astimezone(timezone(timedelta(hours=-4))).isoformat()  # Shopify's offsets


def make_record(resource: str, rid: int, updated: datetime) -> dict:
    rec = copy.deepcopy(LOCATION if resource == "locations" else template(resource))
    rec["id"] = rid
    rec["created_at"] = (BASE_TIME - timedelta(days=30)).isoformat()
    rec["updated_at"] = shopify_time(updated)
    if resource == "locations":
        rec["admin_graphql_api_id"] = f"gid://shopify/Location/{rid}"
    return rec


def make_level(item: int, location: int, available: int | None, updated: datetime) -> dict:
    return {"inventory_item_id": item, "location_id": location, "available": available,
            "updated_at": shopify_time(updated),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"}


def level_key(record: dict) -> tuple:
    return record["inventory_item_id"], record["location_id"]


class FakeShopify:
    """Records by resource, served like Shopify (see the module's docstring)."""

    def __init__(self):
        self.records: dict[str, list[dict]] = {r: [] for r in RESOURCES}
        self.served: list[tuple[str, str, bytes]] = []  # (resource, page key, body) of each 200
        self.queries: list[tuple[str, dict]] = []  # (resource, query) of each first page asked for
        self.faults: dict[tuple[str, int], list[tuple[int, dict]]] = {}  # (resource, page no) -> replies
        self.call_limit: dict[tuple[str, int], str] = {}
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                fake.handle(self)

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

    def reply(self, h, status: int, body: bytes, headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _first_page_state(self, resource: str, query: dict) -> dict | tuple[int, bytes]:
        """The filters of a first page, or (status, body) when Shopify would refuse them."""
        if resource == "locations":
            if query:
                return 400, b'{"errors":"locations.json takes no filters"}'
            return {"since": "|", "locations": None}
        if resource == "orders" and query.get("status") != "any":
            return 400, b'{"errors":"expected status=any"}'
        since, until = query.get("updated_at_min"), query.get("updated_at_max")
        locations = None
        if resource == "inventory_levels":
            if until:
                return 400, b'{"errors":"inventory_levels.json has no updated_at_max"}'
            if "location_ids" not in query:
                return 422, b'{"errors":{"base":["inventory_item_ids or location_ids must be specified"]}}'
            locations = [int(x) for x in query["location_ids"].split(",")]
            if len(locations) > LOCATION_IDS_PER_REQUEST:
                return 422, b'{"errors":{"location_ids":["too many"]}}'
        if until and since and datetime.fromisoformat(until) < datetime.fromisoformat(since):
            return 400, b'{"errors":"updated_at_max before updated_at_min"}'
        return {"since": f"{since or ''}|{until or ''}", "locations": locations}

    def _matching(self, resource: str, state: dict) -> list[dict]:
        low, high = state["since"].split("|")
        low_ts = datetime.fromisoformat(low) if low else None
        high_ts = datetime.fromisoformat(high) if high else None
        locations = state["locations"]
        return sorted((r for r in self.records[resource]
                       if (low_ts is None or datetime.fromisoformat(r["updated_at"]) >= low_ts)
                       and (high_ts is None or datetime.fromisoformat(r["updated_at"]) <= high_ts)
                       and (locations is None or r["location_id"] in locations)),
                      key=level_key if resource == "inventory_levels" else lambda r: r["id"])

    def handle(self, h) -> None:
        with self.lock:
            self.requests += 1
        parts = urlsplit(h.path)
        if h.headers.get("X-Shopify-Access-Token") != TOKEN:
            return self.reply(h, 401, b'{"errors":"[API] Invalid API key or access token"}')
        prefix = f"/admin/api/{VERSION}/"
        resource = parts.path[len(prefix):].removesuffix(".json") if parts.path.startswith(prefix) else None
        if resource not in self.records:
            return self.reply(h, 404, b'{"errors":"Not Found"}')
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if "page_info" not in query:
            with self.lock:
                self.queries.append((resource, dict(query)))
        limit = int(query.pop("limit", 50))
        if "page_info" in query:
            if set(query) != {"page_info"}:
                return self.reply(h, 400, b'{"errors":{"page_info":["page_info cannot be combined"]}}')
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
        else:
            state = self._first_page_state(resource, query)
            if isinstance(state, tuple):
                return self.reply(h, *state)
            state.update(offset=0, page=1)
        key = (resource, state["page"])
        with self.lock:
            pending = self.faults.get(key)
            fault = pending.pop(0) if pending else None
        if fault:
            status, headers = fault
            return self.reply(h, status, b'{"errors":"try again"}', headers)
        matching = self._matching(resource, state)
        offset = state["offset"]
        page = matching[offset:offset + limit]
        body = json.dumps({resource: page}).encode()
        headers = {"X-Shopify-Shop-Api-Call-Limit": self.call_limit.get(key, "1/40")}
        if offset + limit < len(matching):
            token = base64.urlsafe_b64encode(json.dumps(
                dict(state, offset=offset + limit, page=state["page"] + 1)).encode()).decode()
            link = f"<{self.base}{parts.path}?limit={limit}&page_info={token}>; rel=\"next\""
            if offset:
                link = f"<{self.base}{parts.path}?limit={limit}&page_info=prev>; rel=\"previous\", " + link
            headers["Link"] = link
        with self.lock:
            self.served.append((resource, f"{state['since']}|{state['locations']}|{offset}", body))
        self.reply(h, 200, body, headers)


def config(fake: FakeShopify, **kw) -> ShopifyConfig:
    values = dict(access_token=TOKEN, api_base=fake.base, api_version=VERSION, limit=3,
                  backoff_base=0.01, backoff_max=0.05, leak_rate=1000.0, start_date=START_DATE)
    values.update(kw)
    return ShopifyConfig(**values)


def seed(fake: FakeShopify, counts: dict[str, int], start_id: int, updated: datetime) -> dict[str, list[int]]:
    ids = {}
    for resource, n in counts.items():
        ids[resource] = [start_id + i for i in range(n)]
        for i, rid in enumerate(ids[resource]):
            fake.records[resource].append(make_record(resource, rid, updated + timedelta(minutes=i)))
    return ids


def seed_levels(fake: FakeShopify, items: list[int], updated: datetime, available: int = 5) -> list[dict]:
    """A level for every item at every location the fake has, a minute apart."""
    added = []
    for location in [r["id"] for r in fake.records["locations"]]:
        for item in items:
            added.append(make_level(item, location, available, updated + timedelta(minutes=len(added))))
    fake.records["inventory_levels"] += added
    return added
