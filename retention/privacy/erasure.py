"""Erasure: one person removed from every store, a tombstone kept, and a log line of what was done.

The tombstone is written first: should the walk stop half-way (a locked warehouse, a kill), the
gate and ingestion already exclude the person, and running the request again finishes the job
(every step is idempotent). The log (``privacy/log.jsonl``) holds the request id, the salted
hashes and the counts per store, never an identifier.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from retention.paths import DataDir
from retention.privacy.identity import Matcher, Subject, resolve
from retention.privacy.requests import PrivacyRequest, landed_requests, manual
from retention.privacy.stores import Walk
from retention.privacy.tombstones import LEDGER_FILE, Tombstones, person_hashes, privacy_dir, salt

LOG_FILE = "log.jsonl"
# shop/redact: everything the shop's data fills; the ledger keeps only its tombstones
SHOP_STORES = ("inbox", "landing", "quarantine", "outbox", "reports", "simulation", "exports", "state", "logs",
               "warehouse.duckdb")


@dataclass
class ErasureReport:
    request_id: str
    action: str
    hashes: list[str]
    counts: dict[str, int]
    files_changed: int
    seconds: float
    extra: dict = field(default_factory=dict)

    def log_line(self) -> dict:
        return {"request_id": self.request_id, "action": self.action, "at": datetime.now(UTC).isoformat(),
                "hashes": self.hashes, "counts": self.counts, "files_changed": self.files_changed,
                "seconds": round(self.seconds, 3), **self.extra}


class LedgerOutOfReach(RuntimeError):
    """The send ledger is on Postgres: erasure rewrites the data directory's files and would miss it."""


def _ledger_in_reach(data_dir: DataDir) -> None:
    # refuse before anything changes: a half-done erasure that looks complete is worse than none
    if data_dir.ledger_url:
        raise LedgerOutOfReach("erasure reaches the send ledger only as the SQLite file in the data directory; "
                               "this one is on Postgres (RETENTION_LEDGER_URL): nothing was erased")


def erase(data_dir: DataDir, subject: Subject, request_id: str | None = None,
          also: Iterable[Path] = ()) -> ErasureReport:
    """Remove the subject and everyone the identity graph links to them; ``also``: Dagster's storage."""
    _ledger_in_reach(data_dir)
    started = time.perf_counter()
    request_id = request_id or manual("erase", subject).request_id
    person = resolve(subject, data_dir.warehouse)
    hashes = person_hashes(salt(data_dir), person)
    Tombstones.record(data_dir, hashes, request_id)
    found = Walk(data_dir, Matcher(person), erase=True, also=also).run()
    report = ErasureReport(request_id, "erase", sorted(hashes), dict(sorted(found.counts.items())),
                           found.files_changed, time.perf_counter() - started)
    append_log(data_dir, report.log_line())
    return report


def erase_shop(data_dir: DataDir, request_id: str, forget_runs: Callable[[], int] | None = None) -> ErasureReport:
    """shop/redact: the shop's data goes whole; the ledger keeps its tombstones and nothing else.
    ``forget_runs``: deletes the orchestrator's other runs (the Dagster job passes it) and says how many."""
    _ledger_in_reach(data_dir)
    started = time.perf_counter()
    counts = {}
    if forget_runs is not None:
        counts["dagster_runs"] = forget_runs()
    for name in SHOP_STORES:
        path = data_dir.root / name
        if path.is_dir():
            counts[name] = sum(1 for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
        elif path.exists():
            counts[name] = 1
            path.unlink()
    ledger = data_dir.activation / LEDGER_FILE
    if ledger.exists():
        with closing(sqlite3.connect(ledger, isolation_level=None)) as con:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table' "
                                                "and name not like 'sqlite_%' and name != 'erased_identities'")]
            counts["ledger"] = sum(con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables)
            for table in tables:
                con.execute(f'delete from "{table}"')
            con.execute("VACUUM")
    report = ErasureReport(request_id, "erase_shop", [], counts, sum(counts.values()), time.perf_counter() - started)
    append_log(data_dir, report.log_line())
    return report


def append_log(data_dir: DataDir, line: dict) -> None:
    path = privacy_dir(data_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as out:
        out.write(orjson.dumps(line) + b"\n")


def done_requests(data_dir: DataDir) -> set[str]:
    path = privacy_dir(data_dir) / LOG_FILE
    if not path.exists():
        return set()
    return {orjson.loads(line)["request_id"] for line in path.read_bytes().splitlines() if line.strip()}


def act_on_landed(data_dir: DataDir, also: Iterable[Path] = (),
                  forget_runs: Callable[[], int] | None = None) -> list[ErasureReport]:
    """Every landed Shopify privacy request not yet acted on, in delivery order (``forget_runs``: see
    ``erase_shop``)."""
    reports = []
    done = done_requests(data_dir)
    for request in landed_requests(data_dir):
        if request.request_id in done:
            continue
        reports.append(act(data_dir, request, also, forget_runs))
        done.add(request.request_id)
    return reports


def act(data_dir: DataDir, request: PrivacyRequest, also: Iterable[Path] = (),
        forget_runs: Callable[[], int] | None = None) -> ErasureReport:
    from retention.privacy.access import export

    if request.kind == "erase_shop":
        return erase_shop(data_dir, request.request_id, forget_runs)
    if request.kind == "erase":
        return erase(data_dir, request.subject, request.request_id, also)
    return export(data_dir, request.subject, request.request_id)
