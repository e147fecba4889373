"""A warehouse build is all or nothing: dbt builds into a copy, which replaces the warehouse only
when the build succeeded.

dbt-duckdb commits each model in its own transaction, so a build written straight into
``warehouse.duckdb`` and killed half-way would leave some tables at the new day and the rest at
the old one. Instead ``warehouse_build`` copies the warehouse to ``warehouse.building.duckdb``
(incremental models need the previous day's tables), dbt builds there, and on success the copy
is checkpointed (no WAL left beside it), synced and renamed over the warehouse: one atomic
``os.replace``. A reader opens the old file or the new one, never a mix; a reader already
connected keeps reading the old file until it reconnects. A failed or killed build leaves the
warehouse as it was; its copy is discarded at the next build.

One build at a time: an exclusive lock on ``warehouse.build.lock`` (the daily asset and the
intraday op both build; DuckDB allows one writing process). The kernel drops the lock when its
holder dies, so a killed build never blocks the next one, and whatever the next build finds at
the staging path is a killed build's leftover. See dbt_project/DECISIONS.md.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retention.duckdb_config import connect

WAL_SUFFIX = ".wal"  # DuckDB's write-ahead log sits beside its database file under this suffix


def staging_path(warehouse: Path) -> Path:
    """Where dbt builds the next warehouse: beside it, so the final rename stays on one file system."""
    return warehouse.with_name(f"{warehouse.stem}.building{warehouse.suffix}")


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.build.lock")


def wal_of(database: Path) -> Path:
    return database.with_name(database.name + WAL_SUFFIX)


def discard(database: Path) -> None:
    """Remove a database file and its WAL. The WAL goes too: replayed onto another copy, it would
    corrupt it."""
    for path in (database, wal_of(database)):
        path.unlink(missing_ok=True)


def checkpoint(database: Path) -> None:
    """Fold the WAL into the database file (opening replays it, CHECKPOINT writes it in), so the
    file alone is the whole database."""
    with connect(database) as con:
        con.execute("CHECKPOINT")


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path, target: Path) -> None:
    """A byte copy; ``copy_file_range`` lets file systems that can (btrfs, XFS) share the blocks
    instead of copying them."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        remaining = os.fstat(src.fileno()).st_size
        try:
            while remaining > 0:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), remaining)
                if copied == 0:
                    break
                remaining -= copied
        except OSError:  # not supported across these file systems: a plain copy
            src.seek(0)
            dst.seek(0)
            dst.truncate()
            shutil.copyfileobj(src, dst, 16 * 2**20)


@contextmanager
def build_lock(warehouse: Path) -> Iterator[None]:
    """Held for a whole build: blocks while another build of the same warehouse runs."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(warehouse), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def warehouse_build(warehouse: Path) -> Iterator[Path]:
    """Yields the path dbt builds into (a copy of ``warehouse``, or nothing for a first build);
    when the block ends without an exception, that build replaces ``warehouse`` atomically."""
    warehouse = Path(warehouse)
    staging = staging_path(warehouse)
    with build_lock(warehouse):
        discard(staging)  # a killed build's half-built copy
        if wal_of(warehouse).exists():  # written by a build that wrote the warehouse in place
            checkpoint(warehouse)
        if warehouse.exists():
            copy_database(warehouse, staging)
        try:
            yield staging
            if not staging.exists():
                raise FileNotFoundError(f"the build wrote no warehouse at {staging}; {warehouse} is unchanged")
            checkpoint(staging)
            fsync(staging)
            os.replace(staging, warehouse)
            fsync(warehouse.parent)  # the rename itself survives a power cut
        finally:
            discard(staging)
