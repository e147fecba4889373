"""One delivery day of one source: read ``inbox/<source>/<day>/``, parse, write the partitions."""

from __future__ import annotations

import gzip
import logging
import multiprocessing as mp
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from pathlib import Path
from types import ModuleType

import pyarrow as pa

from retention.ingest import jsonl_sources, sendgrid, sendgrid_suppressions, shopify, shopify_graphql, twilio
from retention.ingest.collect import GZIP_SUFFIX, Collector, FileContext
from retention.ingest.landing import write_day
from retention.ingest.records import UTC, bytes_to_text, sha256_hex
from retention.ingest.schema import FILES_TABLE, QUARANTINE_SCHEMA
from retention.live.inbox_writer import remove_orphan_tmp
from retention.paths import DataDir
from retention.privacy.tombstones import Tombstones

log = logging.getLogger("retention.ingest")

PARSERS: dict[str, ModuleType] = {
    "shopify": shopify,
    "sendgrid": sendgrid,
    "sendgrid_suppressions": sendgrid_suppressions,
    "twilio": twilio,
    "web": jsonl_sources,
    "reviews": jsonl_sources,
    "nps": jsonl_sources,
    "preferences": jsonl_sources,
    "subscriptions": jsonl_sources,
}
SCHEMAS: dict[str, dict[str, pa.Schema]] = {
    "shopify": shopify.SCHEMAS,
    "sendgrid": sendgrid.SCHEMAS,
    "sendgrid_suppressions": sendgrid_suppressions.SCHEMAS,
    "twilio": twilio.SCHEMAS,
    **{source: {table: schema} for source, (table, schema, _, _) in jsonl_sources.SOURCES.items()},
}
SOURCE_TABLES: dict[str, tuple[str, ...]] = {source: tuple(tables) for source, tables in SCHEMAS.items()}
# further file kinds of a source, by file name, landing in the source's tables: (matches(name), parser module)
FILE_KINDS: dict[str, list[tuple]] = {
    "shopify": [(shopify_graphql.is_graphql_file, shopify_graphql)],  # gql-*.json pages, gql-bulk-*.jsonl
}


def parser_for(source: str, name: str) -> ModuleType:
    for matches, module in FILE_KINDS.get(source, ()):
        if matches(name):
            return module
    return PARSERS[source]


@dataclass(frozen=True)
class TableCounts:
    records_in: int = 0
    landed: int = 0
    quarantined: int = 0


@dataclass
class IngestReport:
    source: str
    day: date
    files: int
    tables: dict[str, TableCounts]
    reasons: dict[str, int]
    examples: list[str]
    warnings: dict[str, int] = field(default_factory=dict)
    # files of a type the source does not read: quarantined whole in ``_files``
    skipped_files: list[str] = field(default_factory=list)
    erased: int = 0  # records naming an erased person, dropped (retention.privacy)

    @property
    def records_in(self) -> int:
        return sum(c.records_in for c in self.tables.values())

    @property
    def landed(self) -> int:
        return sum(c.landed for c in self.tables.values())

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.tables.values())


@dataclass
class ParsedFiles:
    """Parsed rows and rejects, not written anywhere (``parse_file`` / ``parse_files``)."""

    tables: dict[str, pa.Table]
    quarantine: pa.Table
    counts: dict[str, TableCounts]
    reasons: dict[str, int]
    examples: list[str]
    warnings: dict[str, int]


def _check_source(source: str) -> None:
    if source not in PARSERS:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(PARSERS)}")


def inbox_files(data_dir: DataDir, source: str, day: date) -> tuple[list[Path], list[Path]]:
    """(files to ingest, files of a type the source does not read), sorted by path; hidden files
    (a writer's temporary files among them) ignored."""
    folder = data_dir.inbox_day(source, day)
    if not folder.is_dir():
        return [], []
    files, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        (files if file_extension(path) in parser_for(source, path.name).EXTENSIONS else skipped).append(path)
    return files, skipped


def file_extension(path: Path) -> str:
    """``.json`` for ``orders-0001.json`` and for ``orders-0001.json.gz`` alike."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [GZIP_SUFFIX]:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def read_inbox_file(ctx: FileContext, collector: Collector) -> bytes | None:
    """The file's bytes, decompressed when it ends in ``.gz``; None after quarantining a broken archive."""
    data = ctx.path.read_bytes()
    if ctx.path.suffix.lower() != GZIP_SUFFIX:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        collector.reject_file(ctx, f"not a readable gzip file: {exc}", "not a readable gzip file",
                              bytes_to_text(data), sha256_hex(data))
        return None


def reject_unknown_type(ctx: FileContext, collector: Collector) -> None:
    """A file whose extension its source does not read is quarantined whole, never silently left."""
    data = ctx.path.read_bytes()
    extension = file_extension(ctx.path) or "(none)"
    known = ", ".join(parser_for(ctx.source, ctx.name).EXTENSIONS)
    collector.reject_file(ctx, f"unknown file type {extension} for source {ctx.source} (it reads {known})",
                          "unknown file type", bytes_to_text(data), sha256_hex(data))


