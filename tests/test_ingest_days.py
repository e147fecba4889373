"""``ingest_days`` spreads a range of days over processes and writes exactly what one process writes."""

from __future__ import annotations

import os
import signal
from datetime import date

import pyarrow.parquet as pq
import pytest

from retention.ingest import day as ingest_module
from retention.ingest.day import ingest_day, ingest_days
from retention.paths import DataDir
from retention.store_simulator import SimConfig, simulate

DAYS = [date(2025, 11, d) for d in range(1, 5)]


def landed(layout: DataDir, source: str) -> dict:
    return {p.relative_to(layout.root): pq.read_table(p).drop_columns(["_ingested_at"])
            for p in sorted(layout.landing.glob(f"{source}/*/*/*.parquet"))}


def test_days_in_two_processes_write_what_one_process_writes(tmp_path):
    simulate(SimConfig(customers=100, start=DAYS[0], end=DAYS[-1], seed=3, workers=1), tmp_path)
    layout = DataDir(tmp_path)
    in_parallel = ingest_days(layout, "web", DAYS, workers=2)
    parallel_files = landed(layout, "web")
    one_at_a_time = [ingest_day(layout, "web", day) for day in DAYS]
    assert [(r.day, r.tables) for r in in_parallel] == [(r.day, r.tables) for r in one_at_a_time]
    assert sum(r.landed for r in in_parallel) > 0
    again = landed(layout, "web")
    assert parallel_files.keys() == again.keys() and len(again) == len(DAYS)
    for path, table in again.items():
        assert parallel_files[path].equals(table), path


def worker_pids(workers: int) -> set[int]:
    return set(ingest_module._pool(workers)._processes)


def test_later_ranges_reuse_the_workers_and_a_dead_worker_is_replaced(tmp_path):
    """A new worker imports the caller's main module again (seconds in a Dagster process): a
    process's later ranges keep the same workers; one that died is replaced, and the range lands."""
    simulate(SimConfig(customers=60, start=DAYS[0], end=DAYS[-1], seed=5, workers=1), tmp_path)
    layout = DataDir(tmp_path)
    first = ingest_days(layout, "web", DAYS, workers=2)
    pids = worker_pids(2)
    assert len(pids) == 2
    assert [r.day for r in ingest_days(layout, "reviews", DAYS, workers=2)] == DAYS
    assert worker_pids(2) == pids  # the same processes landed the second source
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    again = ingest_days(layout, "web", DAYS, workers=2)  # the pool broke while idle: new workers land it
    assert [(r.day, r.tables) for r in again] == [(r.day, r.tables) for r in first]
    assert worker_pids(2).isdisjoint(pids)


def test_the_number_of_processes_comes_from_the_environment_and_is_checked(monkeypatch):
    from assets.resources import DataDirResource

    monkeypatch.delenv("RETENTION_INGEST_WORKERS", raising=False)
    assert DataDirResource().workers is None  # the library's default: one per core
    monkeypatch.setenv("RETENTION_INGEST_WORKERS", "3")
    assert DataDirResource().workers == 3
    assert DataDirResource(ingest_workers="1").workers == 1
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("RETENTION_INGEST_WORKERS", bad)
        with pytest.raises(ValueError, match="RETENTION_INGEST_WORKERS must be a whole number"):
            _ = DataDirResource().workers
