"""Every file of the data directory, by its format: find one person's records, or remove them.

One walk serves both requests: ``collect`` gathers the person's records per store (data access),
``erase`` removes them and rewrites each changed file atomically (written beside it, then
renamed over it). What a format holds and how a record of it is removed:

- JSON (inbox pages, webhook bodies, outbox request bodies, access exports): an object with a
  field naming the person is their record and goes whole, with the object or file it sits in;
  a list loses just those elements. JSON Lines, CSV and Twilio's form lines: the lines naming
  them. Any file may be gzip-compressed.
- Parquet (landing, quarantine): the rows naming them, and the rows sharing their lineage
  (an order's lines carry the order's ``_source_file`` and ``_record_index``), per source and day.
- DuckDB (the warehouse): the rows naming them in every table, then the file is copied table by
  table into a new one, so that deleted rows do not linger in free blocks.
- SQLite: the send ledger loses the rows, Dagster's storage (run configs, event logs) has the
  identifiers redacted in place; both are then VACUUMed, which rewrites the file.
- Any other text (reports, logs): the identifiers are redacted. Binary files (pictures) hold none.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retention.duckdb_config import connect
from retention.ingest.landing import PARQUET_OPTIONS
from retention.paths import DataDir
from retention.privacy.identity import Matcher
from retention.reports.exports import write_atomically

SQLITE_HEADER = b"SQLite format 3\x00"
JSON_SUFFIXES = {".json"}
LINE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".txt"}
SKIPPED_SUFFIXES = {".wal", ".tmp", "-wal", "-shm", "-journal", ".lock"}
KEPT_FILES = {("privacy", "log.jsonl"), ("privacy", "salt")}  # hashes and counts only
TEXT_BATCH_CHARS = 64 * 2**20  # text files matched together: one regular expression compilation per batch
_DROP = object()


@dataclass
class Findings:
    """Per store (``inbox``, ``landing``, ``warehouse`` ...): how many records, and in collect mode which."""

    counts: Counter = field(default_factory=Counter)
    records: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    files_changed: int = 0

    def add(self, store: str, records: list, keep: bool) -> None:
        self.counts[store] += len(records)
        if keep:
            self.records[store].extend(records)


class Walk:
    def __init__(self, data_dir: DataDir, matcher: Matcher, erase: bool, skip: Iterable[Path] = (),
                 also: Iterable[Path] = ()):
        """``also``: further directories to walk (Dagster's storage when it is outside the data dir)."""
        self.root = data_dir.root
        self.roots = [self.root, *(Path(p).resolve() for p in also if not _inside(Path(p).resolve(), self.root))]
        self.ledger = data_dir.activation / "ledger.sqlite"
        self.matcher = matcher
        self.erase = erase
        self.skip = {Path(p).resolve() for p in skip}
        self.found = Findings()

    def run(self) -> Findings:
        parquet_groups: dict[tuple, list[Path]] = defaultdict(list)
        databases, batch, batch_bytes = [], [], 0
        for path in sorted(self._files()):
            if path.suffix == ".parquet":
                parquet_groups[_lineage_group(self.root, path)].append(path)
            elif path.suffix == ".duckdb":
                databases.append(path)
            elif (text := self._file(path)) is not None:
                batch.append((path, text))
                batch_bytes += len(text)
                if batch_bytes >= TEXT_BATCH_CHARS:
                    self._text_files(batch)
                    batch, batch_bytes = [], 0
        self._text_files(batch)
        for key in _groups_naming(parquet_groups, self.matcher):
            self._parquet_group(parquet_groups[key])
        # the warehouse last: its identity graph is what a request run again after a failure resolves from
        for path in databases:
            self._duckdb(path)
        return self.found

    def _files(self) -> Iterable[Path]:
        kept = {self.root.joinpath(*parts) for parts in KEPT_FILES}
        for root in self.roots:
            for dirpath, _, filenames in os.walk(root):
                for name in filenames:
                    path = Path(dirpath) / name
                    if (path not in kept and not any(_inside(path.resolve(), s) for s in self.skip)
                            and not any(name.endswith(s) for s in SKIPPED_SUFFIXES)):
                        yield path

    def _store(self, path: Path) -> str:
        if not _inside(path, self.root):
            return "dagster"
        rel = path.relative_to(self.root).parts
        return rel[0] if len(rel) > 1 else path.stem

    # ------------------------------------------------------------------ one file
    def _file(self, path: Path) -> str | None:
        """A SQLite file is handled here; the text of any other (None for binary or a broken archive)."""
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
        if head == SQLITE_HEADER:
            self._sqlite(path, delete=path.resolve() == self.ledger.resolve())
            return None
        data = path.read_bytes()
        if path.suffix == ".gz":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                return None  # a broken archive: ingestion quarantines it whole, with its text
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None  # binary (a picture): no identifiers in text form

    def _text_files(self, batch: list[tuple[Path, str]]) -> None:
        """Many files' texts matched in one call (a call compiles the expression once), then the
        few that name the person scrubbed one by one."""
        for (path, text), hit in zip(batch, self.matcher.matching([text for _, text in batch]), strict=True):
            if hit:
                self._text_file(path, text)

    def _text_file(self, path: Path, text: str) -> None:
        compressed = path.suffix == ".gz"
        suffix = Path(path.stem).suffix if compressed else path.suffix
        records, new_text = self._scrub_text(text, suffix.lower())
        self.found.add(self._store(path), records, keep=not self.erase)
        if self.erase:
            self.found.files_changed += 1
            if new_text is None:
                path.unlink()
            else:
                body = new_text.encode()
                write_atomically(path, gzip.compress(body) if compressed else body, path.stat().st_mode & 0o777)

    def _scrub_text(self, text: str, suffix: str) -> tuple[list, str | None]:
        """(the person's records, the text without them; None when nothing is left of the file)."""
        if suffix in JSON_SUFFIXES:
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError:
                doc = _DROP
            if doc is not _DROP:
                removed: list = []
                kept = _prune(doc, self.matcher.naming(_scalars(doc)), removed)
                return removed, None if kept is _DROP else orjson.dumps(kept).decode()
        if suffix in LINE_SUFFIXES | JSON_SUFFIXES:
            lines = text.splitlines(keepends=True)
            hits = self.matcher.matching(lines)
            removed_lines = [line for line, hit in zip(lines, hits, strict=True) if hit]
            kept_lines = [line for line, hit in zip(lines, hits, strict=True) if not hit]
            return [line.rstrip("\n") for line in removed_lines], "".join(kept_lines)
        found = [m.group(0) for m in self.matcher.regex.finditer(text)]
        return found, self.matcher.redact(text)

    # ------------------------------------------------------------------ Parquet
    def _parquet_group(self, paths: list[Path]) -> None:
        """The partitions of one source and day: a match in one table takes the rows of every table
        that share its lineage (a quarantined order, an order's lines)."""
        tables = {path: pq.read_table(path) for path in paths}
        lineage: set[tuple] = set()
        masks = {}
        for path, table in tables.items():
            masks[path] = self._row_mask(table)
            if "_source_file" in table.column_names and pc.any(masks[path]).as_py():
                matched = table.filter(masks[path])
                lineage |= set(zip(matched["_source_file"].to_pylist(), matched["_record_index"].to_pylist(),
                                   strict=True))
        for path, table in tables.items():
            mask = masks[path]
            if lineage and "_source_file" in table.column_names:
                mask = pc.or_(mask, _lineage_mask(table, lineage))
            hits = pc.sum(mask).as_py() or 0
            if not hits:
                continue
            self.found.add(self._store(path), table.filter(mask).to_pylist() if not self.erase else [None] * hits,
                           keep=not self.erase)
            if self.erase:
                self.found.files_changed += 1
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                pq.write_table(table.filter(pc.invert(mask)), tmp, **PARQUET_OPTIONS)  # as landed
                os.replace(tmp, path)

    def _row_mask(self, table: pa.Table):
        mask = pa.array([False] * table.num_rows, pa.bool_())
        person = self.matcher.person
        for name, column in zip(table.column_names, table.columns, strict=True):
            kind = column.type
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                hit = pc.match_substring_regex(column, self.matcher.pattern)
            elif pa.types.is_list(kind) and pa.types.is_string(kind.value_type):
                flat = pc.binary_join(column, "\n")
                hit = pc.match_substring_regex(flat, self.matcher.pattern)
            elif pa.types.is_integer(kind) and name.endswith(("customer_id", "order_id")):
                ids = person.customer_ids if name.endswith("customer_id") else person.order_ids
                hit = pc.is_in(column, value_set=pa.array(sorted(ids), pa.int64()))
            else:
                continue
            mask = pc.or_(mask, pc.fill_null(hit, False))
        return mask

    # ------------------------------------------------------------------ DuckDB
    def _duckdb(self, path: Path) -> None:
        person = self.matcher.person
        changed = False
        with connect(path, read_only=not self.erase) as con:
            tables = con.execute("select table_schema, table_name from information_schema.tables "
                                 "where table_type = 'BASE TABLE'").fetchall()
            for schema, table in tables:
                where = _duckdb_predicate(con, schema, table, self.matcher.pattern, person)
                if not where:
                    continue
                name = f'"{schema}"."{table}"'
                if self.erase:
                    hits = con.execute(f"delete from {name} where {where}").fetchone()[0]
                    self.found.add("warehouse", [None] * hits, keep=False)
                    changed |= hits > 0
                else:
                    frame = con.execute(f"select * from {name} where {where}").df()
                    if len(frame):
                        self.found.add("warehouse", [{"table": table, **r} for r in
                                                     orjson.loads(frame.to_json(orient="records", date_format="iso"))],
                                       keep=True)
            if changed:
                con.execute("checkpoint")
        if changed:
            self.found.files_changed += 1
            _rewrite_duckdb(path)

    # ------------------------------------------------------------------ SQLite
    def _sqlite(self, path: Path, delete: bool) -> None:
        regex = self.matcher.regex
        with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as con:
            con.create_function("names_person", 1, lambda v: v is not None and bool(regex.search(str(v))),
                                deterministic=True)
            con.create_function("redact_person", 1, lambda v: self.matcher.redact(v) if isinstance(v, str) else v,
                                deterministic=True)
            changed = 0
            con.execute("BEGIN IMMEDIATE")
            for (table,) in con.execute("select name from sqlite_master where type = 'table' "
                                        "and name not like 'sqlite_%'").fetchall():
                columns = [r[1] for r in con.execute(f'pragma table_info("{table}")').fetchall()
                           if r[2].upper() in ("TEXT", "VARCHAR", "BLOB", "") or "CHAR" in r[2].upper()]
                if not columns:
                    continue
                where = " or ".join(f'names_person("{c}")' for c in columns)
                rows = con.execute(f'select * from "{table}" where {where}').fetchall()
                if not rows:
                    continue
                store = "ledger" if delete else self._store(path)
                self.found.add(store, [dict(zip([d[0] for d in con.execute(f'select * from "{table}" limit 0')
                                                 .description], r, strict=True)) for r in rows] if not self.erase
                               else [None] * len(rows), keep=not self.erase)
                if self.erase:
                    changed += len(rows)
                    if delete:
                        con.execute(f'delete from "{table}" where {where}')
                    else:
                        sets = ", ".join(f'"{c}" = redact_person("{c}")' for c in columns)
                        con.execute(f'update "{table}" set {sets} where {where}')
            con.execute("COMMIT")
            if changed:
                self.found.files_changed += 1
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                con.execute("VACUUM")  # rewrites the file: the deleted rows' pages are gone
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _scalars(value) -> set[str]:
    """Every string and whole number of a JSON document, as text, to be matched in one call: a call
    per value compiles the expression each time (three quarters of an erasure's time, when it did)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif _is_text(item):
            found.add(str(item))
    return found


def _is_text(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _prune(value, named: set[str], removed: list):
    """The value without the person's records (``_DROP`` when it is one); ``named``: the document's
    scalars, as text, that name them."""
    if isinstance(value, dict):
        if any(_is_text(v) and str(v) in named for v in value.values()):
            removed.append(value)
            return _DROP
        kept = {}
        for key, child in value.items():
            pruned = _prune(child, named, removed)
            if pruned is _DROP:  # a record inside a record: the whole outer one is theirs
                removed[-1] = value
                return _DROP
            kept[key] = pruned
        return kept
    if isinstance(value, list):
        pruned = [_prune(v, named, removed) for v in value]
        return [v for v in pruned if v is not _DROP]
    if _is_text(value) and str(value) in named:
        removed.append(value)
        return _DROP
    return value


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _lineage_group(root: Path, path: Path) -> tuple:
    """landing|quarantine/<source>/<table>/date=D/part-0.parquet -> (source, D); else the file alone."""
    rel = path.relative_to(root).parts
    if len(rel) == 5 and rel[0] in ("landing", "quarantine") and rel[3].startswith("date="):
        return (rel[1], rel[3])
    return (str(path),)


def _lineage_mask(table: pa.Table, lineage: set[tuple]):
    keys = pa.array([f"{f}\x00{-1 if i is None else i}" for f, i in lineage], pa.string())
    index = pc.cast(pc.fill_null(table["_record_index"], -1), pa.string())
    return pc.fill_null(pc.is_in(pc.binary_join_element_wise(table["_source_file"], index, "\x00"),
                                 value_set=keys), False)


def _groups_naming(groups: dict[tuple, list[Path]], matcher: Matcher) -> list[tuple]:
    """The lineage groups with a file naming the person: one DuckDB scan per table folder finds
    them, rather than opening every partition from Python."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    group_of = {}
    for key, paths in groups.items():
        for path in paths:
            by_folder[path.parent.parent].append(path)
            group_of[str(path)] = key
    hit = set()
    with connect() as con:
        for paths in by_folder.values():
            files = [str(p) for p in paths]
            source = "read_parquet(?, filename = true, union_by_name = true, hive_partitioning = false)"
            columns = con.execute(f"select column_name, column_type from (describe select * from {source})",
                                  [files]).fetchall()
            where = _predicate(columns, matcher.pattern, matcher.person)
            if where:
                hit |= {group_of[f] for (f,) in con.execute(f"select distinct filename from {source} where {where}",
                                                            [files]).fetchall()}
    return sorted(hit)


def _duckdb_predicate(con, schema: str, table: str, pattern: str, person) -> str:
    return _predicate(con.execute("select column_name, data_type from information_schema.columns "
                                  "where table_schema = ? and table_name = ?", [schema, table]).fetchall(),
                      pattern, person)


def _predicate(columns: list[tuple[str, str]], pattern: str, person) -> str:
    """SQL naming the person in any text column (lists and structs as text) or id column."""
    clauses = []
    literal = pattern.replace("'", "''")
    for column, kind in columns:
        quoted = f'"{column}"'
        if kind == "VARCHAR" or kind.endswith("[]") or kind.startswith(("STRUCT", "MAP", "JSON")):
            text = quoted if kind == "VARCHAR" else f"cast({quoted} as varchar)"
            clauses.append(f"coalesce(regexp_matches({text}, '{literal}'), false)")
        elif kind in ("BIGINT", "INTEGER", "HUGEINT") and column.endswith(("customer_id", "order_id")):
            ids = person.customer_ids if column.endswith("customer_id") else person.order_ids
            if ids:
                clauses.append(f"{quoted} in ({', '.join(str(int(i)) for i in sorted(ids))})")
    return " or ".join(clauses)


def _rewrite_duckdb(path: Path) -> None:
    """Copy every table into a fresh file and rename it over the old one: a DELETE only marks
    blocks free, and their bytes would stay in the file until reused."""
    fresh = path.with_name(f"{path.stem}.{os.getpid()}.rewrite.duckdb")
    fresh.unlink(missing_ok=True)
    with connect() as con:
        con.execute(f"attach '{path}' as old (read_only)")
        con.execute(f"attach '{fresh}' as fresh")
        con.execute("copy from database old to fresh")
        con.execute("detach fresh")
        con.execute("detach old")
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)
