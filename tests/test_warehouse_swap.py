"""The warehouse build's copy and swap (retention/warehouse_swap.py) on real DuckDB files: a build
replaces the warehouse only when it succeeds, a killed build's leftovers never reach the next one,
and builds take turns. The same with dbt and kill -9: tests/test_faults.py."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading

import duckdb
import pytest

from retention.warehouse_swap import lock_path, staging_path, wal_of, warehouse_build


def write_day(database, day: int) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create or replace table days as select ? as day", [day])


def read_day(database) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select day from days").fetchone()[0]


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    write_day(path, 1)
    return path


def test_a_build_that_succeeds_replaces_the_warehouse_and_leaves_nothing_beside_it(warehouse):
    with warehouse_build(warehouse) as staging:
        assert read_day(staging) == 1  # the build starts from the previous day (incremental models)
        write_day(staging, 2)
        assert read_day(warehouse) == 1  # readers see the previous day until the swap
    assert read_day(warehouse) == 2
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [lock_path(warehouse).name, warehouse.name]


def test_a_reader_connected_before_the_swap_keeps_reading_the_day_it_opened(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as reader:
        with warehouse_build(warehouse) as staging:
            write_day(staging, 2)
        assert reader.execute("select day from days").fetchone()[0] == 1
    assert read_day(warehouse) == 2


def test_a_build_that_fails_leaves_the_warehouse_as_it_was_and_no_copy(warehouse):
    with pytest.raises(RuntimeError, match="dbt failed"):
        with warehouse_build(warehouse) as staging:
            write_day(staging, 2)
            raise RuntimeError("dbt failed")
    assert read_day(warehouse) == 1
    assert not staging_path(warehouse).exists() and not wal_of(staging_path(warehouse)).exists()


def test_a_build_that_wrote_nothing_keeps_the_warehouse(tmp_path):
    with pytest.raises(FileNotFoundError, match="wrote no warehouse"):
        with warehouse_build(tmp_path / "warehouse.duckdb"):
            pass
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_the_first_build_creates_the_warehouse(tmp_path):
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    with warehouse_build(warehouse) as staging:
        assert not staging.exists()
        write_day(staging, 1)
    assert read_day(warehouse) == 1


def test_a_killed_builds_copy_and_wal_are_discarded_before_the_next_copy(warehouse):
    staging = staging_path(warehouse)
    write_day(staging, 99)  # what a killed build left: a half-built copy ...
    wal_of(staging).write_bytes(b"\x00" * 4096)  # ... and its WAL, which must never meet the new copy
    with warehouse_build(warehouse) as fresh:
        assert fresh == staging and not wal_of(staging).exists()
        assert read_day(fresh) == 1
        write_day(fresh, 2)
    assert read_day(warehouse) == 2


WRITE_AND_DIE = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create or replace table days as select 7 as day")  # committed to the WAL
os._exit(0)  # no checkpoint: the WAL stays beside the file
"""


def test_a_wal_left_beside_the_warehouse_is_folded_in_before_the_copy(warehouse):
    subprocess.run([sys.executable, "-c", WRITE_AND_DIE, str(warehouse)], check=True)
    assert wal_of(warehouse).exists()
    with warehouse_build(warehouse) as staging:
        assert not wal_of(warehouse).exists()
        assert read_day(staging) == 7  # the committed write is in the copy
    assert read_day(warehouse) == 7


def test_builds_take_turns(warehouse):
    inside, release = threading.Event(), threading.Event()

    def first_build():
        with warehouse_build(warehouse) as staging:
            write_day(staging, 2)
            inside.set()
            release.wait()

    thread = threading.Thread(target=first_build)
    thread.start()
    try:
        inside.wait()
        with open(lock_path(warehouse), "a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second build would wait here
    finally:
        release.set()
        thread.join()
    with warehouse_build(warehouse) as staging:  # the next build starts from the first one's day
        assert read_day(staging) == 2
