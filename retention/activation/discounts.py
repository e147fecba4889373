"""Discount codes in the store: what the messages promise must exist before they leave.

    store = ShopifyDiscounts("shop.myshopify.com", token, "2026-07")       # live
    store = OutboxDiscounts(outbox_dir)                                    # no credentials
    issuer = CodeIssuer(ledger, store)
    outcome = issuer.ensure(campaign, ["CART-7K2M4Q9XPA3B", ...], now)    # code -> CodeOutcome

One store discount per campaign, percentage and renewal window (``discount_spec``): created once
with the Admin GraphQL API's ``discountCodeBasicCreate`` (title from the campaign, the policy's
percentage on every item, ``usageLimit: 1``, ``appliesOncePerCustomer: true``, ``endsAt`` from
``expires_after_days``; referral codes share one discount per campaign with no end and the policy's
``uses`` as each code's limit), then the recipients' codes added to it in bulk with
``discountRedeemCodeBulkAdd`` (at most 250 codes a call in the 2025-10 reference, 100 in the
2024-01 one: the client uses 250 from 2025-10 on and 100 before, the safe side).
Shopify creates bulk codes asynchronously: ``discountRedeemCodeBulkCreation(id)`` is polled until
``done`` and its ``codes { code errors }`` tell which codes failed.

The discount's own ``code`` (the mutation requires one) is an anchor derived like the recipients'
codes (HMAC, see coupons.py) and given to nobody; it is how a discount whose creation was in
doubt is found again (``codeDiscountNodeByCode``).

Idempotent across crashes (``CodeIssuer``): the ledger's ``store_discounts`` and ``store_codes``
tables record each request as ``requested`` and COMMIT before it leaves, then ``created`` (or
``outbox``, or ``rejected`` with the store's reason). A code still ``requested`` is in doubt: the
next run looks it up in the store rather than adding it again. Codes are unique in a shop, so even a
repeated request cannot create a second one; a code the store calls taken is looked up too.

Pure library: the shop, token, API version and base URL are constructor arguments.
Privacy: logs carry counts and hashes, never codes.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from retention.activation.campaigns import Campaign
from retention.activation.coupons import coupon_code
from retention.activation.ledger import Ledger
from retention.live.inbox_writer import write_atomic

log = logging.getLogger("retention.activation.discounts")
EPOCH = date(1970, 1, 1)
ANCHOR_CUSTOMER = "store-discount"  # the anchor code's "customer": no customer key looks like this
RETRYABLE_STATUS = {429, 500, 502, 503, 504, 520, 522, 524}
CODES_PER_REQUEST_BEFORE_2025_10 = 100
CODES_PER_REQUEST = 250

CREATE_DISCOUNT = """mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { code field message }
  }
}"""
ADD_CODES = """mutation discountRedeemCodeBulkAdd($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation { id }
    userErrors { code field message }
  }
}"""
BULK_CREATION = """query discountRedeemCodeBulkCreation($id: ID!, $first: Int!) {
  discountRedeemCodeBulkCreation(id: $id) {
    id
    done
    codesCount
    importedCount
    failedCount
    codes(first: $first) {
      nodes { code errors { code field message } discountRedeemCode { id } }
    }
  }
}"""
FIND_CODE = """query codeDiscountNodeByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}"""


class StoreUnavailable(RuntimeError):
    """The store did not answer as needed (network, 5xx or 429 after retries, a bulk creation that
    never finished). Nothing is known to be rejected: the codes wait for the next run."""


class DiscountRejected(RuntimeError):
    """The store refused to create the discount (``userErrors``)."""


def max_codes_per_request(api_version: str) -> int:
    """Codes per ``discountRedeemCodeBulkAdd``: 250 from 2025-10 (that version's reference), 100
    before (the 2024-01 reference says 100; the versions between are not checked: the safe side)."""
    return CODES_PER_REQUEST if api_version >= "2025-10" or api_version == "unstable" \
        else CODES_PER_REQUEST_BEFORE_2025_10


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# ---------------------------------------------------------------- what the store is asked for


@dataclass(frozen=True)
class DiscountSpec:
    key: str  # campaign|percent|window start (referral codes: |referral): one store discount each
    campaign: str
    title: str
    percent: float
    starts_at: datetime
    ends_at: datetime | None  # referral codes do not expire
    anchor_code: str
    usage_limit: int = 1  # per code

    def variables(self) -> dict:
        return {"basicCodeDiscount": {
            "title": self.title,
            "code": self.anchor_code,
            "startsAt": _iso(self.starts_at),
            "endsAt": _iso(self.ends_at) if self.ends_at else None,
            "context": {"all": "ALL"},  # every buyer (current versions; older ones took customerSelection)
            "customerGets": {"value": {"percentage": round(self.percent / 100, 4)}, "items": {"all": True}},
            # on a discount with many codes, Shopify applies the usage limit to each code
            "usageLimit": self.usage_limit,
            "appliesOncePerCustomer": True,
        }}


def discount_spec(campaign: Campaign, now: datetime, secret: bytes | None = None) -> DiscountSpec:
    """The campaign's store discount for the renewal window containing ``now``: windows of
    ``expires_after_days`` days from 1970-01-01 (UTC); the discount starts with its window and
    ends two windows later, so every code issued in the window works for at least
    ``expires_after_days`` days."""
    policy = campaign.discount
    if policy is None:
        raise ValueError(f"campaign {campaign.key} offers no discount")
    if policy.code == "referral":
        # One discount for every advocate's code, from the first ask on: a code shared once keeps working.
        return DiscountSpec(
            key=f"{campaign.key}|{policy.percent:g}|referral",
            campaign=campaign.key,
            title=f"{campaign.key.replace('_', ' ').capitalize()}: {policy.percent:g}% off with a friend's code",
            percent=policy.percent,
            starts_at=datetime.combine(now.astimezone(UTC).date(), clock(), tzinfo=UTC),  # the first ask
            ends_at=None,
            anchor_code=coupon_code(policy, campaign.key, ANCHOR_CUSTOMER, "referral", secret),
            usage_limit=policy.uses,
        )
    days = policy.expires_after_days
    today = now.astimezone(UTC).date()
    start_day = EPOCH + timedelta(days=(today - EPOCH).days // days * days)
    starts_at = datetime.combine(start_day, clock(), tzinfo=UTC)
    window = start_day.isoformat()
    return DiscountSpec(
        key=f"{campaign.key}|{policy.percent:g}|{window}",
        campaign=campaign.key,
        title=f"{campaign.key.replace('_', ' ').capitalize()}: {policy.percent:g}% off (codes from {window})",
        percent=policy.percent,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=2 * days),
        anchor_code=coupon_code(policy, campaign.key, ANCHOR_CUSTOMER, window, secret),
    )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_body(query: str, variables: Mapping) -> dict:
    return {"query": query, "variables": dict(variables)}


class DiscountStore(Protocol):
    mode: str  # "live" | "outbox"

    def create_discount(self, spec: DiscountSpec) -> str: ...  # the discount's id

    def add_codes(self, discount_id: str, codes: Sequence[str]) -> dict[str, str | None]: ...  # code -> error

    def find_codes(self, codes: Sequence[str]) -> dict[str, str | None]: ...  # code -> discount id or None


# ---------------------------------------------------------------- Shopify


class ShopifyDiscounts:
    """The Admin GraphQL API over one keep-alive connection, throttled by the query cost the
    API reports, with retries for 429, 5xx, ``THROTTLED`` and connections never made."""

    mode = "live"

    def __init__(self, shop_domain: str | None, access_token: str, api_version: str, api_base: str | None = None,
                 codes_per_request: int | None = None, timeout: float = 30.0, max_retries: int = 5,
                 backoff_base: float = 0.5, backoff_max: float = 30.0, poll_interval: float = 0.5,
                 poll_timeout: float = 120.0, min_available: float = 100.0,
                 sleep: Callable[[float], None] = time.sleep):
        if not access_token:
            raise ValueError("ShopifyDiscounts needs an access token")
        if not (api_base or shop_domain):
            raise ValueError("ShopifyDiscounts needs a shop domain (or an API base URL)")
        limit = max_codes_per_request(api_version)
        self.codes_per_request = codes_per_request or limit
        if not 1 <= self.codes_per_request <= limit:
            raise ValueError(f"codes_per_request must be 1..{limit} for API version {api_version}")
        parts = urlsplit((api_base or f"https://{shop_domain}").rstrip("/"))
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.path = f"{parts.path}/admin/api/{api_version}/graphql.json"
        self._token = access_token
        self.timeout, self.max_retries = timeout, max_retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.poll_interval, self.poll_timeout, self.min_available = poll_interval, poll_timeout, min_available
        self.sleep = sleep
        self.conn: http.client.HTTPConnection | None = None
        self.requests = self.retries = self.polls = 0
        self.throttled = 0.0

    # -- the three operations

    def create_discount(self, spec: DiscountSpec) -> str:
        payload = self.graphql(CREATE_DISCOUNT, spec.variables())["discountCodeBasicCreate"]
        node = payload.get("codeDiscountNode")
        if payload.get("userErrors") or not node:
            raise DiscountRejected(_errors_text(payload.get("userErrors")) or "no discount returned")
        return node["id"]

    def add_codes(self, discount_id: str, codes: Sequence[str]) -> dict[str, str | None]:
        """Add codes in chunks; returns each code's error (None: created). A chunk the store
        refuses as a whole gives its reason to every code of the chunk."""
        outcome: dict[str, str | None] = {}
        try:
            for start in range(0, len(codes), self.codes_per_request):
                chunk = list(codes[start:start + self.codes_per_request])
                payload = self.graphql(ADD_CODES, {"discountId": discount_id,
                                                   "codes": [{"code": c} for c in chunk]})["discountRedeemCodeBulkAdd"]
                bulk = payload.get("bulkCreation")
                if payload.get("userErrors") or not bulk:
                    reason = _errors_text(payload.get("userErrors")) or "no bulk creation returned"
                    outcome.update(dict.fromkeys(chunk, reason))
                    continue
                outcome.update(self._await_bulk(bulk["id"], chunk))
        except StoreUnavailable as exc:
            exc.done = outcome  # the chunks answered before the store stopped answering
            raise
        return outcome

    def find_codes(self, codes: Sequence[str]) -> dict[str, str | None]:
        """Which discount holds each code (None: no discount has it)."""
        found: dict[str, str | None] = {}
        for code in codes:
            node = self.graphql(FIND_CODE, {"code": code}).get("codeDiscountNodeByCode")
            found[code] = node["id"] if node else None
        return found

    def _await_bulk(self, bulk_id: str, chunk: Sequence[str]) -> dict[str, str | None]:
        deadline = time.monotonic() + self.poll_timeout
        wait = self.poll_interval
        while True:
            self.polls += 1
            state = self.graphql(BULK_CREATION, {"id": bulk_id, "first": max(len(chunk), 1)})
            state = state.get("discountRedeemCodeBulkCreation") or {}
            if state.get("done"):
                break
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"bulk code creation not done after {self.poll_timeout:g}s")
            self._pause(wait)
            wait = min(wait * 1.5, 5.0)
        results: dict[str, str | None] = {}
        for node in (state.get("codes") or {}).get("nodes") or []:
            errors = node.get("errors") or []
            results[node["code"]] = _errors_text(errors) if errors or not node.get("discountRedeemCode") else None
        # a code the report does not mention is not known to exist: the caller looks it up
        return {code: results.get(code, "not reported by the bulk creation") for code in chunk}

    # -- transport

    def graphql(self, query: str, variables: Mapping) -> dict:
        """POST one GraphQL request; returns ``data``. A request whose answer was lost is not
        sent again here (a mutation may have run): StoreUnavailable, and the ledger's
        ``requested`` rows are looked up by the next attempt."""
        body = json.dumps(request_body(query, variables)).encode()
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": "retention-pipeline"}
        is_query = query.lstrip().startswith("query")
        attempt = 0
        while True:
            self.requests += 1
            sent = False
            try:
                conn = self._connect()
                conn.request("POST", self.path, body=body, headers=headers)
                sent = True
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
                if response.will_close:
                    self.close()
            except (ConnectionError, TimeoutError, http.client.HTTPException, OSError) as exc:
                self.close()
                if (sent and not is_query) or attempt >= self.max_retries:
                    raise StoreUnavailable(f"Shopify GraphQL: {type(exc).__name__}"
                                           + (" after the request was sent" if sent else "")) from None
                attempt = self._retry(attempt, None)
                continue
            if status in RETRYABLE_STATUS:
                if attempt >= self.max_retries:
                    raise StoreUnavailable(f"Shopify GraphQL answered {status} after {attempt + 1} attempts")
                attempt = self._retry(attempt, retry_after if status == 429 else None)
                continue
            if status != 200:
                raise StoreUnavailable(f"Shopify GraphQL answered {status}: {raw[:200]!r}")
            try:
                doc = json.loads(raw)
            except ValueError:
                raise StoreUnavailable("Shopify GraphQL answered with no JSON") from None
            self._respect_cost(doc.get("extensions") or {})
            errors = doc.get("errors") or []
            if any(((e or {}).get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                if attempt >= self.max_retries:
                    raise StoreUnavailable("Shopify GraphQL kept throttling")
                attempt = self._retry(attempt, None)
                continue
            if errors or not isinstance(doc.get("data"), dict):
                raise StoreUnavailable("Shopify GraphQL errors: " + "; ".join(str((e or {}).get("message"))
                                                                              for e in errors)[:300])
            return doc["data"]

    def _retry(self, attempt: int, retry_after: str | None) -> int:
        self.retries += 1
        wait = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt))
        if retry_after:
            try:
                wait = min(float(retry_after), self.backoff_max)
            except ValueError:
                wait = max(wait, 1.0)
        self._pause(wait)
        return attempt + 1

    def _respect_cost(self, extensions: Mapping) -> None:
        """Wait when the cost bucket runs low: (needed - available) / restore rate seconds."""
        status = (extensions.get("cost") or {}).get("throttleStatus") or {}
        try:
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        if available < self.min_available and rate > 0:
            self._pause((self.min_available - available) / rate)

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.netloc, timeout=self.timeout)
        return self.conn

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.throttled += seconds
            self.sleep(seconds)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _errors_text(errors) -> str:
    return "; ".join(f"{e.get('code') or 'ERROR'}: {e.get('message')}" for e in errors or [] if isinstance(e, dict))


# ---------------------------------------------------------------- outbox


class OutboxDiscounts:
    """No Shopify credentials: the exact GraphQL request bodies go to ``<outbox>/shopify/``.
    The discount id is not known without the store, so the bodies that add codes name it
    ``outbox:<hash of the discount key>``. File names are hashes of the content: writing a
    request again replaces its file instead of adding one."""

    mode = "outbox"

    def __init__(self, outbox_dir: str | Path, codes_per_request: int = CODES_PER_REQUEST):
        self.folder = Path(outbox_dir) / "shopify"
        self.codes_per_request = codes_per_request
        self._anchors: dict[str, str] = {}

    def create_discount(self, spec: DiscountSpec) -> str:
        discount_id = f"outbox:{short_hash(spec.key)}"
        self._write("discount", request_body(CREATE_DISCOUNT, spec.variables()))
        return discount_id

    def add_codes(self, discount_id: str, codes: Sequence[str]) -> dict[str, str | None]:
        for start in range(0, len(codes), self.codes_per_request):
            chunk = list(codes[start:start + self.codes_per_request])
            self._write("codes", request_body(ADD_CODES, {"discountId": discount_id,
                                                          "codes": [{"code": c} for c in chunk]}))
        return dict.fromkeys(codes)

    def find_codes(self, codes: Sequence[str]) -> dict[str, str | None]:
        wanted = set(codes)
        found: dict[str, str | None] = dict.fromkeys(codes)
        for path in sorted(self.folder.glob("codes-*.json")):
            variables = json.loads(path.read_text("utf-8"))["variables"]
            for entry in variables["codes"]:
                if entry["code"] in wanted:
                    found[entry["code"]] = variables["discountId"]
        return found

    def written(self) -> list[dict]:
        return [json.loads(p.read_text("utf-8")) for p in sorted(self.folder.glob("[!.]*.json"))]

    def _write(self, kind: str, body: dict) -> Path:
        text = json.dumps(body, indent=1)
        return write_atomic(self.folder / f"{kind}-{short_hash(text)}.json", text.encode("utf-8"))


# ---------------------------------------------------------------- ledger + store


@dataclass(frozen=True)
class CodeOutcome:
    ready: bool  # the store has it (or, outbox, its request is written): the message may leave
    error: str | None = None
    rejected: bool = False  # the store refused it (counts as an attempt); else it was unavailable
    whole_discount: bool = False  # the campaign's discount itself could not be created


READY = CodeOutcome(True)


class CodeIssuer:
    """Makes sure codes exist in the store before their messages are sent, asking the ledger
    first so that no code is ever requested twice, and the store for codes in doubt."""

    def __init__(self, ledger: Ledger, store: DiscountStore, secret: bytes | None = None):
        self.ledger, self.store, self.secret = ledger, store, secret
        self.discounts_created = self.codes_created = self.lookups = 0

    def _is_ready(self, row: Mapping | None) -> bool:
        """Created in the store (by a live run), or, for the outbox, written to the outbox."""
        if row is None:
            return False
        return row["state"] == "created" or (row["state"] == "outbox" and self.store.mode == "outbox")

    def ensure(self, campaign: Campaign, codes: Iterable[str], now: datetime) -> dict[str, CodeOutcome]:
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return {}
        known = self.ledger.store_code_rows(wanted)
        outcome = {c: READY for c in wanted if self._is_ready(known.get(c))}
        missing = [c for c in wanted if c not in outcome]
        if not missing:
            return outcome
        spec = discount_spec(campaign, now, self.secret)
        try:
            discount_id = self._discount(spec, now)
        except DiscountRejected as exc:
            reason = f"store discount for {campaign.key} not created: {exc}"
            outcome.update({c: CodeOutcome(False, reason, rejected=True, whole_discount=True) for c in missing})
            return outcome
        except StoreUnavailable as exc:
            reason = f"store discount for {campaign.key} not created: {exc}"
            outcome.update({c: CodeOutcome(False, reason, whole_discount=True) for c in missing})
            return outcome
        try:
            self._codes(spec, discount_id, missing, known, now, outcome)
        except StoreUnavailable as exc:
            outcome.update({c: CodeOutcome(False, f"codes not confirmed by the store: {exc}")
                            for c in missing if c not in outcome})
        return outcome

    # -- the campaign's discount

    def _discount(self, spec: DiscountSpec, now: datetime) -> str:
        row = self.ledger.store_discount(spec.key)
        if self._is_ready(row):
            return row["discount_id"]
        if row is not None and row["mode"] == self.store.mode and row["state"] == "requested" \
                and self.store.mode == "live":
            holder = self._find([spec.anchor_code]).get(spec.anchor_code)
            if holder:  # created before the last run died: do not create it again
                self.ledger.settle_discount(spec.key, "created", holder, None, now)
                return holder
        self.ledger.request_discount(spec, self.store.mode, now)  # committed before the request
        try:
            discount_id = self.store.create_discount(spec)
        except DiscountRejected as exc:
            holder = self._find([spec.anchor_code]).get(spec.anchor_code) if self.store.mode == "live" else None
            if holder:  # "code taken": an earlier request of ours did create it
                self.ledger.settle_discount(spec.key, "created", holder, None, now)
                return holder
            self.ledger.settle_discount(spec.key, "rejected", None, str(exc), now)
            log.error("store discount %s rejected", short_hash(spec.key))
            raise
        state = "outbox" if self.store.mode == "outbox" else "created"
        self.ledger.settle_discount(spec.key, state, discount_id, None, now)
        self.discounts_created += 1
        log.info("store discount %s %s", short_hash(spec.key), state)
        return discount_id

    # -- the recipients' codes

    def _codes(self, spec: DiscountSpec, discount_id: str, codes: list[str], known: Mapping[str, Mapping],
               now: datetime, outcome: dict[str, CodeOutcome]) -> None:
        """Fills ``outcome`` as answers come, so what a failing store did answer is kept."""
        state = "outbox" if self.store.mode == "outbox" else "created"
        doubt = [c for c in codes if known.get(c) and known[c]["state"] == "requested"
                 and known[c]["mode"] == self.store.mode and self.store.mode == "live"]
        if doubt:  # requested by a run that died before the answer: ask the store, do not add again
            holders = self._find(doubt)
            ours = self._our_discounts(discount_id)
            mine = [c for c in doubt if holders.get(c) in ours]
            theirs = {c: h for c, h in holders.items() if h and h not in ours}
            self.ledger.settle_codes({c: (state, None) for c in mine}, now)
            outcome.update(dict.fromkeys(mine, READY))
            outcome.update(self._elsewhere(theirs, now))
        to_add = [c for c in codes if c not in outcome]
        if not to_add:
            return
        self.ledger.request_codes(to_add, spec.key, spec.campaign, self.store.mode, now)  # committed first
        try:
            errors = self.store.add_codes(discount_id, to_add)
        except StoreUnavailable as exc:
            done = getattr(exc, "done", None) or {}
            self._settle_added(spec, discount_id, [c for c in to_add if c in done], done, state, now, outcome)
            raise
        self._settle_added(spec, discount_id, to_add, errors, state, now, outcome)

    def _settle_added(self, spec: DiscountSpec, discount_id: str, to_add: list[str], errors: dict[str, str | None],
                      state: str, now: datetime, outcome: dict[str, CodeOutcome]) -> None:
        errors = dict(errors)
        failed = [c for c in to_add if errors.get(c)]
        if failed and self.store.mode == "live":  # "taken" may be our own earlier request
            holders = self._find(failed)
            ours = self._our_discounts(discount_id)
            for code in failed:
                if holders.get(code) in ours:
                    errors[code] = None
            outcome.update(self._elsewhere({c: h for c, h in holders.items() if h and h not in ours}, now))
        created = [c for c in to_add if not errors.get(c) and c not in outcome]
        rejected = {c: errors[c] for c in to_add if errors.get(c) and c not in outcome}
        self.ledger.settle_codes({**{c: (state, None) for c in created},
                                  **{c: ("rejected", e) for c, e in rejected.items()}}, now)
        self.codes_created += len(created)
        outcome.update(dict.fromkeys(created, READY))
        outcome.update({c: CodeOutcome(False, f"code refused by the store: {e}", rejected=True)
                        for c, e in rejected.items()})
        log.info("store codes for %s: %d %s, %d refused", short_hash(spec.key), len(created), state, len(rejected))

    def _our_discounts(self, discount_id: str) -> set[str]:
        """This discount and every other one the ledger created (an earlier renewal window's)."""
        return {discount_id, *self.ledger.store_discount_ids()}

    def _elsewhere(self, holders: Mapping[str, str], now: datetime) -> dict[str, CodeOutcome]:
        """A code another discount holds: never send it (it would not give this campaign's offer)."""
        if not holders:
            return {}
        reason = "code held by another discount in the store"
        self.ledger.settle_codes({c: ("rejected", reason) for c in holders}, now)
        return {c: CodeOutcome(False, reason, rejected=True) for c in holders}

    def _find(self, codes: Sequence[str]) -> dict[str, str | None]:
        self.lookups += len(codes)
        return self.store.find_codes(codes)


__all__ = ["CodeIssuer", "CodeOutcome", "DiscountRejected", "DiscountSpec", "OutboxDiscounts", "ShopifyDiscounts",
           "StoreUnavailable", "discount_spec", "max_codes_per_request"]
