"""Data access: one JSON document of everything held about a person, store by store."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from retention.paths import DataDir
from retention.privacy.erasure import ErasureReport, append_log
from retention.privacy.identity import Matcher, Subject, resolve
from retention.privacy.requests import manual
from retention.privacy.stores import Walk
from retention.reports.exports import write_atomically

EXPORTS_DIR = "exports"  # in the data directory; an erasure removes the person's documents too


def export_path(data_dir: DataDir, request_id: str) -> Path:
    return data_dir.root / EXPORTS_DIR / f"access-{request_id.replace(':', '-')}.json"


def export(data_dir: DataDir, subject: Subject, request_id: str | None = None) -> ErasureReport:
    started = time.perf_counter()
    request_id = request_id or manual("export", subject).request_id
    person = resolve(subject, data_dir.warehouse)
    found = Walk(data_dir, Matcher(person), erase=False, skip=[data_dir.root / EXPORTS_DIR]).run()
    document = {
        "request_id": request_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "identifiers": {"emails": sorted(person.emails), "phones": sorted(person.phones),
                        "shopify_customer_ids": sorted(person.customer_ids), "names": sorted(person.names),
                        "customer_keys": sorted(person.customer_keys)},
        "counts": dict(sorted(found.counts.items())),
        "stores": {store: records for store, records in sorted(found.records.items())},
    }
    path = export_path(data_dir, request_id)
    write_atomically(path, orjson.dumps(document, default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS),
                     0o600)
    report = ErasureReport(request_id, "export", [], document["counts"], 1, time.perf_counter() - started,
                           {"document": path.relative_to(data_dir.root).as_posix()})
    append_log(data_dir, report.log_line())
    return report


def _plain(value):
    if isinstance(value, (Decimal, bytes)):
        return str(value) if isinstance(value, Decimal) else value.decode("utf-8", "replace")
    return str(value)
