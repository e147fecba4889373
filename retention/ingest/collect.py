"""What one ingestion run accumulates: landed rows per table, rejects, counts, reasons.

Counting rules (the reconciliation ``records_in == landed + quarantined`` holds per table):

- A *record* is what the provider sent as one item: an element of a Shopify page's resource
  array (or the single object of ``{"order": {...}}``), one SendGrid event, one Twilio form
  line, one JSONL line. It counts once in its table's ``records_in``, then once in
  ``landed`` or once in ``quarantined``.
- *Child rows* (order lines, refund lines, checkout lines, product variants, and the refunds
  and fulfilments embedded in an order) are derived from a landed parent. They count in their
  table's ``records_in`` and ``landed`` and never in ``quarantined``: a parent that breaks a
  rule, anywhere in its children too, goes to quarantine whole, under the parent's table, and
  yields no child rows. Refunds, fulfilments and variants can also arrive as records of their
  own (``{"refunds": [...]}``); those count like any record.
- A file that cannot be read at all (not JSON, not a page, a form line that cannot be
  decoded or classified, a broken gzip, a type its source does not read) is one record of the
  pseudo-table ``_files``: in and quarantined.

Failures stay at the level where they happen: ``convert`` types one record, and any exception
while doing so quarantines that record alone, naming the field being typed; ``parse_guarded``
reads one file, and an exception that escapes its records rolls the file's partial rows back and
quarantines the file whole. Nothing a provider sends can fail the rest of the day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from retention.ingest.records import (
    Check,
    Issue,
    bytes_to_text,
    describe,
    failing_field,
    raw_and_hash,
    sha256_hex,
    show,
)
from retention.ingest.schema import FILES_TABLE, QUARANTINE_SCHEMA

MAX_EXAMPLES = 10
GZIP_SUFFIX = ".gz"  # any inbox file may come gzip-compressed, as bulk exports often do


@dataclass(frozen=True)
class FileContext:
    """The file being parsed: its path relative to the inbox root, for lineage and messages."""

    source: str
    path: Path
    rel: str
    ingested_at: datetime

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        """The name without its extension, and without ``.gz`` for a compressed file."""
        return Path(self.path.stem).stem if self.path.suffix.lower() == GZIP_SUFFIX else self.path.stem

    def lineage(self, index: int | None, digest: str) -> dict:
        return {
            "_source_file": self.rel,
            "_record_index": index,
            "_ingested_at": self.ingested_at,
            "_record_hash": digest,
        }


class Collector:
    """Rows, rejects and counts of one source for one run (a day, or one file in tests)."""

    def __init__(self, source: str, schemas: dict[str, pa.Schema], vectorised: bool = True):
        self.source = source
        self.schemas = schemas
        self.vectorised = vectorised  # parsers may type a clean file whole (``retention.ingest.vectorised``)
        self.rows: dict[str, list[dict]] = {table: [] for table in schemas}
        self.batches: dict[str, list[pa.Table]] = {table: [] for table in schemas}
        self.records_in: Counter = Counter()
        self.landed: Counter = Counter()
        self.quarantined: Counter = Counter()
        self.rejects: list[dict] = []
        self.reasons: Counter = Counter()
        self.warnings: Counter = Counter()
        self.examples: list[str] = []

    # -- landing ------------------------------------------------------------------------------
    def land(self, table: str, row: dict) -> None:
        self.rows[table].append(row)
        self.records_in[table] += 1
        self.landed[table] += 1

    def land_table(self, table: str, data: pa.Table, merge_from: int | None = None) -> None:
        """Land records typed at once: the same rows ``land`` would have gathered one by one. With
        ``merge_from``, the batches of ``table`` from that one on (rows of the same file landed one by
        one meanwhile, already counted) are merged in, all in the file's ``_record_index`` order."""
        self.flush()
        self.records_in[table] += data.num_rows
        self.landed[table] += data.num_rows
        if merge_from is not None and len(self.batches[table]) > merge_from:
            data = pa.concat_tables([data, *self.batches[table][merge_from:]])
            data = data.take(pc.sort_indices(data, sort_keys=[("_record_index", "ascending")]))
            del self.batches[table][merge_from:]
        self.batches[table].append(data)

    def finish(
        self,
        ctx: FileContext,
        table: str,
        index: int,
        record_id,
        check: Check,
        row: dict,
        raw: str,
        digest: str,
        children: list[tuple[str, dict]] = (),
    ) -> bool:
        """Land a typed record with its children, or quarantine it whole if it broke a rule."""
        if check.errors:
            self.reject_record(ctx, table, index, record_id, check.errors, raw, digest)
            return False
        lineage = ctx.lineage(index, digest)
        row.update(lineage)
        row["_raw"] = raw
        if check.warnings:
            row["_warnings"] = check.warning_texts
            self.warnings.update(f"{table}: {w.group}" for w in check.warnings)
        self.land(table, row)
        for child_table, child in children:
            child.update(lineage)
            self.land(child_table, child)
        return True

    def convert(
        self,
        ctx: FileContext,
        table: str,
        index: int,
        record,
        parse: Callable,
        identify: Callable | None = None,
        raw: str | None = None,
        digest: str | None = None,
        noun: str = "record",
    ) -> bool:
        """Type one provider record and land it, or quarantine it alone.

        ``parse(check, record)`` returns a row, or ``(row, children)``; ``identify(record)`` its id
        for messages (asked only when it is quarantined). ``raw`` and ``digest`` default to the
        record's JSON. Any exception on the way quarantines this record with the field being
        typed, so one strange value never takes its neighbours with it."""
        check = Check()
        try:
            if raw is None:
                raw, digest = raw_and_hash(record)
            if not isinstance(record, dict):
                check.error(noun, "not a JSON object", f"not a JSON object: {show(record)}")
                result = {}
            else:
                result = parse(check, record)
        except Exception as exc:  # noqa: BLE001 -- whatever broke, it broke for this record only
            field = failing_field(exc) or noun
            check.errors = [Issue(field, f"could not be read ({type(exc).__name__})",
                                  f"could not be read: {describe(exc)}")]
            result = {}
        if raw is None:  # the record could not even be serialised
            raw = show(record)
            digest = sha256_hex(raw.encode())
        row, children = result if isinstance(result, tuple) else (result, ())
        record_id = None
        if check.errors and identify is not None:
            try:
                record_id = identify(record)
            except Exception:  # noqa: BLE001 -- an id is only for the message
                record_id = None
        return self.finish(ctx, table, index, record_id, check, row, raw, digest, children)

    # -- quarantine ---------------------------------------------------------------------------
    def reject_record(
        self, ctx: FileContext, table: str, index: int | None, record_id, errors: list[Issue], raw: str, digest: str
    ) -> None:
        what = f"record {index}" if index is not None else "file"
        rid = f" (id {record_id})" if record_id not in (None, "") else ""
        reason = f"{self.source} {table} {what} of {ctx.name}{rid}: " + "; ".join(str(e) for e in errors)
        self._reject(ctx, table, index, record_id, reason, f"{table}: {errors[0].group}", raw, digest)

    def reject_file(self, ctx: FileContext, problem: str, short: str, raw: str, digest: str, table: str = FILES_TABLE,
                    index: int | None = None) -> None:
        """A file (or a line) that yields no record at all."""
        where = f"{table} record {index} (line {index + 1}) of {ctx.name}" if index is not None else f"file {ctx.name}"
        reason = f"{self.source} {where}: {problem}"
        self._reject(ctx, table, index, None, reason, f"{table}: {short}", raw, digest)

    def _reject(self, ctx, table, index, record_id, reason, group, raw, digest) -> None:
        self.records_in[table] += 1
        self.quarantined[table] += 1
        self.reasons[group] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(reason)
        self.rejects.append(
            {
                "source": self.source,
                "table": table,
                "_source_file": ctx.rel,
                "_record_index": index,
                "record_id": None if record_id is None else str(record_id),
                "reason": reason,
                "reason_group": group,
                "raw": raw,
                "_ingested_at": ctx.ingested_at,
                "_record_hash": digest,
            }
        )

    # -- one file, all or nothing --------------------------------------------------------------
    def parse_guarded(self, ctx: FileContext, read: Callable, parse: Callable | None) -> None:
        """``parse(ctx, read(ctx, self), self)`` (``read`` returns None after quarantining the file),
        then its rows to Arrow. If anything escapes the file's records (a read error, a parser fault
        between records, a row Arrow refuses), the file's partial rows and rejects are rolled back
        and the file is quarantined whole."""
        mark = self._mark()
        data = None
        try:
            data = read(ctx, self)
            if data is not None:
                parse(ctx, data, self)
            self.flush()
        except Exception as exc:  # noqa: BLE001 -- a file-level fault is reported, never raised
            self._rollback(mark)
            body = data or b""
            self.reject_file(ctx, f"could not be read: {describe(exc)}", f"could not be read ({type(exc).__name__})",
                             bytes_to_text(body), sha256_hex(body))

    def _mark(self) -> tuple:
        counters = (self.records_in, self.landed, self.quarantined, self.reasons, self.warnings)
        return (
            {table: len(rows) for table, rows in self.rows.items()},
            {table: len(batches) for table, batches in self.batches.items()},
            [counter.copy() for counter in counters],
            len(self.rejects),
            len(self.examples),
        )

    def _rollback(self, mark: tuple) -> None:
        rows, batches, counters, rejects, examples = mark
        for table, count in rows.items():
            del self.rows[table][count:]
        for table, count in batches.items():
            del self.batches[table][count:]
        self.records_in, self.landed, self.quarantined, self.reasons, self.warnings = counters
        del self.rejects[rejects:]
        del self.examples[examples:]

    # -- output ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Turn the rows gathered so far into Arrow (called after each file): the Python objects
        of one file are freed and their memory reused by the next, instead of a whole day's
        worth of dicts, Decimals and datetimes living until the end."""
        for table, rows in self.rows.items():
            if rows:
                self.batches[table].append(pa.Table.from_pylist(rows, schema=self.schemas[table]))
                self.rows[table] = []

    def landing_tables(self) -> dict[str, pa.Table]:
        self.flush()
        return {
            table: pa.concat_tables(batches) if batches else self.schemas[table].empty_table()
            for table, batches in self.batches.items()
        }

    def quarantine_tables(self) -> dict[str, pa.Table]:
        """One quarantine table per landing table plus ``_files``, empty where nothing was rejected."""
        by_table: dict[str, list[dict]] = {table: [] for table in [*self.schemas, FILES_TABLE]}
        for reject in self.rejects:
            by_table.setdefault(reject["table"], []).append(reject)
        return {table: pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA) for table, rows in by_table.items()}

    def counted_tables(self) -> list[str]:
        tables = list(self.schemas)
        if self.records_in[FILES_TABLE]:
            tables.append(FILES_TABLE)
        return tables
