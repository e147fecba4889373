"""The erasure stage: one customer erased from a copy of the store, as ``python -m retention.privacy
erase`` would. The copy links every file erasure replaces whole (written beside, then renamed over)
and copies the ones it changes in place (DuckDB, SQLite, the privacy folder), so the cached store
stays as it was and the copy costs seconds, not a second store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from retention.privacy.stores import SQLITE_HEADER

HARNESS_FILES = {"bench_runs", "bench_state.json", ".bench-simulated.json", "warehouse.last_day.duckdb"}


def _changed_in_place(path: Path, top: str) -> bool:
    if top == "privacy" or path.suffix in (".duckdb", ".wal"):
        return True
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def prepare_copy(data_dir: Path, copy: Path) -> dict:
    """The store's own files (not the harness's) under ``copy``; returns what it holds."""
    files = size = copied = 0
    for top in sorted(p for p in Path(data_dir).iterdir() if p.name not in HARNESS_FILES):
        sources = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        for path in sources:
            target = copy / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            if _changed_in_place(path, top.name):
                shutil.copy2(path, target)
                copied += path.stat().st_size
            else:
                os.link(path, target)
            files += 1
            size += path.stat().st_size
    return {"data_dir_files": files, "data_dir_mb": round(size / 2**20, 1), "copied_mb": round(copied / 2**20, 1)}


def busiest_customer(warehouse: Path) -> dict:
    """A customer with an email, a phone and a Shopify id, and the most orders: the costliest to find."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute("""
            select email, phone, primary_customer_id, order_count from customers
            where email is not null and phone is not null and primary_customer_id is not null
            order by order_count desc, customer_key limit 1""").fetchone()
    if row is None:
        raise RuntimeError("the warehouse has no customer with an email, a phone and a Shopify id")
    return {"email": row[0], "phone": row[1], "shopify_customer_id": int(row[2]), "orders": int(row[3])}


def erase_one(copy: Path) -> dict:
    from retention.paths import DataDir
    from retention.privacy import Subject, erase

    data_dir = DataDir(copy)
    subject = busiest_customer(data_dir.warehouse)
    report = erase(data_dir, Subject(subject["email"], subject["phone"], subject["shopify_customer_id"]))
    return {"orders_of_the_customer": subject["orders"], "records_erased": sum(report.counts.values()),
            "counts": report.counts, "files_changed": report.files_changed, "erase_s": round(report.seconds, 2)}
