"""The Shopify connector against a local server that plays the Admin REST API over real HTTP:
cursor pagination with Link headers, a 429 with Retry-After, a 500 once, the call-limit header."""

from __future__ import annotations

import base64
import copy
import json
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from retention.ingest import ingest_day
from retention.live.shopify_api import ShopifyConfig, ShopifyError, cursor_path, pull_shopify
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES

UTC = timezone.utc
TOKEN = "shpat_test_token_not_a_secret"
VERSION = "2026-07"
DAY1, DAY2 = date(2026, 7, 14), date(2026, 7, 15)
TEMPLATES = {
    "customers": ("customers_list.json", "customers"),
    "orders": ("orders_list_status_any.json", "orders"),
    "products": ("products_list.json", "products"),
    "checkouts": ("abandoned_checkouts.json", "checkouts"),
}
BASE_TIME = (datetime.now(UTC) - timedelta(days=20)).replace(hour=12, minute=0, second=0, microsecond=0)
START_DATE = (BASE_TIME - timedelta(days=10)).date().isoformat()


def template(resource: str) -> dict:
    name, key = TEMPLATES[resource]
    return json.loads((PROVIDER_FIXTURES / "shopify" / name).read_text())[key][0]


def make_record(resource: str, rid: int, updated: datetime) -> dict:
    rec = copy.deepcopy(template(resource))
    rec["id"] = rid
    rec["created_at"] = (BASE_TIME - timedelta(days=30)).isoformat()
    rec["updated_at"] = updated.astimezone(timezone(timedelta(hours=-4))).isoformat()  # Shopify's offsets
    return rec


class FakeShopify:
    """Records by resource, served like Shopify: ``updated_at_min`` (inclusive), ``limit``,
    opaque ``page_info`` cursors that refuse other filters, Link headers, call-limit header."""

    def __init__(self, limit_cap: int = 250):
        self.records: dict[str, list[dict]] = {r: [] for r in TEMPLATES}
        self.served: list[tuple[str, str, bytes]] = []  # (resource, page key, body) of each 200
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
        limit = int(query.pop("limit", 50))
        if "page_info" in query:
            if set(query) != {"page_info"}:
                return self.reply(h, 400, b'{"errors":{"page_info":["page_info cannot be combined"]}}')
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            since, offset, page_no = state["since"], state["offset"], state["page"]
        else:
            if resource == "orders" and query.get("status") != "any":
                return self.reply(h, 400, b'{"errors":"expected status=any"}')
            since, offset, page_no = query.get("updated_at_min"), 0, 1
            until = query.get("updated_at_max")
            if until and since and datetime.fromisoformat(until) < datetime.fromisoformat(since):
                return self.reply(h, 400, b'{"errors":"updated_at_max before updated_at_min"}')
            since = f"{since or ''}|{until or ''}"
        key = (resource, page_no)
        with self.lock:
            pending = self.faults.get(key)
            fault = pending.pop(0) if pending else None
        if fault:
            status, headers = fault
            return self.reply(h, status, b'{"errors":"try again"}', headers)
        low, high = since.split("|")
        low_ts = datetime.fromisoformat(low) if low else None
        high_ts = datetime.fromisoformat(high) if high else None
        matching = sorted((r for r in self.records[resource]
                           if (low_ts is None or datetime.fromisoformat(r["updated_at"]) >= low_ts)
                           and (high_ts is None or datetime.fromisoformat(r["updated_at"]) <= high_ts)),
                          key=lambda r: r["id"])
        page = matching[offset:offset + limit]
        body = json.dumps({resource: page}).encode()
        headers = {"X-Shopify-Shop-Api-Call-Limit": self.call_limit.get(key, "1/40")}
        if offset + limit < len(matching):
            token = base64.urlsafe_b64encode(json.dumps(
                {"since": since, "offset": offset + limit, "page": page_no + 1}).encode()).decode()
            link = f"<{self.base}{parts.path}?limit={limit}&page_info={token}>; rel=\"next\""
            if offset:
                link = f"<{self.base}{parts.path}?limit={limit}&page_info=prev>; rel=\"previous\", " + link
            headers["Link"] = link
        with self.lock:
            self.served.append((resource, f"{since}|{offset}", body))
        self.reply(h, 200, body, headers)


def config(fake: FakeShopify, **kw) -> ShopifyConfig:
    values = dict(access_token=TOKEN, api_base=fake.base, api_version=VERSION, limit=3,
                  backoff_base=0.01, backoff_max=0.05, leak_rate=1000.0, start_date=START_DATE)
    values.update(kw)
    return ShopifyConfig(**values)


def inbox_pages(data_dir: DataDir, day: date) -> dict[str, bytes]:
    folder = data_dir.inbox_day("shopify", day)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def seed(fake: FakeShopify, counts: dict[str, int], start_id: int, updated: datetime) -> dict[str, list[int]]:
    ids = {}
    for resource, n in counts.items():
        ids[resource] = [start_id + i for i in range(n)]
        for i, rid in enumerate(ids[resource]):
            fake.records[resource].append(make_record(resource, rid, updated + timedelta(minutes=i)))
    return ids


