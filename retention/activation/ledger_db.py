"""Where the send ledger lives: a SQLite file (the default) or a Postgres database.

    connect("data/activation/ledger.sqlite")        # SQLite, embedded, one machine
    connect("postgresql://user:pw@host/db")         # Postgres, shared by every machine that sends

The ledger's SQL is written once (``retention.activation.ledger``, ``lease``): ``?`` placeholders,
``ON CONFLICT`` upserts, timestamps as fixed-width UTC text (so comparisons are chronological on
both). This module is the only place the two engines differ:

- placeholders: ``?`` becomes ``%s`` for psycopg;
- one writer at a time: SQLite's ``BEGIN IMMEDIATE``; on Postgres ``BEGIN`` then a transaction-level
  advisory lock (``pg_advisory_xact_lock``), released by COMMIT or ROLLBACK, also when the client is
  killed. Every ledger transaction is short (a batch's claim, its results), so serialising them
  costs little and keeps the exact semantics the ledger was written for; reads never wait (MVCC);
- schema: SQLite's ``INTEGER PRIMARY KEY AUTOINCREMENT`` is an identity column, ``REAL`` a double;
- a table's columns (the migration of older ledgers): ``PRAGMA table_info`` or ``information_schema``.

Rows read by name on both (``row["status"]``). The URL's password is never shown: ``name`` is the
URL without it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

POSTGRES_SCHEMES = ("postgresql", "postgres")
# any constant: the advisory lock that stands for SQLite's single writer (one per database)
LEDGER_LOCK_KEY = 0x5E4D_1ED6
# Busy waits on SQLite; on Postgres the wait for the lock is bounded by lock_timeout.
DEFAULT_TIMEOUT_MS = 30_000
# Claiming 1,000 sends in a ledger of 100,000 dirties ~1,800 pages (random keys in two indexes):
# at SQLite's default of 1,000 pages every claim also ran a checkpoint (the pages copied into the
# database file, one more fsync). Every ~40 MB of WAL, a page rewritten by several batches is
# copied once. Each commit is still synced to the WAL, so durability is the same.
WAL_CHECKPOINT_PAGES = 10_000
# A claim inserts its send_ids (random hashes) all over the primary key's pages: with SQLite's
# default 2 MiB page cache they are read again from the file for every batch once the ledger holds
# a few hundred thousand sends (claiming and recording 200,000: 8.7–8.9 s of CPU, 7.8 s with 64 MiB).
# An upper bound, taken only as pages are read.
PAGE_CACHE_KIB = 65_536


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and urlsplit(target).scheme in POSTGRES_SCHEMES


def redacted(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter): what logs and
    metadata may show."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    query = "&".join("password=***" if pair.lower().startswith("password=") else pair
                     for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def connect(target: str | Path, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> LedgerDb:
    return PostgresLedgerDb(str(target), timeout_ms) if is_postgres(target) else SqliteLedgerDb(target, timeout_ms)


class SqliteLedgerDb:
    Error = sqlite3.Error

    def __init__(self, path: str | Path, timeout_ms: int = DEFAULT_TIMEOUT_MS):
        self.name = str(path)
        self.timeout_ms = timeout_ms
        self.shared = self.name != ":memory:"  # another process (or connection) sees the same ledger
        if self.shared:
            Path(self.name).parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: every transaction is an explicit BEGIN IMMEDIATE ... COMMIT
        self.conn = sqlite3.connect(self.name, timeout=timeout_ms / 1000, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
        # readers never block the writer; a committed claim survives a power cut (the point of claiming first)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        self.conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")

    def reconnect(self) -> SqliteLedgerDb:
        """Another connection to the same ledger (the lease's heartbeat thread)."""
        return SqliteLedgerDb(self.name, self.timeout_ms)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def create(self, schema: str) -> None:
        self.conn.executescript(schema)

    def columns(self, table: str) -> set[str]:
        return {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self.conn, params=params)

    @contextmanager
    def transaction(self) -> Iterator[SqliteLedgerDb]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class PostgresLedgerDb:
    def __init__(self, url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS):
        import psycopg  # only a Postgres ledger needs the driver loaded
        from psycopg.rows import dict_row

        self.Error = psycopg.Error
        self.url, self.name, self.timeout_ms, self.shared = url, redacted(url), timeout_ms, True
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row,
                                        options=f"-c lock_timeout={int(timeout_ms)}")
        except psycopg.OperationalError as exc:  # its message may quote the URL: name it without the password
            raise ConnectionError(f"cannot open the ledger at {self.name}: {type(exc).__name__}") from None

    def reconnect(self) -> PostgresLedgerDb:
        return PostgresLedgerDb(self.url, self.timeout_ms)

    def execute(self, sql: str, params: Sequence[Any] = ()):
        return self.conn.execute(_postgres(sql), params) if params else self.conn.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_postgres(sql), rows)

    def create(self, schema: str) -> None:
        # two processes opening a new ledger at once: the lock makes the second see the first's tables
        with self.transaction():
            self.conn.execute(schema.replace("INTEGER PRIMARY KEY AUTOINCREMENT",
                                             "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                              .replace(" REAL", " DOUBLE PRECISION"))

    def columns(self, table: str) -> set[str]:
        rows = self.conn.execute("SELECT column_name FROM information_schema.columns "
                                 "WHERE table_schema = current_schema() AND table_name = %s", (table,))
        return {row["column_name"] for row in rows}

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])

    @contextmanager
    def transaction(self) -> Iterator[PostgresLedgerDb]:
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LEDGER_LOCK_KEY,))
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


LedgerDb = SqliteLedgerDb | PostgresLedgerDb


@lru_cache(maxsize=256)
def _postgres(sql: str) -> str:
    # the ledger's SQL has no '?' or '%' inside its literals
    return sql.replace("%", "%%").replace("?", "%s")
