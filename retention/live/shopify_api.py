"""Shopify Admin REST connector: customers, orders (``status=any``; refunds and fulfilments come
embedded in each order), products, abandoned checkouts, locations and inventory levels,
incremental by ``updated_at``.

    summary = pull_shopify(data_dir, day, ShopifyConfig.from_mapping(settings))
    python -m retention.live.shopify_graphql --api rest --day 2026-07-14 [--data-dir ./data]

- Environment: ``SHOPIFY_STORE_DOMAIN`` (``shop.myshopify.com``), ``SHOPIFY_ACCESS_TOKEN``,
  optional ``SHOPIFY_API_VERSION`` (default 2026-07), ``SHOPIFY_API_BASE`` (overrides
  ``https://<domain>``, e.g. a local test server), ``SHOPIFY_START_DATE`` (first-run backfill start,
  ISO date or timestamp; unset = everything), ``SHOPIFY_RESOURCES`` (comma list).
- Pages are written UNCHANGED (the exact response bytes) to
  ``inbox/shopify/<day>/<resource>-<NNNN>.json``, each atomically; numbering continues after the
  pages already in the folder, so a second run on the same day adds pages instead of replacing.
- Cursor pagination: the first request carries ``updated_at_min`` (the cursor), ``updated_at_max``
  (the run's start minus ``settle_seconds``) and ``limit=250``; the next ones
  follow the ``Link: <...page_info=...>; rel="next"`` header (on the configured host only: the
  token is never sent elsewhere).
- Cursors: ``<data>/state/shopify_cursors.json`` (atomic), per resource the greatest
  ``updated_at`` seen. A resource's cursor advances only after all its pages are on disk; a failed
  run leaves it where it was, so the next run fetches those records again (staging keeps the
  latest version of a record, duplicates are harmless). ``updated_at_min`` is inclusive, so
  records updated in the cursor's very second come again.
- Inventory: ``locations.json`` takes no filters, so every run fetches the whole (short) list; its
  cursor only records the newest ``updated_at`` seen. ``inventory_levels.json`` must name its
  locations: it is asked per group of at most 50 location ids (those of this run's location list,
  which is pulled first whenever levels are) with ``updated_at_min`` but no ``updated_at_max`` (the
  endpoint has none), so its cursor never moves past the run's upper bound.
- Rate limits: a 429 waits ``Retry-After``; ``X-Shopify-Shop-Api-Call-Limit: used/bucket`` above
  ``call_limit_threshold`` of the bucket slows down by the time the bucket needs to leak back.
  5xx, timeouts and connection resets are retried with exponential backoff and full jitter, at
  most ``max_retries`` times. Other 4xx fail the run (the message never carries the token).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from retention.live.inbox_writer import read_json, write_atomic, write_json_atomic
from retention.paths import DataDir

log = logging.getLogger("retention.live.shopify")
DEFAULT_API_VERSION = "2026-07"


def shop_settings(env: Mapping[str, str]) -> dict:
    """The shop's connection settings from values named after the environment variables (both APIs)."""
    values = dict(
        store_domain=env.get("SHOPIFY_STORE_DOMAIN") or None,
        access_token=env.get("SHOPIFY_ACCESS_TOKEN") or None,
        api_version=env.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION,
        api_base=env.get("SHOPIFY_API_BASE") or None,
        start_date=env.get("SHOPIFY_START_DATE") or None,
    )
    if env.get("SHOPIFY_RESOURCES"):
        values["resources"] = tuple(r.strip() for r in env["SHOPIFY_RESOURCES"].split(",") if r.strip())
    return values


@dataclass(frozen=True)
class Endpoint:
    """One list endpoint and what it accepts."""

    path: str
    key: str  # the page's top-level key
    params: dict = field(default_factory=dict)  # extra first-page parameters
    filters: bool = True  # takes limit and updated_at_min
    upper_bound: bool = True  # takes updated_at_max


