"""JSON Lines sources, one object a line: web events, product reviews, NPS answers, email
frequency preferences (the preference centre's drop file), product subscriptions (the store's
back-in-stock, price-drop and wish-list sign-ups).

``_raw`` is the line as received; ``_record_index`` its 0-based line number (blank lines are
skipped but counted). A line that is not JSON is one rejected record of the source's table.
"""

from __future__ import annotations

from functools import partial

import orjson

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import (
    REQUIRED,
    Check,
    bytes_to_text,
    canonical_json,
    sha256_hex,
    show,
    to_int,
)
from retention.ingest.schema import BOOL, INT32, INT64, STRING, TIMESTAMP, record_schema
from retention.ingest.vectorised import BOOLEAN, OPTIONAL_ID, REQUIRED_TEXT, TEXT, integer, land_jsonl, one_of, timestamp
from retention.preferences import EMAIL_FREQUENCIES, normalize_frequency

EXTENSIONS = (".jsonl", ".ndjson")
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "search", "share")
_EVENT_TYPE_SET = frozenset(EVENT_TYPES)

WEB_EVENTS = record_schema([
    ("event_id", STRING), ("session_id", STRING), ("occurred_at", TIMESTAMP), ("event_type", STRING),
    ("customer_id", INT64), ("anonymous_id", STRING), ("url", STRING), ("product_id", INT64),
    ("variant_id", INT64), ("search_query", STRING), ("referrer", STRING), ("user_agent", STRING),
])
REVIEWS = record_schema([
    ("review_id", STRING), ("product_id", INT64), ("customer_id", INT64), ("email", STRING),
    ("order_id", INT64), ("rating", INT32), ("title", STRING), ("body", STRING), ("verified_buyer", BOOL),
    ("created_at", TIMESTAMP),
])
NPS_RESPONSES = record_schema([
    ("response_id", STRING), ("survey_id", STRING), ("customer_id", INT64), ("email", STRING),
    ("order_id", INT64), ("score", INT32), ("comment", STRING), ("submitted_at", TIMESTAMP),
])

PREFERENCES = record_schema([
    ("preference_id", STRING), ("customer_id", INT64), ("email", STRING), ("email_frequency", STRING),
    ("submitted_at", TIMESTAMP),
])

SUBSCRIPTION_KINDS = ("back_in_stock", "price_drop", "wishlist")
SUBSCRIPTIONS = record_schema([
    ("subscription_id", STRING), ("customer_id", INT64), ("email", STRING), ("product_id", INT64),
    ("variant_id", INT64), ("kind", STRING), ("created_at", TIMESTAMP), ("cancelled_at", TIMESTAMP),
])


def _bounded_int(c: Check, r: dict, key: str, low: int, high: int) -> int | None:
    """A required integer in ``[low, high]`` (rating 1-5, NPS score 0-10)."""
    value = r.get(key)
    if value is None:
        c.error(key, "missing")
        return None
    result = to_int(value)
    if result is None or not low <= result <= high:
        c.error(key, f"not an integer {low}-{high}", f"not an integer {low}-{high}: {show(value)}")
        return None
    return result


def parse_web_event(c: Check, r: dict) -> dict:
    event_type = c.text(r, "event_type", REQUIRED, nonempty=True)
    if event_type is not None and event_type not in _EVENT_TYPE_SET:
        c.error("event_type", "not a known event type",
                f"not one of {', '.join(EVENT_TYPES)}: {show(event_type)}")
    return {
        "event_id": c.ident(r, "event_id", REQUIRED),
        "session_id": c.ident(r, "session_id", REQUIRED),
        "occurred_at": c.ts(r, "occurred_at", REQUIRED),
        "event_type": event_type,
        "customer_id": c.int(r, "customer_id"),
        "anonymous_id": c.text(r, "anonymous_id"),
        "url": c.text(r, "url"),
        "product_id": c.int(r, "product_id"),
        "variant_id": c.int(r, "variant_id"),
        "search_query": c.text(r, "search_query"),
        "referrer": c.text(r, "referrer"),
        "user_agent": c.text(r, "user_agent"),
    }


def parse_review(c: Check, r: dict) -> dict:
    return {
        "review_id": c.ident(r, "review_id", REQUIRED),
        "product_id": c.int(r, "product_id", REQUIRED),
        "customer_id": c.int(r, "customer_id"),
        "email": c.text(r, "email"),
        "order_id": c.int(r, "order_id"),
        "rating": _bounded_int(c, r, "rating", 1, 5),
        "title": c.text(r, "title"),
        "body": c.text(r, "body"),
        "verified_buyer": c.bool(r, "verified_buyer"),
        "created_at": c.ts(r, "created_at", REQUIRED),
    }


def parse_nps(c: Check, r: dict) -> dict:
    return {
        "response_id": c.ident(r, "response_id", REQUIRED),
        "survey_id": c.ident(r, "survey_id"),
        "customer_id": c.int(r, "customer_id"),
        "email": c.text(r, "email"),
        "order_id": c.int(r, "order_id"),
        "score": _bounded_int(c, r, "score", 0, 10),
        "comment": c.text(r, "comment"),
        "submitted_at": c.ts(r, "submitted_at", REQUIRED),
    }