def test_backfill_then_incremental(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        # before the configured start date: never fetched
        seed(fake, {"customers": 2, "orders": 2}, 100, BASE_TIME - timedelta(days=40))
        first = seed(fake, {"customers": 7, "orders": 8, "products": 4, "checkouts": 2}, 1000, BASE_TIME)
        fake.faults[("orders", 2)] = [(429, {"Retry-After": "0.05"})]
        fake.faults[("customers", 2)] = [(500, {})]
        fake.call_limit[("products", 1)] = "39/40"

        summary = pull_shopify(data_dir, DAY1, config(fake))

        assert summary.resources["customers"].records == 7 and summary.resources["customers"].pages == 3
        assert summary.resources["orders"].records == 8 and summary.resources["orders"].pages == 3
        assert summary.resources["products"].records == 4 and summary.resources["checkouts"].records == 2
        assert summary.retries == 2
        # every page fetched exactly once (a fault is not a page), written byte for byte
        keys = [(r, k) for r, k, _ in fake.served]
        assert len(keys) == len(set(keys)) == summary.pages
        written = inbox_pages(data_dir, DAY1)
        assert sorted(written) == sorted(f"{r}-{n:04d}.json" for r, s in summary.resources.items()
                                         for n in range(1, s.pages + 1))
        served_by_resource = {}
        for resource, _, body in fake.served:
            served_by_resource.setdefault(resource, []).append(body)
        for resource, bodies in served_by_resource.items():
            assert [written[f"{resource}-{n:04d}.json"] for n in range(1, len(bodies) + 1)] == bodies
        fetched_ids = {r: [x["id"] for b in bodies for x in json.loads(b)[r]] for r, bodies in served_by_resource.items()}
        assert fetched_ids == {r: ids for r, ids in first.items()}

        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        newest_order = max(fake.records["orders"], key=lambda r: datetime.fromisoformat(r["updated_at"]))
        assert cursors["orders"]["updated_at_min"] == newest_order["updated_at"]

        report = ingest_day(data_dir, "shopify", DAY1)
        assert report.quarantined == 0
        assert report.tables["customers"].landed == 7 and report.tables["orders"].landed == 8
        assert report.tables["products"].landed == 4 and report.tables["checkouts"].landed == 2

        # second run: one order updated later, new customers; only records at/after the cursors come
        fake.served.clear()
        later = BASE_TIME + timedelta(days=1)
        fake.records["orders"][3]["updated_at"] = later.isoformat()
        new = seed(fake, {"customers": 4}, 5000, later)
        summary2 = pull_shopify(data_dir, DAY2, config(fake))
        fetched = {}
        for resource, _, body in fake.served:
            fetched.setdefault(resource, []).extend(x["id"] for x in json.loads(body)[resource])
        boundary = {r: {x["id"] for x in fake.records[r] if x["updated_at"] == cursors[r]["updated_at_min"]}
                    for r in cursors}
        assert set(fetched["customers"]) == set(new["customers"]) | boundary["customers"]
        assert set(fetched["orders"]) == {fake.records["orders"][3]["id"]} | boundary["orders"]
        assert set(fetched["products"]) == boundary["products"]
        assert summary2.records == sum(len(v) for v in fetched.values())
        assert ingest_day(data_dir, "shopify", DAY2).quarantined == 0


def test_records_newer_than_the_run_wait_for_the_next_run(tmp_path):
    data_dir = DataDir(tmp_path)
    now = datetime.now(UTC)
    with FakeShopify() as fake:
        seed(fake, {"customers": 2}, 1000, now - timedelta(hours=1))
        seed(fake, {"customers": 1}, 2000, now + timedelta(seconds=5))  # updated while we page
        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("customers",), settle_seconds=0))
        assert summary.records == 2
        cursor = json.loads(cursor_path(data_dir).read_text())["resources"]["customers"]["updated_at_min"]
        assert datetime.fromisoformat(cursor) < now


def test_same_day_rerun_appends_pages(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"customers": 4}, 1000, BASE_TIME)
        cfg = config(fake, resources=("customers",))
        pull_shopify(data_dir, DAY1, cfg)
        seed(fake, {"customers": 1}, 2000, BASE_TIME + timedelta(days=2))
        pull_shopify(data_dir, DAY1, cfg)
        assert sorted(inbox_pages(data_dir, DAY1)) == [f"customers-{n:04d}.json" for n in (1, 2, 3)]


def test_failure_keeps_cursor(tmp_path):
    data_dir = DataDir(tmp_path)
    with FakeShopify() as fake:
        seed(fake, {"customers": 2, "products": 5}, 1000, BASE_TIME)
        fake.faults[("products", 2)] = [(503, {})] * 10
        with pytest.raises(ShopifyError) as err:
            pull_shopify(data_dir, DAY1, config(fake, resources=("customers", "products"), max_retries=3))
        assert TOKEN not in str(err.value)
        cursors = json.loads(cursor_path(data_dir).read_text())["resources"]
        assert "customers" in cursors and "products" not in cursors
        # the next run starts products over from the start date and completes
        fake.faults.clear()
        fake.served.clear()
        summary = pull_shopify(data_dir, DAY1, config(fake, resources=("products",)))
        assert summary.resources["products"].records == 5
        assert "products" in json.loads(cursor_path(data_dir).read_text())["resources"]


def test_bad_token_fails_without_leaking(tmp_path):
    with FakeShopify() as fake:
        with pytest.raises(ShopifyError) as err:
            pull_shopify(DataDir(tmp_path), DAY1, config(fake, access_token="wrong-token-value"))
        assert "401" in str(err.value) and "wrong-token-value" not in str(err.value)
        assert not cursor_path(DataDir(tmp_path)).exists()
