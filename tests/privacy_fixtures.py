"""A small simulated store in every state a person's data can be in, and a scan for that person.

``build_activated_store`` lands, builds, activates into the outbox (Dagster's storage inside the data
directory) and reports; ``pick_subject`` finds a customer present in every store; ``files_naming``
reads every file, as bytes and decoded (gzip, Parquet, DuckDB), for patterns written independently
of ``retention.privacy``.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq

from retention.reports.segment_report import write_segment_report
from retention.reports.warehouse_reads import read_report_data
from tests.warehouse_fixtures import build_store, run_dbt

START, AS_OF = date(2025, 3, 1), date(2025, 6, 30)
NOW = "2025-07-01T17:00:00+00:00"
SELECT = ["--indirect-selection", "cautious", "--select", "+path:models/audiences", "+campaign_performance",
          "+customer_segments", "+segment_membership_history"]
PROVIDER_KEYS = ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SHOPIFY_ACCESS_TOKEN")
QUARANTINE_DAY = date(2025, 6, 30)


def instance_in(root: Path) -> dg.DagsterInstance:
    (root / "dagster_home").mkdir(exist_ok=True)
    return dg.DagsterInstance.local_temp(tempdir=str(root / "dagster_home"))


def run_job(root: Path, job: str, config: dict) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    return defs.resolve_job_def(job).execute_in_process(run_config=config, instance=instance_in(root),
                                                        raise_on_error=False)


def activate(root: Path) -> dg.ExecuteInProcessResult:
    from assets.activation import SEND_OP

    return run_job(root, "activate_segments", {"ops": {SEND_OP: {"config": {"now": NOW}}}})


def build_activated_store(root: Path) -> Path:
    """A small store, landed, built, activated into the outbox, reported (``RETENTION_DATA_DIR``
    must name ``root`` and no provider key be set: the caller's environment)."""
    data_dir = build_store(root, customers=150, start=START, end=AS_OF, seed=17, dirt_rate=0.02)
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    assert activate(root).success
    write_segment_report(data_dir.reports, read_report_data(data_dir.warehouse, AS_OF))
    return root


def pick_subject(root: Path) -> dict:
    """A customer found in every store: orders, web, email and SMS events, a send, a segment export."""
    with sqlite3.connect(root / "activation" / "ledger.sqlite") as con:
        sent = {r[0] for r in con.execute("select customer_key from sends where status = 'outbox'")}
    exported = "\n".join(p.read_text() for p in (root / "reports" / "exports").glob("*.csv")).lower()
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("""
            select c.customer_key, c.email, c.phone, c.first_name || ' ' || c.last_name as name,
                   c.primary_customer_id as shopify_id
            from customers c
            where c.order_count > 0 and c.customer_id_count = 1 and c.email is not null and c.phone is not null
              and exists (select 1 from stg_web__events w where w.customer_id = c.primary_customer_id)
              and exists (select 1 from stg_sendgrid__events e where e.email = c.email)
              and exists (select 1 from stg_twilio__message_status t where t.to_phone = c.phone)
              and (select count(*) from customers o where o.first_name = c.first_name
                   and o.last_name = c.last_name) = 1
            order by c.primary_customer_id""").df()
        for row in rows.to_dict("records"):
            if row["customer_key"] in sent and row["email"] in exported:
                row["order_ids"] = [r[0] for r in con.execute(
                    "select order_id from orders where customer_key = ?", [row["customer_key"]]).fetchall()]
                row["audience_row"] = {"customer_key": row["customer_key"], "email": row["email"],
                                       "phone": row["phone"]}
                return row
    raise AssertionError("the simulated store has no customer in every store: change the seed")


def needles(subject: dict) -> list[re.Pattern]:
    """The person as the scan looks for them, written independently of the code under test."""
    national = subject["phone"][-10:]
    phones = [subject["phone"].lstrip("+"), national, national[-7:-4] + r"\D{0,3}" + national[-4:]]
    return [re.compile(re.escape(subject["email"]).encode(), re.I),
            re.compile(re.escape(subject["name"]).encode(), re.I),
            re.compile(rb"(?<!\d)" + str(subject["shopify_id"]).encode() + rb"(?!\d)"),
            re.compile(subject["customer_key"].encode())] + \
           [re.compile(rb"(?<!\d)" + p.encode() + rb"(?!\d)") for p in phones]


def file_texts(path: Path) -> list[bytes]:
    """The bytes as stored, and what they hold once decoded (gzip, Parquet, DuckDB)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # a SQLite -shm/-wal file removed as its last connection closed
        return []
    texts = [data]
    if path.suffix == ".gz":
        texts.append(gzip.decompress(data))
    elif path.suffix == ".parquet":
        texts.append(repr(pq.read_table(path).to_pylist()).encode())
    elif path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
                texts.append(repr(con.execute(f'select * from "{table}"').fetchall()).encode())
    return texts


def files_naming(root: Path, patterns: list[re.Pattern]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for text in file_texts(path):
            for pattern in patterns:
                if pattern.search(text):
                    found.setdefault(path.relative_to(root).parts[0], set()).add(str(path.relative_to(root)))
    return found


def warehouse_tables(root: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        return {name: con.execute(f'select * from "{name}"').df() for name in names}
