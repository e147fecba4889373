"""``POST /admin/api/<version>/graphql.json`` with cost-based throttling and retries.

- Cost: every response's ``extensions.cost`` carries ``requestedQueryCost`` and ``throttleStatus``
  (``maximumAvailable``, ``currentlyAvailable``, ``restoreRate`` points a second). The client keeps
  the bucket as of that moment and, before the next query, waits until the bucket has restored the
  points that query is expected to need (its last requested cost, or ``default_cost``).
- ``errors[].extensions.code == "THROTTLED"`` (HTTP 200): wait for the points (from the cost in
  the same response, else backoff) and retry. 429, 5xx, timeouts and resets: backoff with jitter
  (``Retry-After`` honoured), at most ``max_retries`` times. Other GraphQL errors, and other HTTP
  statuses, raise ``ShopifyGraphQLError`` naming the resource; the token is never in a message.
- Time: sleeps and the bucket's clock go through ``clock`` (``now()``/``sleep()``), so tests
  inject a fake clock and never wait.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import time
from urllib.parse import urlsplit

from retention.live.shopify_api import ShopifyError

RETRYABLE_STATUS = {429, 500, 502, 503, 504, 520, 522, 524}
NETWORK_ERRORS = (ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException, OSError)


class ShopifyGraphQLError(ShopifyError):
    def __init__(self, message: str, codes: tuple[str, ...] = ()):
        super().__init__(message)
        self.codes = codes


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Bucket:
    """The cost bucket as last reported, restoring at ``rate`` points a second since ``at``."""

    def __init__(self, maximum: float, available: float, rate: float, at: float):
        self.maximum, self.available, self.rate, self.at = maximum, available, rate, at

    def available_at(self, now: float) -> float:
        return min(self.maximum, self.available + max(0.0, now - self.at) * self.rate)

    def wait_for(self, points: float, now: float) -> float:
        """Seconds until ``points`` are available (0 if they are, or if the query could never fit)."""
        need = min(points, self.maximum)
        missing = need - self.available_at(now)
        return missing / self.rate if missing > 0 and self.rate > 0 else 0.0


def throttle_status(doc) -> tuple[float, float, float, float] | None:
    """(requestedQueryCost, maximumAvailable, currentlyAvailable, restoreRate) of a response, or None."""
    try:
        cost = doc["extensions"]["cost"]
        status = cost["throttleStatus"]
        return (float(cost.get("requestedQueryCost") or 0), float(status["maximumAvailable"]),
                float(status["currentlyAvailable"]), float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError):
        return None


def error_codes(doc) -> list[str]:
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(((e.get("extensions") or {}).get("code")) or "") for e in errors if isinstance(e, dict)]


def error_text(doc) -> str:
    errors = doc.get("errors")
    if isinstance(errors, str):
        return errors[:300]
    parts = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):
            code = (e.get("extensions") or {}).get("code")
            parts.append(f"{e.get('message')}" + (f" [{code}]" if code else ""))
    return "; ".join(parts)[:500] or "unreadable errors"


class GraphQLClient:
    def __init__(self, config, clock=None):
        if not config.access_token:
            raise ShopifyGraphQLError("SHOPIFY_ACCESS_TOKEN is not set")
        self.config = config
        parts = urlsplit(config.base_url())
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.path = f"{parts.path.rstrip('/')}/admin/api/{config.api_version}/graphql.json"
        self.clock = clock or SystemClock()
        self.conn: http.client.HTTPConnection | None = None
        self.requests = self.retries = 0
        self.throttled = 0.0
        self.bucket: Bucket | None = None
        self.expected_cost: dict[str, float] = {}  # query text -> last requested cost
        self.waits: list[float] = []  # every pause, for the logs and the tests

    # -- plumbing ----------------------------------------------------------------------------
    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.netloc, timeout=self.config.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self.throttled += seconds
            self.waits.append(seconds)
            self.clock.sleep(seconds)

    def backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_base * (2 ** attempt))
        return random.uniform(cap / 2, cap)

    def _retry(self, attempt: int, resource: str, what: str, wait: float | None = None) -> None:
        if attempt >= self.config.max_retries:
            raise ShopifyGraphQLError(f"{resource}: {what} after {attempt + 1} attempts")
        self.retries += 1
        self.pause(self.backoff(attempt) if wait is None else wait)

    def _wait_for_points(self, query: str) -> None:
        if self.bucket is not None:
            need = self.expected_cost.get(query, self.config.default_cost)
            self.pause(self.bucket.wait_for(need, self.clock.now()))

    def _note_cost(self, query: str, doc) -> float | None:
        status = throttle_status(doc)
        if status is None:
            return None
        requested, maximum, available, rate = status
        self.bucket = Bucket(maximum, available, rate, self.clock.now())
        if requested:
            self.expected_cost[query] = requested
        return requested

    # -- one query ---------------------------------------------------------------------------
    def execute(self, query: str, variables: dict | None, resource: str) -> tuple[bytes, dict]:
        """(response bytes, parsed document) of a successful query; ``data`` is present."""
        payload = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"X-Shopify-Access-Token": self.config.access_token, "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": "retention-pipeline"}
        attempt = 0
        while True:
            self._wait_for_points(query)
            self.requests += 1
            try:
                conn = self._connect()
                conn.request("POST", self.path, body=payload, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                status, resp_headers = resp.status, resp.headers
                if resp.will_close:
                    self.close()
            except NETWORK_ERRORS as exc:
                self.close()
                self._retry(attempt, resource, f"POST graphql.json failed ({type(exc).__name__})")
                attempt += 1
                continue
            if status in RETRYABLE_STATUS:
                wait = None
                if status == 429:
                    try:
                        wait = min(float(resp_headers.get("Retry-After", "")), self.config.max_retry_after)
                    except ValueError:
                        wait = None
                self._retry(attempt, resource, f"graphql.json answered {status}", wait)
                attempt += 1
                continue
            if status != 200:
                raise ShopifyGraphQLError(f"{resource}: graphql.json answered {status}: {body[:200]!r}")
            try:
                doc = json.loads(body)
                if not isinstance(doc, dict):
                    raise ValueError
            except ValueError:
                raise ShopifyGraphQLError(f"{resource}: a 200 response that is not a JSON object") from None
            requested = self._note_cost(query, doc)
            codes = error_codes(doc)
            if "THROTTLED" in codes:
                wait = None
                if self.bucket is not None and requested:
                    wait = self.bucket.wait_for(requested, self.clock.now())
                self._retry(attempt, resource, "THROTTLED", wait)
                attempt += 1
                continue
            if doc.get("errors"):
                raise ShopifyGraphQLError(f"{resource}: GraphQL errors: {error_text(doc)}", tuple(codes))
            if not isinstance(doc.get("data"), dict):
                raise ShopifyGraphQLError(f"{resource}: a response without \"data\"")
            return body, doc


def download(url: str, write, config, clock, resource: str) -> None:
    """GET a bulk result (a signed storage URL: never sent the shop's token) into ``write(chunk)``
    calls; 5xx and network errors retried with backoff (``write`` must restart on ``write(None)``)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    attempt = 0
    while True:
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.netloc, timeout=config.timeout)
        try:
            conn.request("GET", target, headers={"User-Agent": "retention-pipeline"})
            resp = conn.getresponse()
            if resp.status == 200:
                write(None)
                while chunk := resp.read(1 << 20):
                    write(chunk)
                return
            status = resp.status
            resp.read()
        except NETWORK_ERRORS as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        if status not in RETRYABLE_STATUS and not isinstance(status, str):
            raise ShopifyGraphQLError(f"{resource}: the bulk result download answered {status}")
        if attempt >= config.max_retries:
            raise ShopifyGraphQLError(f"{resource}: the bulk result download failed ({status}) "
                                      f"after {attempt + 1} attempts")
        cap = min(config.backoff_max, config.backoff_base * (2 ** attempt))
        clock.sleep(random.uniform(cap / 2, cap))
        attempt += 1