def parse_preference(c: Check, r: dict) -> dict:
    raw = c.text(r, "email_frequency", REQUIRED, nonempty=True)
    frequency = normalize_frequency(raw)
    if raw is not None and frequency is None:
        c.error("email_frequency", "not a known frequency",
                f"not one of {', '.join(EMAIL_FREQUENCIES)}: {show(raw)}")
    row = {
        "preference_id": c.ident(r, "preference_id", REQUIRED),
        "customer_id": c.int(r, "customer_id"),
        "email": c.text(r, "email"),
        "email_frequency": frequency,
        "submitted_at": c.ts(r, "submitted_at", REQUIRED),
    }
    if row["customer_id"] is None and not (row["email"] or "").strip():
        c.error("customer_id", "names no customer", "needs a customer_id or an email")
    return row


def parse_subscription(c: Check, r: dict) -> dict:
    kind = c.text(r, "kind", REQUIRED, nonempty=True)
    if kind is not None and kind not in SUBSCRIPTION_KINDS:
        c.error("kind", "not a known kind", f"not one of {', '.join(SUBSCRIPTION_KINDS)}: {show(kind)}")
    row = {
        "subscription_id": c.ident(r, "subscription_id", REQUIRED),
        "customer_id": c.int(r, "customer_id"),
        "email": c.text(r, "email"),
        "product_id": c.int(r, "product_id", REQUIRED),
        "variant_id": c.int(r, "variant_id"),  # null: any variant of the product
        "kind": kind,
        "created_at": c.ts(r, "created_at", REQUIRED),
        "cancelled_at": c.ts(r, "cancelled_at"),
    }
    if row["customer_id"] is None and not (row["email"] or "").strip():
        c.error("customer_id", "names no customer", "needs a customer_id or an email")
    return row


# source -> (table, schema, parser, id key)
SOURCES = {
    "web": ("events", WEB_EVENTS, parse_web_event, "event_id"),
    "reviews": ("reviews", REVIEWS, parse_review, "review_id"),
    "nps": ("responses", NPS_RESPONSES, parse_nps, "response_id"),
    "preferences": ("preferences", PREFERENCES, parse_preference, "preference_id"),
    "subscriptions": ("subscriptions", SUBSCRIPTIONS, parse_subscription, "subscription_id"),
}


# The clean values of each parser above, typed a file's records at a time (``retention.ingest.vectorised``);
# the preference and subscription files, small and with rules across fields, go record by record.
WHOLE_FILE_COLUMNS = {
    "web": {
        "event_id": REQUIRED_TEXT, "session_id": REQUIRED_TEXT, "occurred_at": timestamp(True),
        "event_type": one_of(EVENT_TYPES), "customer_id": integer(), "anonymous_id": TEXT, "url": TEXT,
        "product_id": integer(), "variant_id": integer(), "search_query": TEXT, "referrer": TEXT, "user_agent": TEXT,
    },
    "reviews": {
        "review_id": REQUIRED_TEXT, "product_id": integer(True), "customer_id": integer(), "email": TEXT,
        "order_id": integer(), "rating": integer(True, 1, 5, INT32), "title": TEXT, "body": TEXT,
        "verified_buyer": BOOLEAN, "created_at": timestamp(True),
    },
    "nps": {
        "response_id": REQUIRED_TEXT, "survey_id": OPTIONAL_ID, "customer_id": integer(), "email": TEXT,
        "order_id": integer(), "score": integer(True, 0, 10, INT32), "comment": TEXT, "submitted_at": timestamp(True),
    },
}


def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    table, _, parse, id_key = SOURCES[ctx.source]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = (line.rstrip(b"\r") for line in data.split(b"\n"))
    lines = [(index, line) for index, line in enumerate(stripped) if line.strip()]
    one_by_one = partial(_parse_line, ctx, out, table, parse, id_key)
    if out.vectorised and ctx.source in WHOLE_FILE_COLUMNS:
        land_jsonl(ctx, out, table, WHOLE_FILE_COLUMNS[ctx.source], lines, one_by_one)
    else:
        for index, line in lines:
            one_by_one(index, line)


def _parse_line(ctx: FileContext, out: Collector, table: str, parse, id_key: str, index: int, line: bytes) -> None:
    raw = bytes_to_text(line)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        out.reject_file(ctx, f"not valid JSON: {exc}", "not valid JSON", raw, sha256_hex(line), table, index)
        return
    try:
        digest = sha256_hex(canonical_json(record))
    except TypeError:
        digest = sha256_hex(line)
    out.convert(ctx, table, index, record, parse, partial(_record_id, id_key), raw, digest)


def _record_id(id_key: str, record: dict):
    rid = record.get(id_key)
    return rid if isinstance(rid, (str, int)) else None
