"""SendGrid Event Webhook POST bodies -> ``events``.

A body is a JSON array of events; a bare object is one event; a UTF-8 BOM is allowed.
``event`` is lower-cased (the docs show ``"Processed"``), ``timestamp`` accepts Unix seconds,
milliseconds and numeric strings, ``category`` a string, a list or nothing (-> ``categories``
list). Every key SendGrid does not define is a custom arg: all of them are kept, sorted, in
``custom_args`` (a JSON object string); the pipeline's own (``campaign``, ``step``,
``send_id``) also get columns. Nested objects (``pool``, ``newsletter``, ``url_offset``)
stay in ``_raw`` and, where useful, as flat columns.

Account events (``account_status_change``: SendGrid suspended, deactivated or reactivated the
account) concern no recipient and carry no email: they go to ``account_events``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import orjson

from retention.ingest.collect import Collector, FileContext
from retention.ingest.json_files import NOT_JSON, load_json_file
from retention.ingest.records import (
    REQUIRED,
    Check,
    as_text,
    bytes_to_text,
    raw_and_hash,
    sha256_hex,
    to_int,
)
from retention.ingest.schema import INT64, STRING, STRINGS, TIMESTAMP, record_schema
from retention.ingest.vectorised import NONE, TEXT, Kind, integer, land_records, nonblank, unix_time

EVENTS = record_schema([
    ("event", STRING), ("email", STRING), ("timestamp", TIMESTAMP), ("sg_event_id", STRING),
    ("sg_message_id", STRING), ("smtp_id", STRING), ("categories", STRINGS), ("url", STRING),
    ("reason", STRING), ("status", STRING), ("response", STRING), ("attempt", STRING),
    ("bounce_type", STRING), ("bounce_classification", STRING), ("asm_group_id", INT64),
    ("useragent", STRING), ("ip", STRING), ("tls", INT64), ("send_at", TIMESTAMP),
    ("marketing_campaign_id", INT64), ("marketing_campaign_name", STRING), ("singlesend_id", STRING),
    ("template_id", STRING), ("pool_name", STRING),
    ("campaign", STRING), ("step", STRING), ("send_id", STRING), ("custom_args", STRING),
])
ACCOUNT_EVENTS = record_schema([
    ("event", STRING), ("type", STRING), ("timestamp", TIMESTAMP), ("sg_event_id", STRING),
])
SCHEMAS = {"events": EVENTS, "account_events": ACCOUNT_EVENTS}
ACCOUNT_EVENT_NAMES = frozenset({"account_status_change"})
EXTENSIONS = (".json",)
CUSTOM_COLUMNS = ("campaign", "step", "send_id")

# Keys SendGrid itself sends (Event Webhook reference); anything else is a custom arg.
RESERVED = frozenset({
    "event", "email", "timestamp", "sg_event_id", "sg_message_id", "smtp-id", "category", "url",
    "url_offset", "reason", "status", "response", "attempt", "type", "bounce_classification",
    "asm_group_id", "useragent", "ip", "tls", "cert_err", "send_at", "pool", "newsletter",
    "marketing_campaign_id", "marketing_campaign_name", "marketing_campaign_version",
    "marketing_campaign_split_id", "post_type", "sg_user_id", "mc_stats", "phase_id",
    "sg_content_type", "sg_template_id", "sg_template_name", "singlesend_id", "singlesend_name",
    "template_hash", "template_id", "template_version_id", "sg_machine_open", "unique_args",
})


def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    doc = load_json_file(ctx, data, out)
    if doc is NOT_JSON:
        return
    if isinstance(doc, dict):
        events = [doc]
    elif isinstance(doc, list):
        events = doc
    else:
        out.reject_file(ctx, f"not an event array or object: a JSON {type(doc).__name__}", "not an event array",
                        bytes_to_text(data), sha256_hex(data))
        return
    one_by_one = partial(_convert, ctx, out, events)
    if out.vectorised:
        # account events, rare, always go one by one: a digest of None sends a record that way
        raws, digests = zip(*(raw_and_hash(e) if _recipient_event(e) else (None, None) for e in events),
                            strict=True) if events else ((), ())
        land_records(ctx, out, "events", WHOLE_FILE_COLUMNS, events, list(raws), list(digests), list(range(len(events))),
                  one_by_one)
    else:
        for index in range(len(events)):
            one_by_one(index)


def _convert(ctx: FileContext, out: Collector, events: list, index: int) -> None:
    event = events[index]
    name = event.get("event") if isinstance(event, dict) else None
    if isinstance(name, str) and name.lower() in ACCOUNT_EVENT_NAMES:
        out.convert(ctx, "account_events", index, event, parse_account_event, _event_id)
    else:
        out.convert(ctx, "events", index, event, parse_event, _event_id, noun="event")


def _recipient_event(event) -> bool:
    """An event object whose name is plain ASCII text and no account event (those go one by one)."""
    if type(event) is not dict:
        return False
    name = event.get("event")
    return type(name) is str and name.isascii() and name.lower() not in ACCOUNT_EVENT_NAMES


def _event_id(event: dict):
    return event.get("sg_event_id")


def _text(value):
    return value if value is None or isinstance(value, str) else as_text(value)


def parse_account_event(c: Check, e: dict) -> dict:
    return {
        "event": c.text(e, "event", REQUIRED, nonempty=True).lower(),
        "type": c.text(e, "type", REQUIRED, nonempty=True),
        "timestamp": c.epoch(e, "timestamp", REQUIRED),
        "sg_event_id": c.text(e, "sg_event_id", REQUIRED, nonempty=True),
    }


def parse_event(c: Check, e: dict) -> dict:
    name = c.text(e, "event", REQUIRED, nonempty=True)
    category = e.get("category")
    if category is None or category == "":
        categories = []
    elif isinstance(category, list):
        categories = [_text(x) for x in category if x is not None]
    else:
        categories = [_text(category)]
    custom = _custom(e)
    pool = e.get("pool")
    return {
        "event": name.lower() if name else None,
        "email": c.text(e, "email", REQUIRED),
        "timestamp": c.epoch(e, "timestamp", REQUIRED),
        "sg_event_id": _text(e.get("sg_event_id")),
        "sg_message_id": _text(e.get("sg_message_id")),
        "smtp_id": _text(e.get("smtp-id")),
        "categories": categories,
        "url": _text(e.get("url")),
        "reason": _text(e.get("reason")),
        "status": _text(e.get("status")),
        "response": _text(e.get("response")),
        "attempt": _text(e.get("attempt")),
        "bounce_type": _text(e.get("type")),
        "bounce_classification": _text(e.get("bounce_classification")),
        "asm_group_id": c.int(e, "asm_group_id") if "asm_group_id" in e else None,
        "useragent": _text(e.get("useragent")),
        "ip": _text(e.get("ip")),
        "tls": to_int(e["tls"]) if "tls" in e else None,
        "send_at": c.epoch(e, "send_at") if e.get("send_at") not in (None, 0, "0", "") else None,
        "marketing_campaign_id": c.int(e, "marketing_campaign_id") if "marketing_campaign_id" in e else None,
        "marketing_campaign_name": _text(e.get("marketing_campaign_name")),
        "singlesend_id": _text(e.get("singlesend_id")),
        "template_id": _text(e.get("template_id") or e.get("sg_template_id")),
        "pool_name": _text(pool.get("name")) if isinstance(pool, dict) else None,
        "campaign": _text(custom.get("campaign")),
        "step": _text(custom.get("step")),
        "send_id": _text(custom.get("send_id")),
        "custom_args": orjson.dumps(custom, option=orjson.OPT_SORT_KEYS).decode() if custom else None,
    }


# ``parse_event``'s clean values, typed a run of events at a time (``retention.ingest.vectorised``).
def _categories(values: list) -> list:
    return [[] if v is None or v == "" else v if type(v) is list else [v] for v in values]


def _custom(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in RESERVED}


def _custom_args(event: dict) -> str | None:
    custom = _custom(event)
    return orjson.dumps(custom, option=orjson.OPT_SORT_KEYS).decode() if custom else None


_CLEAN_CATEGORY = Kind(lambda v: type(v) in (str, NONE) or (type(v) is list and set(map(type, v)) <= {str}),
                       STRINGS, get=lambda e: e.get("category"), convert=_categories)
WHOLE_FILE_COLUMNS = {
    "event": Kind(nonblank, convert=lambda values: [v.lower() for v in values]),  # ASCII: as Python lowers it
    "email": Kind(lambda v: type(v) is str, types=frozenset({str})),
    "timestamp": unix_time(),
    **{column: TEXT for column in ("sg_event_id", "sg_message_id", "url", "reason", "status", "response", "attempt",
                                   "bounce_classification", "useragent", "ip", "marketing_campaign_name",
                                   "singlesend_id", "campaign", "step", "send_id")},
    "smtp_id": replace(TEXT, get=lambda e: e.get("smtp-id")),
    "categories": _CLEAN_CATEGORY,
    "bounce_type": replace(TEXT, get=lambda e: e.get("type")),
    "asm_group_id": integer(),
    "tls": integer(),
    "send_at": unix_time(required=False, zero_is_none=True),
    "marketing_campaign_id": integer(),
    "template_id": replace(TEXT, get=lambda e: e.get("template_id") or e.get("sg_template_id")),
    "pool_name": replace(TEXT, get=lambda e: e["pool"].get("name") if type(e.get("pool")) is dict else None),
    "custom_args": replace(TEXT, get=_custom_args),
}