RESOURCES: dict[str, Endpoint] = {
    "customers": Endpoint("customers.json", "customers"),
    "orders": Endpoint("orders.json", "orders", {"status": "any"}),
    "products": Endpoint("products.json", "products"),
    "checkouts": Endpoint("checkouts.json", "checkouts"),  # abandoned checkouts
    "locations": Endpoint("locations.json", "locations", filters=False),
    "inventory_levels": Endpoint("inventory_levels.json", "inventory_levels", upper_bound=False),
}
LOCATION_IDS_PER_REQUEST = 50  # Shopify's maximum for location_ids
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
RETRYABLE_STATUS = {500, 502, 503, 504, 520, 522, 524}


class ShopifyError(RuntimeError):
    pass


@dataclass
class ShopifyConfig:
    store_domain: str | None = None
    access_token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    api_base: str | None = None
    start_date: str | None = None
    resources: tuple[str, ...] = tuple(RESOURCES)
    limit: int = 250
    timeout: float = 30.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    call_limit_threshold: float = 0.8
    leak_rate: float = 2.0  # requests/s the bucket drains (standard plan; Plus is 20)
    settle_seconds: float = 60.0  # updated_at_max = run start minus this (clock skew, late commits)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides) -> ShopifyConfig:
        """From settings named after the environment variables (SHOPIFY_STORE_DOMAIN and friends)."""
        values = shop_settings(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def base_url(self) -> str:
        if self.api_base:
            return self.api_base.rstrip("/")
        if not self.store_domain:
            raise ShopifyError("SHOPIFY_STORE_DOMAIN (or SHOPIFY_API_BASE) is not set")
        return f"https://{self.store_domain}"


@dataclass
class ResourceSummary:
    pages: int = 0
    records: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    files: list[str] = field(default_factory=list)


@dataclass
class ShopifySummary:
    day: date
    resources: dict[str, ResourceSummary]
    seconds: float
    requests: int
    retries: int
    throttled_seconds: float

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.resources.values())

    @property
    def records(self) -> int:
        return sum(r.records for r in self.resources.values())

    def as_metadata(self) -> dict:
        return {
            "day": self.day.isoformat(), "pages": self.pages, "records": self.records,
            "seconds": round(self.seconds, 3), "requests": self.requests, "retries": self.retries,
            "throttled_seconds": round(self.throttled_seconds, 3),
            **{f"{name}_records": r.records for name, r in self.resources.items()},
            **{f"{name}_pages": r.pages for name, r in self.resources.items()},
        }


def cursor_path(data_dir: DataDir) -> Path:
    return data_dir.root / "state" / "shopify_cursors.json"