def _collect(source: str, paths: list[Path], inbox_root: Path | None, ingested_at: datetime,
             unknown: list[Path] = (), vectorised: bool = True) -> Collector:
    collector = Collector(source, SCHEMAS[source], vectorised)
    unknown_types = set(unknown)
    for path in [*paths, *unknown]:
        try:
            rel = path.resolve().relative_to(inbox_root.resolve()).as_posix() if inbox_root else path.name
        except ValueError:
            rel = path.name
        ctx = FileContext(source=source, path=path, rel=rel, ingested_at=ingested_at)
        if path in unknown_types:  # quarantined whole: reading it yields nothing to parse
            collector.parse_guarded(ctx, reject_unknown_type, None)
        else:
            collector.parse_guarded(ctx, read_inbox_file, parser_for(source, path.name).parse_file)
    return collector


def _counts(collector: Collector) -> dict[str, TableCounts]:
    return {
        table: TableCounts(collector.records_in[table], collector.landed[table], collector.quarantined[table])
        for table in collector.counted_tables()
    }


def parse_files(source: str, paths: list[Path], inbox_root: Path | None = None,
                ingested_at: datetime | None = None, vectorised: bool = True) -> ParsedFiles:
    """Parse files of ``source`` (any extension) without writing: typed tables and rejects.
    ``vectorised=False`` types every record one at a time (what the whole-file path must equal)."""
    _check_source(source)
    collector = _collect(source, [Path(p) for p in paths], inbox_root, ingested_at or datetime.now(UTC),
                         vectorised=vectorised)
    return ParsedFiles(
        tables=collector.landing_tables(),
        quarantine=pa.Table.from_pylist(collector.rejects, schema=QUARANTINE_SCHEMA),
        counts=_counts(collector),
        reasons=dict(collector.reasons),
        examples=list(collector.examples),
        warnings=dict(collector.warnings),
    )


def parse_file(source: str, path: Path | str, inbox_root: Path | None = None) -> ParsedFiles:
    return parse_files(source, [Path(path)], inbox_root)


def default_workers() -> int:
    """One ingestion process per core: parsing is CPU-bound and each day writes only its own partitions."""
    return os.cpu_count() or 1


def ingest_days(data_dir: DataDir, source: str, days: list[date], workers: int | None = None) -> list[IngestReport]:
    """``ingest_day`` for each day, in order, spread over ``workers`` processes (default: one per core)."""
    workers = min(workers or default_workers(), len(days))
    if workers <= 1:
        return [ingest_day(data_dir, source, day) for day in days]
    try:
        return list(_pool(workers).map(ingest_day, repeat(data_dir), repeat(source), days))
    except BrokenProcessPool:
        # a worker died since (killed, out of memory): once more on new workers, as landing a day
        # again replaces it; a second death is the caller's to see
        _POOLS.pop(workers).shutdown(wait=False)
        return list(_pool(workers).map(ingest_day, repeat(data_dir), repeat(source), days))


# Worker pools by size, kept for the process's later calls (the sources of a history run, the days
# of a backfill). The workers come from a fork server, not a fork of the caller (which may be a
# threaded Dagster step), and a new worker imports the caller's main module again (multiprocessing
# prepares every spawned process so): in `make demo` that is the Dagster definitions, 7 s a worker.
_POOLS: dict[int, ProcessPoolExecutor] = {}
_POOLS_PID = os.getpid()


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOLS, _POOLS_PID
    if _POOLS_PID != os.getpid():  # a forked child: the parent's pools are not its own
        _POOLS, _POOLS_PID = {}, os.getpid()
    pool = _POOLS.get(workers)
    if pool is None:
        context = mp.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        pool = _POOLS[workers] = ProcessPoolExecutor(workers, mp_context=context)
    return pool


def ingest_day(data_dir: DataDir, source: str, day: date, vectorised: bool = True) -> IngestReport:
    """Land ``inbox/<source>/<day>/`` into ``landing/`` and ``quarantine/``, replacing that day.

    First removes the temporary files that a killed writer left in the day's inbox folder and
    partitions (``remove_orphan_tmp``: only those whose writing process is gone)."""
    _check_source(source)
    orphans = sum(remove_orphan_tmp(folder) for folder in day_folders(data_dir, source, day))
    files, unknown = inbox_files(data_dir, source, day)
    collector = _collect(source, files, data_dir.inbox, datetime.now(UTC), unknown, vectorised)
    landing, quarantine = collector.landing_tables(), collector.quarantine_tables()
    erased = Tombstones.load(data_dir).drop_erased(landing, quarantine)  # a stale feed brings nobody back
    write_day(data_dir, source, day, landing, quarantine)
    report = IngestReport(
        source=source,
        day=day,
        files=len(files),
        tables=_counts(collector),
        reasons=dict(collector.reasons.most_common()),
        examples=list(collector.examples),
        warnings=dict(collector.warnings.most_common()),
        skipped_files=[p.relative_to(data_dir.inbox).as_posix() for p in unknown],
        erased=erased,
    )
    log.info("%s %s: %d file(s), %d row(s) in (records and their child rows), %d landed, %d quarantined, "
             "%d of them files or lines that could not be read or are of an unknown type%s",
             source, day, len(files) + len(unknown), report.records_in, report.landed, report.quarantined,
             collector.quarantined[FILES_TABLE], f"; {orphans} orphan temporary file(s) removed" if orphans else "")
    return report


def day_folders(data_dir: DataDir, source: str, day: date) -> list[Path]:
    """Where a run for ``source`` and ``day`` writes or reads: the inbox folder and every partition."""
    partitions = [partition(source, table, day)
                  for partition in (data_dir.landing_partition, data_dir.quarantine_partition)
                  for table in [*SCHEMAS[source], FILES_TABLE]]
    return [data_dir.inbox_day(source, day), *partitions]
