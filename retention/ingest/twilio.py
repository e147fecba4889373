"""Twilio request bodies (one form-encoded body a line, ``*.txt``) -> ``message_status`` and
``inbound_messages``.

A line with ``Body`` is an inbound message; a line with ``MessageStatus`` (and no ``Body``) is
a status callback. Twilio's bodies carry no time: ``received_at`` comes from the file name
``<kind>-<YYYYMMDDTHHMMSSZ>.txt`` (null, with a warning, when the name has no such stamp).
A line that is not valid form encoding (or not UTF-8), or that is neither kind, is quarantined
as a ``_files`` record (it belongs to no table). ``_raw`` is the line as received.

``keyword`` is the inbound body normalised the way carriers and Twilio match keywords (trimmed,
upper-cased, spaces/hyphens/trailing punctuation dropped) when it is one of the opt-out,
opt-in or help keywords; ``keyword_action`` says which (``opt_out``/``opt_in``/``help``),
falling back to Twilio's own ``OptOutType`` when the body is not a bare keyword.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from urllib.parse import parse_qsl

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import REQUIRED, UTC, Check, Issue, bytes_to_text, sha256_hex
from retention.ingest.schema import INT64, STRING, TIMESTAMP, record_schema

MESSAGE_STATUS = record_schema([
    ("message_sid", STRING), ("sms_sid", STRING), ("account_sid", STRING), ("messaging_service_sid", STRING),
    ("status", STRING), ("sms_status", STRING), ("error_code", INT64), ("from", STRING), ("to", STRING),
    ("api_version", STRING), ("raw_dlr_done_date", STRING), ("received_at", TIMESTAMP),
])
INBOUND_MESSAGES = record_schema([
    ("message_sid", STRING), ("sms_sid", STRING), ("account_sid", STRING), ("messaging_service_sid", STRING),
    ("from", STRING), ("to", STRING), ("body", STRING), ("num_media", INT64), ("num_segments", INT64),
    ("from_country", STRING), ("from_state", STRING), ("from_city", STRING), ("from_zip", STRING),
    ("opt_out_type", STRING), ("keyword", STRING), ("keyword_action", STRING), ("received_at", TIMESTAMP),
])
SCHEMAS = {"message_status": MESSAGE_STATUS, "inbound_messages": INBOUND_MESSAGES}
EXTENSIONS = (".txt",)

KEYWORD_ACTIONS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE"), "opt_out"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}
OPT_OUT_TYPE_ACTIONS = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
_STAMP = re.compile(r"(\d{8}T\d{6}Z)\Z")
_KEYWORD_NOISE = re.compile(r"[\s\-_]+")


def received_at_from_name(stem: str) -> datetime | None:
    match = _STAMP.search(stem)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def normalise_keyword(body: str | None) -> str | None:
    if not body:
        return None
    word = _KEYWORD_NOISE.sub("", body.strip().strip(".!?,;:'\"").upper())
    return word if word in KEYWORD_ACTIONS else None


def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    received_at = received_at_from_name(ctx.stem)
    for index, line in enumerate(data.split(b"\n")):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        raw, digest = bytes_to_text(line), sha256_hex(line)
        try:
            form = dict(parse_qsl(line.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                                  errors="strict"))
        except (UnicodeDecodeError, ValueError) as exc:
            out.reject_file(ctx, f"not a form-encoded body: {exc}", "not a form-encoded body", raw, digest,
                            index=index)
            continue
        if "Body" in form:
            table, parse = "inbound_messages", parse_inbound
        elif "MessageStatus" in form:
            table, parse = "message_status", parse_status
        else:
            out.reject_file(ctx, f"neither an inbound message (Body) nor a status callback (MessageStatus); "
                            f"fields: {', '.join(sorted(form)) or 'none'}", "neither Body nor MessageStatus",
                            raw, digest, index=index)
            continue
        out.convert(ctx, table, index, form, partial(_type_form, parse, received_at, ctx.name),
                    lambda f: f.get("MessageSid") or None, raw, digest)


def _type_form(parse, received_at: datetime | None, file_name: str, check: Check, form: dict) -> dict:
    row = parse(check, form)
    row["received_at"] = received_at
    if received_at is None:
        check.warnings.append(Issue("received_at", "no time stamp in the file name",
                                    f"no YYYYMMDDTHHMMSSZ time stamp in the file name {file_name!r}"))
    return row


def _common(c: Check, f: dict) -> dict:
    return {
        "message_sid": c.text(f, "MessageSid", REQUIRED, nonempty=True),
        "sms_sid": f.get("SmsSid") or None,
        "account_sid": f.get("AccountSid") or None,
        "messaging_service_sid": f.get("MessagingServiceSid") or None,
    }


def parse_status(c: Check, f: dict) -> dict:
    return {
        **_common(c, f),
        "status": c.text(f, "MessageStatus", REQUIRED, nonempty=True),
        "sms_status": f.get("SmsStatus") or None,
        "error_code": c.int(f, "ErrorCode") if f.get("ErrorCode") else None,
        "from": f.get("From") or None,
        "to": f.get("To") or None,
        "api_version": f.get("ApiVersion") or None,
        "raw_dlr_done_date": f.get("RawDlrDoneDate") or None,
    }


def parse_inbound(c: Check, f: dict) -> dict:
    body = f["Body"]
    keyword = normalise_keyword(body)
    opt_out_type = f.get("OptOutType") or None
    action = KEYWORD_ACTIONS.get(keyword) if keyword else OPT_OUT_TYPE_ACTIONS.get((opt_out_type or "").upper())
    return {
        **_common(c, f),
        "from": c.text(f, "From", REQUIRED, nonempty=True),
        "to": f.get("To") or None,
        "body": body,
        "num_media": c.int(f, "NumMedia") if f.get("NumMedia") else None,
        "num_segments": c.int(f, "NumSegments") if f.get("NumSegments") else None,
        "from_country": f.get("FromCountry") or None,
        "from_state": f.get("FromState") or None,
        "from_city": f.get("FromCity") or None,
        "from_zip": f.get("FromZip") or None,
        "opt_out_type": opt_out_type,
        "keyword": keyword,
        "keyword_action": action,
    }
