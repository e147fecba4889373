"""The Dagster instance's event log on SQLite, with its connections kept open.

Dagster's own SQLite event log opens a new engine and connection for every event and closes them
after one insert and a synced commit: about 10 ms an event here. A daily refresh writes some
3,000 events (a materialization per model, an evaluation per dbt test) and the demo's history run
one per landing table and day, so the event log took longer than the work it recorded
(DECISIONS.md, "The demo's speed"). This storage keeps the same files and tables and differs in two
things only:

- an engine per database file stays open (the most recently used few), so SQLAlchemy's compiled
  statements and the connection are reused;
- each connection runs ``synchronous = NORMAL``. The files are in WAL mode already, where NORMAL
  still never corrupts the file: a power cut can lose the last events written, an application
  crash loses nothing;
- a table (or column) found once is remembered: Dagster asks whether its tag and check tables
  exist before every tagged materialization and every asset check event, each time through an
  engine and a connection of its own, and reads the asset table's columns before every asset event
  (13 s of a 5.5-minute demo);
- a batch of one asset's materializations or observations (Dagster sends one per partition of a
  run over a range when ``DAGSTER_EVENT_BATCH_SIZE`` is set) is written in one transaction per
  file, as Dagster's Postgres event log writes it, instead of two transactions per event.

Readers (the UI, the daemon, another run's process) open the same files as before and see every
committed event. A process that forked from one holding connections opens its own.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.pool import StaticPool

OPEN_FILES = 8  # run shards and the index: a run touches its own and the index
BATCHED = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION}


class OpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with an open engine per database file (see the module)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        self._pid = os.getpid()
        self._tables: set[str] = set()  # tables and columns found: migrations add them, none drops them
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> OpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.Engine:
        if self._pid != os.getpid():  # a forked child: its parent's connections are not its own
            self._engines, self._pid = OrderedDict(), os.getpid()
        engine = self._engines.pop(shard, None)
        if engine is None:
            # one connection per file, used under the storage's lock (so across threads, never at once)
            engine = db.create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                    "check_same_thread": False})
            db.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA synchronous = NORMAL"))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn

    def _close_all(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._close_all()  # the run files are deleted: no connection may write to them after
        self._tables.clear()
        super().wipe()

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def _has_asset_key_index_cols_on_connection(self, conn: db.Connection) -> bool:
        # asked, by reading the table's columns, before every asset event
        found = "asset_keys.last_materialization_timestamp"
        if found not in self._tables and super()._has_asset_key_index_cols_on_connection(conn):
            self._tables.add(found)
        return found in self._tables

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        kinds = {event.dagster_event_type for event in events}
        if (len(kinds) != 1 or not kinds <= BATCHED or len({event.run_id for event in events}) != 1
                or len({event.get_dagster_event().asset_key for event in events}) != 1):
            super().store_event_batch(events)  # one event at a time, as Dagster's default does
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # mirrored in the index, as store_event does; the asset's row takes the last event only
        insert = SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True)
        with self.index_transaction() as conn:
            event_ids = list(conn.execute(insert, rows).scalars())
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_event(conn, events[-1], event_ids[-1])

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