def _parse_ts(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _start_value(start: str | None) -> str | None:
    if not start:
        return None
    if len(start) == 10:  # a date: midnight UTC
        return f"{start}T00:00:00+00:00"
    return _parse_ts(start).isoformat()


class _Client:
    """One keep-alive connection to the shop, with retries, backoff and throttling."""

    def __init__(self, config: ShopifyConfig, sleep=time.sleep):
        if not config.access_token:
            raise ShopifyError("SHOPIFY_ACCESS_TOKEN is not set")
        self.config = config
        parts = urlsplit(config.base_url())
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.sleep = sleep
        self.conn: http.client.HTTPConnection | None = None
        self.requests = self.retries = 0
        self.throttled = 0.0

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.netloc, timeout=self.config.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.throttled += seconds
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_base * (2 ** attempt))
        return random.uniform(cap / 2, cap)  # "equal jitter": never zero, never above the cap

    def get(self, target: str) -> tuple[bytes, http.client.HTTPMessage]:
        """GET ``target`` (path and query, under the API prefix) and return (body, headers)."""
        headers = {"X-Shopify-Access-Token": self.config.access_token, "Accept": "application/json",
                   "User-Agent": "retention-pipeline"}
        attempt = 0
        while True:
            self.requests += 1
            try:
                conn = self._connect()
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                status, resp_headers = resp.status, resp.headers
                if resp.will_close:
                    self.close()
            except (ConnectionError, TimeoutError, http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt >= self.config.max_retries:
                    raise ShopifyError(f"GET {urlsplit(target).path} failed after {attempt + 1} attempts: "
                                       f"{type(exc).__name__}") from None
                self.retries += 1
                self._pause(self._backoff(attempt))
                attempt += 1
                continue
            self._respect_call_limit(resp_headers)
            if status == 200:
                return body, resp_headers
            if status == 429 or status in RETRYABLE_STATUS:
                if attempt >= self.config.max_retries:
                    raise ShopifyError(f"GET {urlsplit(target).path} answered {status} after {attempt + 1} attempts")
                self.retries += 1
                wait = self._backoff(attempt)
                if status == 429:
                    try:
                        wait = min(float(resp_headers.get("Retry-After", "")), self.config.max_retry_after)
                    except ValueError:
                        wait = max(wait, 1.0)
                self._pause(wait)
                attempt += 1
                continue
            raise ShopifyError(f"GET {urlsplit(target).path} answered {status}: {body[:200]!r}")

    def _respect_call_limit(self, headers) -> None:
        value = headers.get("X-Shopify-Shop-Api-Call-Limit")
        if not value or "/" not in value:
            return
        try:
            used, bucket = (int(x) for x in value.split("/", 1))
        except ValueError:
            return
        allowed = bucket * self.config.call_limit_threshold
        if bucket > 0 and used >= allowed:
            self._pause((used - allowed + 1) / self.config.leak_rate)


def _next_target(link: str | None, client: _Client) -> str | None:
    if not link:
        return None
    match = _LINK_NEXT.search(link)
    if not match:
        return None
    parts = urlsplit(match.group(1))
    if parts.netloc and parts.netloc != client.netloc:
        log.info("Link next points to another host; following its path on the configured host")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _next_number(folder: Path, resource: str) -> int:
    pattern = re.compile(rf"{re.escape(resource)}-(\d+)\.json\Z")
    numbers = [int(m.group(1)) for p in folder.glob(f"{resource}-*.json") if (m := pattern.match(p.name))]
    return max(numbers, default=0) + 1


def _first_params(endpoint: Endpoint, limit: int, cursor: str | None, until: str | None, extra: dict) -> dict:
    if not endpoint.filters:
        return {**endpoint.params, **extra}
    params = {**endpoint.params, **extra, "limit": limit}
    if cursor:
        params["updated_at_min"] = cursor
    if until and endpoint.upper_bound:
        params["updated_at_max"] = until
    return params


def pull_resource(client: _Client, data_dir: DataDir, day: date, resource: str, cursor: str | None,
                  until: str | None = None, extra: dict | None = None) -> ResourceSummary:
    endpoint = RESOURCES[resource]
    key = endpoint.key
    config = client.config
    folder = data_dir.inbox_day("shopify", day)
    number = _next_number(folder, resource)
    params = _first_params(endpoint, config.limit, cursor, until, extra or {})
    query = f"?{urlencode(params)}" if params else ""
    target = f"{client.prefix}/admin/api/{config.api_version}/{endpoint.path}{query}"
    summary = ResourceSummary(cursor_before=cursor)
    newest, newest_text = (_parse_ts(cursor), cursor) if cursor else (None, None)
    while target:
        body, headers = client.get(target)
        try:
            doc = json.loads(body)
            records = doc[key]
            if not isinstance(records, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise ShopifyError(f"{resource}: a 200 page that is not {{\"{key}\": [...]}}") from None
        path = write_atomic(folder / f"{resource}-{number:04d}.json", body)
        summary.files.append(path.relative_to(data_dir.inbox).as_posix())
        number += 1
        summary.pages += 1
        summary.records += len(records)
        for record in records:
            value = record.get("updated_at") if isinstance(record, dict) else None
            if isinstance(value, str):
                try:
                    ts = _parse_ts(value)
                except ValueError:
                    continue
                if newest is None or ts > newest:
                    newest, newest_text = ts, value
        target = _next_target(headers.get("Link"), client)
    summary.cursor_after = newest_text
    return summary


def location_ids(data_dir: DataDir, summary: ResourceSummary) -> list[int]:
    """The ids on the location pages this run wrote (read back: the pages are the record)."""
    ids = []
    for rel in summary.files:
        for record in json.loads((data_dir.inbox / rel).read_bytes())["locations"]:
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                ids.append(record["id"])
    return sorted(set(ids))


def pull_inventory_levels(client: _Client, data_dir: DataDir, day: date, cursor: str | None, until: str,
                          locations: list[int]) -> ResourceSummary:
    """Levels of every location, a group of location ids per request, pages numbered on."""
    total = ResourceSummary(cursor_before=cursor)
    newest = _parse_ts(cursor) if cursor else None
    for start in range(0, len(locations), LOCATION_IDS_PER_REQUEST):
        group = ",".join(str(i) for i in locations[start:start + LOCATION_IDS_PER_REQUEST])
        part = pull_resource(client, data_dir, day, "inventory_levels", cursor, until, {"location_ids": group})
        total.pages += part.pages
        total.records += part.records
        total.files += part.files
        if part.cursor_after and (newest is None or _parse_ts(part.cursor_after) > newest):
            newest, total.cursor_after = _parse_ts(part.cursor_after), part.cursor_after
    # no updated_at_max on this endpoint: a level updated while we paged may have been missed,
    # so the cursor stops at the run's upper bound and the next run asks again from there
    if newest is not None and newest > _parse_ts(until):
        total.cursor_after = until
    return total


def _in_pull_order(resources: tuple[str, ...]) -> list[str]:
    """Levels need this run's location ids: locations come first whenever levels are asked for."""
    order = list(resources)
    if "inventory_levels" in order:
        if "locations" in order:
            order.remove("locations")
        order.insert(order.index("inventory_levels"), "locations")
    return order


def pull_shopify(data_dir: DataDir, day: date, config: ShopifyConfig | None = None, *, sleep=time.sleep) -> ShopifySummary:
    """Fetch every resource updated since its cursor into ``inbox/shopify/<day>/``; advance cursors."""
    config = config or ShopifyConfig()
    unknown = [r for r in config.resources if r not in RESOURCES]
    if unknown:
        raise ShopifyError(f"unknown Shopify resources {unknown}; known: {', '.join(RESOURCES)}")
    started = time.monotonic()
    state_file = cursor_path(data_dir)
    state = read_json(state_file, {"version": 1, "resources": {}})
    client = _Client(config, sleep=sleep)
    # the upper bound: a record updated while we page gets a later updated_at and comes next run,
    # instead of hiding behind a cursor moved past it by a record on a later page
    until = (datetime.now(UTC) - timedelta(seconds=config.settle_seconds)).isoformat(timespec="seconds")
    results: dict[str, ResourceSummary] = {}
    try:
        for resource in _in_pull_order(config.resources):
            saved = state["resources"].get(resource, {})
            cursor = saved.get("updated_at_min") or _start_value(config.start_date)
            if resource == "inventory_levels":
                ids = location_ids(data_dir, results["locations"])
                summary = pull_inventory_levels(client, data_dir, day, cursor, until, ids)
            else:
                summary = pull_resource(client, data_dir, day, resource, cursor, until)
            results[resource] = summary
            if summary.cursor_after and summary.cursor_after != saved.get("updated_at_min"):
                state["resources"][resource] = {
                    "updated_at_min": summary.cursor_after, "api_version": config.api_version,
                    "last_run_day": day.isoformat(), "advanced_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                write_json_atomic(state_file, state)  # only now: every page of the resource is on disk
            log.info("shopify %s: %d pages, %d records", resource, summary.pages, summary.records)
    finally:
        client.close()
    return ShopifySummary(day=day, resources=results, seconds=time.monotonic() - started,
                          requests=client.requests, retries=client.retries, throttled_seconds=client.throttled)
