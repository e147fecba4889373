"""SendGrid suppression-list snapshots (``retention.live.suppressions``) -> ``suppressions`` and
``suppression_groups``.

A pull lands as one folder ``inbox/sendgrid_suppressions/<day>/<YYYYMMDDTHHMMSSZ>/`` of response
bodies, unchanged; the folder name is the snapshot time (``snapshot_at``). The file name says what
the body is:

- ``<list>-<NNNN>.json`` for ``bounces``, ``blocks``, ``spam_reports``, ``invalid_emails``,
  ``unsubscribes`` (global): a JSON array of ``{"created": <unix s>, "email": ..., "reason",
  "status", "ip"}`` (fields vary per list) -> ``suppressions`` with ``list`` = the list name;
- ``group_unsubscribes-<group id>.json``: a JSON array of addresses (strings) -> ``suppressions``
  with ``list = 'group_unsubscribes'`` and ``group_id``;
- ``asm_groups.json``: a JSON array of unsubscribe groups -> ``suppression_groups``.

Each array element is one record; ``email`` must be a non-empty string (``created`` when present
must be Unix seconds). A file whose name says none of these, or whose body is not a JSON array,
is quarantined whole as a ``_files`` record. A snapshot is the provider's state at that time:
staging takes the union over snapshots (a suppression is lifted only by a later snapshot that no
longer has it, if the model wants that).

To register: ``from retention.ingest import sendgrid_suppressions`` in ``day.py``, then
``PARSERS["sendgrid_suppressions"] = sendgrid_suppressions`` and
``SCHEMAS["sendgrid_suppressions"] = sendgrid_suppressions.SCHEMAS``.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial

from retention.ingest.collect import Collector, FileContext
from retention.ingest.json_files import NOT_JSON, load_json_file
from retention.ingest.records import REQUIRED, UTC, Check, Issue, bytes_to_text, raw_and_hash, sha256_hex, show
from retention.ingest.schema import BOOL, INT64, STRING, TIMESTAMP, record_schema

SUPPRESSIONS = record_schema([
    ("list", STRING), ("email", STRING), ("created_at", TIMESTAMP), ("reason", STRING), ("status", STRING),
    ("ip", STRING), ("group_id", INT64), ("snapshot_at", TIMESTAMP),
])
SUPPRESSION_GROUPS = record_schema([
    ("id", INT64), ("name", STRING), ("description", STRING), ("is_default", BOOL), ("unsubscribes", INT64),
    ("last_email_sent_at", TIMESTAMP), ("snapshot_at", TIMESTAMP),
])
SCHEMAS = {"suppressions": SUPPRESSIONS, "suppression_groups": SUPPRESSION_GROUPS}
EXTENSIONS = (".json",)
GLOBAL_LISTS = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")

_LIST_FILE = re.compile(rf"(?P<list>{'|'.join(GLOBAL_LISTS)})(-\d+)?\Z")
_GROUP_FILE = re.compile(r"group_unsubscribes-(?P<group>\d+)(-\d+)?\Z")
_GROUPS_FILE = re.compile(r"asm_groups(-\d+)?\Z")
_STAMP = re.compile(r"(\d{8}T\d{6}Z)")


def snapshot_at(ctx: FileContext) -> datetime | None:
    match = _STAMP.match(ctx.path.parent.name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_file(ctx: FileContext, data: bytes, out: Collector) -> None:
    stem = ctx.stem
    list_match, group_match, groups_match = _LIST_FILE.match(stem), _GROUP_FILE.match(stem), _GROUPS_FILE.match(stem)
    if not (list_match or group_match or groups_match):
        out.reject_file(ctx, f"the file name {ctx.name!r} names no suppression list "
                        f"({', '.join(GLOBAL_LISTS)}, group_unsubscribes-<id>, asm_groups)",
                        "unknown suppression file", bytes_to_text(data), sha256_hex(data))
        return
    doc = load_json_file(ctx, data, out)
    if doc is NOT_JSON:
        return
    if not isinstance(doc, list):
        out.reject_file(ctx, f"not a JSON array: a JSON {type(doc).__name__}", "not an array",
                        bytes_to_text(data), sha256_hex(data))
        return
    taken = snapshot_at(ctx)
    if groups_match:
        for index, item in enumerate(doc):
            out.convert(ctx, "suppression_groups", index, item, partial(_type_group, taken), _group_id, noun="group")
        return
    if group_match:
        list_name, group_id = "group_unsubscribes", int(group_match.group("group"))
    else:
        list_name, group_id = list_match.group("list"), None
    for index, item in enumerate(doc):
        entry = {"email": item} if group_match and isinstance(item, str) else item
        raw, digest = raw_and_hash(item)
        if not isinstance(entry, dict):
            out.reject_record(ctx, "suppressions", index, None,
                              [Issue("entry", "not an object or address", f"not an object or address: {show(item)}")],
                              raw, digest)
            continue
        out.convert(ctx, "suppressions", index, entry, partial(_type_entry, list_name, group_id, taken), None,
                    raw, digest)


def _snapshot_warning(check: Check, taken: datetime | None) -> None:
    if taken is None:
        check.warnings.append(Issue("snapshot_at", "no snapshot time",
                                    "no YYYYMMDDTHHMMSSZ snapshot folder around the file"))


def _type_group(taken: datetime | None, check: Check, item: dict) -> dict:
    _snapshot_warning(check, taken)
    return {
        "id": check.int(item, "id", REQUIRED),
        "name": check.text(item, "name"),
        "description": check.text(item, "description"),
        "is_default": check.bool(item, "is_default"),
        "unsubscribes": check.int(item, "unsubscribes"),
        "last_email_sent_at": (check.epoch(item, "last_email_sent_at")
                               if item.get("last_email_sent_at") not in (None, 0, "") else None),
        "snapshot_at": taken,
    }


def _group_id(item: dict):
    return item.get("id")


def _type_entry(list_name: str, group_id: int | None, taken: datetime | None, check: Check, entry: dict) -> dict:
    _snapshot_warning(check, taken)
    return {
        "list": list_name,
        "email": check.text(entry, "email", REQUIRED, nonempty=True),
        "created_at": check.epoch(entry, "created") if entry.get("created") not in (None, "") else None,
        "reason": check.text(entry, "reason"),
        "status": check.text(entry, "status"),
        "ip": check.text(entry, "ip"),
        "group_id": group_id,
        "snapshot_at": taken,
    }
