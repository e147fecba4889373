"""shop/redact in Dagster's storage: the shop's runs go whole, with their events and compute logs.

One deployment serves one shop, so the shop's history is every run of the instance but the one
acting on the request (its config names nobody and its events carry counts). Run configs, event
metadata and captured output of the deleted runs leave with them; the SQLite files are then
vacuumed so nothing stays in free pages.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


def erase_history(home: Path, keep_run: str | None = None) -> int:
    """Delete every run of the instance at ``home`` but ``keep_run``; returns how many went."""
    import dagster as dg  # only here: the rest of retention.privacy runs without Dagster loaded

    home = Path(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_ids = [run.run_id for run in instance.get_runs() if run.run_id != keep_run]
        for run_id in run_ids:
            instance.delete_run(run_id)
    for run_id in run_ids:
        shutil.rmtree(home / "storage" / run_id, ignore_errors=True)  # compute logs
        (home / "history" / "runs" / f"{run_id}.db").unlink(missing_ok=True)  # a run's own event log
    for log in (home / "logs").glob("*"):
        if log.is_file():
            log.write_bytes(b"")
    for path in home.rglob("*"):
        if path.is_file() and _is_sqlite(path):
            with closing(sqlite3.connect(path, isolation_level=None)) as con:
                con.execute("VACUUM")
    return len(run_ids)


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
