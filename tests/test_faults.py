"""The fault suite: kill -9 at each stage of the pipeline, run it again, get what an uninterrupted
run gives.

Each probe runs a stage in a real subprocess (its own process group, so dbt, which dagster-dbt
starts as a grandchild, dies with it), waits for a condition seen from outside (the first landing
file, the first model dbt reports written, the Nth request at a local provider server), sends
SIGKILL to the whole group, reruns the stage and compares the tables themselves, both ways with
``EXCEPT ALL``, against an uninterrupted run on the same input:

- ingestion: landing and quarantine equal to an uninterrupted landing, no record lost;
- the warehouse build: the previous day's warehouse untouched while the new day is half-built,
  then the rerun equal, table by table, to an uninterrupted build;
- activation: every message reaches the provider exactly once across the killed run and the
  reruns. Email claims left in doubt are settled by SendGrid's lookup; SMS claims stay in doubt
  (the engine hands Twilio's lookup bare send ids, which it cannot match), so the probe does what
  retention/activation/README.md asks of an operator: releases those Twilio's message list lacks.
  Push (webhook) claims too: a receiver has no lookup, so the operator releases those it lacks.

A tiny simulated store (90 customers, seven weeks) keeps it bounded: one landing, four dbt builds
(one killed), two killed activations of 32 messages (email, SMS) and one of 12 pushes. Each probe
prints its figures (records in, landed, quarantined, lost; tables compared; duplicates).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.resources import DataDirResource, dbt_resource
from assets.transform import warehouse
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.ledger_db import is_postgres
from retention.activation.senders import SendGridSender, TwilioSender, WebhookSender
from retention.dbt_build import dbt_target_path
from retention.ingest import SOURCE_TABLES, IngestReport, ingest_day
from retention.paths import DataDir
from retention.store_simulator import SimConfig, simulate
from retention.warehouse_swap import staging_path, wal_of
from tests.activation_fixtures import NOW, audience, campaign_set, person, push_campaign_set, pushed
from tests.fakes.providers import FakeSendGrid, FakeTwilio
from tests.fakes.webhook import FakeWebhookReceiver
from tests.warehouse_fixtures import days

ROOT = Path(__file__).resolve().parents[1]
START, END = date(2025, 5, 1), date(2025, 6, 18)
DAY = END  # the new day the killed build was building
PREVIOUS = DAY - timedelta(days=1)  # the warehouse readers had before it
TIMING_COLUMNS = {"seconds"}  # clv_fits records how long a fit took: never the same twice
RUN_COLUMNS = {"_ingested_at"}  # the wall clock of the landing run (dbt never reads it)
KILL_WAIT_S = 900  # a bound on waiting for a kill condition, so a broken child fails the test instead of hanging
FROM = "shop@example.com"
SMS_FROM = "+15005550006"


# ------------------------------------------------------------------ processes


def start_child(script: str, *args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -c script args`` in a new session (its own process group), output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, start_new_session=True)


def group_alive(group: int) -> bool:
    """A process of the group that is not a zombie (a killed grandchild may wait to be reaped)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def kill_9_when(child: subprocess.Popen, condition: Callable[[], bool], what: str, log: Path) -> None:
    """SIGKILL the child's whole process group as soon as ``condition()`` holds; the child must not
    have finished first (then the probe would prove nothing)."""
    deadline = time.monotonic() + KILL_WAIT_S
    while not condition():
        if child.poll() is not None:
            pytest.fail(f"the child exited ({child.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            pytest.fail(f"no {what} within {KILL_WAIT_S} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    while group_alive(child.pid):  # dbt, a grandchild, dies with the group
        time.sleep(0.05)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + KILL_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {KILL_WAIT_S} s")
        time.sleep(0.01)


def report(request, probe: str, figures: dict) -> None:
    """One line of the probe's figures, shown in the test output even when output is captured."""
    line = f"[fault probe] {probe:<28} " + "  ".join(f"{k}={v}" for k, v in figures.items())
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(line)


# ------------------------------------------------------------------ comparing tables


def differing_tables(con: duckdb.DuckDBPyConnection, pairs: dict[str, tuple[str, str]],
                     skip: set[str] = frozenset()) -> dict[str, tuple[int, int]]:
    """For each name, rows only in the first relation and rows only in the second (``EXCEPT ALL``
    both ways, columns in ``skip`` left out); only the names that differ."""
    differing = {}
    for name, (one, other) in pairs.items():
        columns = ", ".join(f'"{c}"' for c in con.sql(f"select * from {one} limit 0").columns if c not in skip)
        only_one = con.execute(f"select count(*) from (select {columns} from {one} except all "
                           f"select {columns} from {other})").fetchone()[0]
        only_other = con.execute(f"select count(*) from (select {columns} from {other} except all "
                             f"select {columns} from {one})").fetchone()[0]
        if only_one or only_other:
            differing[name] = (only_one, only_other)
    return differing


def base_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'main' "
        "and table_type = 'BASE TABLE' order by 1", [catalog]).fetchall()]


def compare_warehouses(one: Path, other: Path) -> tuple[list[str], int, dict[str, tuple[int, int]]]:
    """Every table of both warehouses: (tables, rows in ``one``, the tables whose rows differ)."""
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{one}' as one (read_only)")
        con.execute(f"attach '{other}' as other (read_only)")
        tables = base_tables(con, "one")
        assert tables == base_tables(con, "other")
        rows = sum(con.execute(f'select count(*) from one.main."{t}"').fetchone()[0] for t in tables)
        pairs = {t: (f'one.main."{t}"', f'other.main."{t}"') for t in tables}
        return tables, rows, differing_tables(con, pairs, TIMING_COLUMNS)


def zone_tables(zone: Path) -> dict[str, str]:
    """``source/table`` -> every partition's file of that table in a landing or quarantine zone."""
    return {f"{t.parent.name}/{t.name}": str(t / "*" / "*.parquet")
            for t in sorted(zone.glob("*/*")) if t.is_dir() and any(t.glob("*/*.parquet"))}


def parquet_rows(con: duckdb.DuckDBPyConnection, files: str) -> int:
    return con.execute(f"select count(*) from read_parquet('{files}')").fetchone()[0]


# ------------------------------------------------------------------ the store


def land(data_dir: DataDir) -> list[IngestReport]:
    """As the daily run does: every source lands every delivery day, empty partitions included."""
    return [ingest_day(data_dir, source, day) for day in days(START, END) for source in SOURCE_TABLES]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[DataDir, list[IngestReport]]:
    """A tiny simulated store, landed by an uninterrupted run (the reference of the ingestion probe)."""
    root = tmp_path_factory.mktemp("store")
    simulate(SimConfig(customers=90, start=START, end=END, seed=29, dirt_rate=0.02), root)
    data_dir = DataDir(root)
    return data_dir, land(data_dir)


def sibling(store: DataDir, root: Path, *shared: str) -> DataDir:
    """A data directory that shares the store's folders in ``shared`` (symlinks), its own the rest."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in shared:
        (root / folder).symlink_to(store.root / folder)
    return DataDir(root)


# ------------------------------------------------------------------ ingestion


INGEST = """
import sys
from datetime import date
from pathlib import Path
from retention.ingest import SOURCE_TABLES, ingest_day
from retention.paths import DataDir
from tests.warehouse_fixtures import days

root, start, end = sys.argv[1:4]
for day in days(date.fromisoformat(start), date.fromisoformat(end)):
    for source in SOURCE_TABLES:
        ingest_day(DataDir(Path(root)), source, day)
print("landed every day")
"""


def test_ingestion_killed_mid_write_then_rerun_lands_what_an_uninterrupted_run_lands(store, tmp_path, request):
    reference, _ = store
    crashed = sibling(reference, tmp_path / "crashed", "inbox")
    log = tmp_path / "ingest.log"
    child = start_child(INGEST, str(crashed.root), START.isoformat(), END.isoformat(), log=log)
    kill_9_when(child, lambda: any(crashed.landing.glob("*/*/*/*.parquet")), "landing file", log)
    landed_before_kill = len(list(crashed.landing.glob("*/*/*/*.parquet")))
    partitions = len(list(reference.landing.glob("*/*/*/*.parquet")))
    assert 0 < landed_before_kill < partitions  # killed part-way

    reports = land(crashed)  # the rerun

    records_in = sum(r.records_in for r in reports)
    landed, quarantined = sum(r.landed for r in reports), sum(r.quarantined for r in reports)
    with duckdb.connect(":memory:") as con:
        on_disk = {zone: {name: parquet_rows(con, files) for name, files in zone_tables(root).items()}
                   for zone, root in (("landing", crashed.landing), ("quarantine", crashed.quarantine))}
        pairs, missing = {}, []
        for zone in ("landing", "quarantine"):
            ours, theirs = zone_tables(getattr(crashed, zone)), zone_tables(getattr(reference, zone))
            missing += sorted(set(ours) ^ set(theirs))
            pairs |= {f"{zone}/{name}": (f"read_parquet('{ours[name]}', hive_partitioning = true)",
                                         f"read_parquet('{theirs[name]}', hive_partitioning = true)")
                      for name in sorted(set(ours) & set(theirs))}
        differing = differing_tables(con, pairs, RUN_COLUMNS)
    lost = records_in - sum(on_disk["landing"].values()) - sum(on_disk["quarantine"].values())
    stale = len(list(crashed.landing.glob("*/*/*/*.tmp"))) + len(list(crashed.quarantine.glob("*/*/*/*.tmp")))
    report(request, "ingestion killed mid-write", {
        "partitions_before_kill": f"{landed_before_kill}/{partitions}", "records_in": records_in,
        "landed": landed, "quarantined": quarantined, "lost": lost, "tables_compared": len(pairs),
        "tables_differing": len(differing), "stale_tmp_files": stale})
    assert records_in > 0 and quarantined > 0  # the store's dirt reached quarantine
    assert records_in == landed + quarantined and lost == 0
    assert sum(on_disk["landing"].values()) == landed and sum(on_disk["quarantine"].values()) == quarantined
    assert not missing and len(pairs) >= len([t for tables in SOURCE_TABLES.values() for t in tables])
    assert not differing, differing
    assert sorted(p.relative_to(crashed.root) for p in crashed.landing.glob("*/*/*/*.parquet")) == \
        sorted(p.relative_to(reference.root) for p in reference.landing.glob("*/*/*/*.parquet"))


# ------------------------------------------------------------------ the warehouse build


BUILD = """
import sys
import dagster as dg
from assets.resources import DataDirResource, dbt_resource
from assets.transform import warehouse

root, day = sys.argv[1:3]
dg.materialize([warehouse], partition_key=day, resources={"dbt": dbt_resource(), "data_dir": DataDirResource(root=root)})
print("built")
"""


def build(data_dir: DataDir, day: date) -> None:
    """The `warehouse` asset for one day, as daily_refresh runs it (dbt in a subprocess of this one)."""
    result = dg.materialize([warehouse], partition_key=day.isoformat(),
                            resources={"dbt": dbt_resource(), "data_dir": DataDirResource(root=str(data_dir.root))})
    assert result.success


def dbt_logs_written(target: Path) -> list[str]:
    """The "OK created" lines of dbt's logs under ``target``: each a model committed."""
    return [line for path in target.rglob("dbt.log") for line in path.read_text(errors="replace").splitlines()
            if " OK created " in line]


@pytest.fixture(scope="module")
def built(store, tmp_path_factory) -> DataDir:
    """The store's warehouse as of PREVIOUS, built by the asset (a data directory of its own)."""
    house = sibling(store[0], tmp_path_factory.mktemp("house"), "landing", "quarantine")
    build(house, PREVIOUS)
    return house


def test_a_build_killed_mid_way_leaves_the_previous_day_whole_and_a_rerun_equals_an_uninterrupted_build(
        store, built, tmp_path, request):
    house = built
    before = tmp_path / "before.duckdb"
    shutil.copyfile(house.warehouse, before)
    clean = sibling(store[0], tmp_path / "clean", "landing", "quarantine")
    shutil.copyfile(house.warehouse, clean.warehouse)

    target = dbt_target_path(house)  # the data directory's dbt target holds dbt's log of every build
    already = len(dbt_logs_written(target))  # the lines of the earlier build
    log = tmp_path / "build.log"
    child = start_child(BUILD, str(house.root), DAY.isoformat(), log=log)
    reads_during_build: list[int] = []

    def first_model_written() -> bool:
        if len(dbt_logs_written(target)) == already:
            return False
        with duckdb.connect(str(house.warehouse), read_only=True) as con:  # readers are never locked out
            reads_during_build.append(con.execute("select count(*) from customers").fetchone()[0])
        return True

    kill_9_when(child, first_model_written, "model written by dbt", log)
    written = len(dbt_logs_written(target)) - already
    assert staging_path(house.warehouse).exists()  # the half-built copy the kill left behind

    tables, rows, differing = compare_warehouses(house.warehouse, before)
    assert tables and not differing, differing  # the previous day, whole
    assert not wal_of(house.warehouse).exists()

    build(house, DAY)  # the rerun discards the half-built copy and builds the day again
    assert not staging_path(house.warehouse).exists() and not wal_of(staging_path(house.warehouse)).exists()
    build(clean, DAY)  # uninterrupted
    new_tables, new_rows, rerun_differing = compare_warehouses(house.warehouse, clean.warehouse)
    _, _, moved_on = compare_warehouses(house.warehouse, before)
    report(request, "dbt build killed mid-build", {
        "models_written_before_kill": written, "tables": len(tables), "rows_previous_day": rows,
        "tables_differing_after_kill": len(differing), "rows_after_rerun": new_rows,
        "tables_differing_rerun_vs_clean": len(rerun_differing), "tables_changed_by_day": len(moved_on)})
    assert reads_during_build and reads_during_build[0] > 0
    assert new_tables == tables and not rerun_differing, rerun_differing
    assert moved_on  # the rerun did build the new day
    with duckdb.connect(str(house.warehouse), read_only=True) as con:
        assert con.execute("select max(as_of) from metrics_daily").fetchone()[0] == DAY


# ------------------------------------------------------------------ activation


ACTIVATE = """
import sys
from datetime import datetime
from pathlib import Path
import pandas as pd
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import SendGridSender, TwilioSender
from tests.activation_fixtures import campaign_set

ledger, audiences, sendgrid, twilio, sid, token, now = sys.argv[1:8]
frames = {p.stem: pd.read_parquet(p) for p in Path(audiences).glob("*.parquet")}
senders = {"email": SendGridSender("key", "shop@example.com", host=sendgrid, batch_size=2),
           "sms": TwilioSender(sid, token, "+15005550006", base_url=twilio, concurrency=2)}
with Ledger(ledger) as opened:
    activate(campaign_set(), frames, opened, senders, datetime.fromisoformat(now), only=["thanks", "price_drop"])
print("activated")
"""
PEOPLE = 16


def audiences() -> dict[str, pd.DataFrame]:
    """Thanks (email, transactional) and a price drop (SMS first): one message per person."""
    return {"audience_thanks": audience(*(person(f"t{i:02d}") for i in range(PEOPLE))),
            "audience_price_drop": audience(*(person(f"p{i:02d}", phone=f"+1202555{i:04d}") for i in range(PEOPLE)))}


def recipient(channel: str, customer_key: str) -> str:
    """The address ``audiences()`` gave the customer on the channel."""
    return f"+1202555{int(customer_key[1:]):04d}" if channel == "sms" else f"{customer_key}@example.com"


def senders(sendgrid: FakeSendGrid, twilio: FakeTwilio) -> dict:
    return {"email": SendGridSender("key", FROM, host=sendgrid.url, batch_size=2),
            "sms": TwilioSender(twilio.account_sid, twilio.auth_token, SMS_FROM, base_url=twilio.url, concurrency=2)}


def delivered(sendgrid: FakeSendGrid, twilio: FakeTwilio) -> Counter:
    """Every message the providers accepted, by recipient: an email address or a phone number."""
    emails = [p["to"][0]["email"] for r in sendgrid.requests for p in r["body"]["personalizations"]]
    return Counter(emails + [r["To"] for r in twilio.requests])


@pytest.mark.parametrize("channel, after", [("email", 2), ("sms", 4)])
def test_activation_killed_mid_batch_then_rerun_sends_every_message_exactly_once(tmp_path, request, channel, after,
                                                                                 ledger_at):
    folder = tmp_path / "audiences"
    folder.mkdir()
    for name, frame in audiences().items():
        frame.to_parquet(folder / f"{name}.parquet")
    with FakeSendGrid() as sendgrid, FakeTwilio() as twilio:  # uninterrupted, the reference
        with Ledger(tmp_path / "clean" / "ledger.sqlite") as ledger:
            activate(campaign_set(), audiences(), ledger, senders(sendgrid, twilio), NOW, only=["thanks", "price_drop"])
        expected = delivered(sendgrid, twilio)
    assert expected and set(expected.values()) == {1}

    ledger_path = ledger_at  # a SQLite file or a Postgres database (conftest)
    log = tmp_path / "activate.log"
    with FakeSendGrid(latency=0.05) as sendgrid, FakeTwilio(latency=0.05) as twilio:
        server = sendgrid if channel == "email" else twilio
        child = start_child(ACTIVATE, ledger_path, str(folder), sendgrid.url, twilio.url, twilio.account_sid,
                            twilio.auth_token, NOW.isoformat(), log=log)
        kill_9_when(child, lambda: len(server.requests) >= after, f"{after} {channel} requests", log)
        # The rerun trusts the provider's lookup at once (lookup_settle=0), as it may once the settle time
        # has passed; by then a request in flight at the kill has been answered and shows in the lookup.
        wait_for(lambda: server.in_flight == 0, "the provider to answer the requests in flight at the kill")
        at_kill = sum(delivered(sendgrid, twilio).values())
        assert at_kill < sum(expected.values())  # killed mid-batch
        with Ledger(ledger_path) as ledger:
            rerun = activate(campaign_set(), audiences(), ledger, senders(sendgrid, twilio), NOW + timedelta(minutes=5),
                             only=["thanks", "price_drop"], lookup_settle=timedelta(0))
            # Claims the provider's lookup cannot settle wait for an operator (never resent blindly):
            # as the operator does, those the provider's message list lacks are released for the next run.
            doubts = ledger.in_doubt()
            at_provider = delivered(sendgrid, twilio)
            unsent = [r.send_id for r in doubts if recipient(r.channel, r.customer_key) not in at_provider]
            if unsent:
                ledger.release_in_doubt(unsent, "not in the provider's message list")
            released = activate(campaign_set(), audiences(), ledger, senders(sendgrid, twilio),
                                NOW + timedelta(minutes=10), only=["thanks", "price_drop"])
            again = activate(campaign_set(), audiences(), ledger, senders(sendgrid, twilio), NOW + timedelta(hours=1),
                             only=["thanks", "price_drop"])
            rows = ledger.rows()
        got = delivered(sendgrid, twilio)
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    backend = "postgres" if is_postgres(ledger_at) else "sqlite"
    report(request, f"activation killed ({channel}, {backend} ledger)", {
        "requests_before_kill": after, "messages_before_kill": at_kill, "expected": sum(expected.values()),
        "confirmed_by_lookup": sum(c.confirmed for c in rerun.campaigns),
        "resent_by_rerun": sum(c.sent for c in rerun.campaigns), "in_doubt_after_rerun": len(doubts),
        "released_by_operator": len(unsent), "sent_after_release": sum(c.sent for c in released.campaigns),
        "delivered": sum(got.values()), "duplicates": duplicates, "missing": len(set(expected) - set(got))})
    assert duplicates == 0 and got == expected
    assert sum(c.sent for c in again.campaigns) == 0
    assert set(rows["status"]) <= {"sent", "held_out", "claimed"}
    assert all(recipient(r.channel, r.customer_key) in got for r in rows.itertuples() if r.status == "claimed")


PUSH = """
import sys
from datetime import datetime
import pandas as pd
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import WebhookSender
from tests.activation_fixtures import push_campaign_set

ledger, frame, url, secret, now = sys.argv[1:6]
sender = WebhookSender(url, secret, batch_size=2)
with Ledger(ledger) as opened:
    activate(push_campaign_set(), {"audience_push_cart": pd.read_parquet(frame)}, opened, {"webhook": sender},
             datetime.fromisoformat(now), only=["push_cart"])
print("activated")
"""
PUSH_SECRET = "whsec-faults"


def test_push_activation_killed_mid_batch_then_rerun_notifies_every_customer_exactly_once(tmp_path, request):
    customers = [f"c{i:02d}" for i in range(12)]
    frame_path = tmp_path / "audience_push_cart.parquet"
    pushed(*customers).to_parquet(frame_path)
    ledger_path = tmp_path / "ledger.sqlite"
    log = tmp_path / "push.log"

    def rerun(receiver, at):
        return activate(push_campaign_set(), {"audience_push_cart": pushed(*customers)}, ledger,
                        {"webhook": WebhookSender(receiver.url, PUSH_SECRET, batch_size=2)}, at, only=["push_cart"])

    with FakeWebhookReceiver(PUSH_SECRET, latency=0.05) as receiver:
        child = start_child(PUSH, str(ledger_path), str(frame_path), receiver.url, PUSH_SECRET, NOW.isoformat(),
                            log=log)
        kill_9_when(child, lambda: len(receiver.batches) >= 2, "2 push batches", log)
        wait_for(lambda: receiver.in_flight == 0, "the receiver to answer the request in flight at the kill")
        at_kill = len(receiver.delivered())
        assert at_kill < len(customers)  # killed mid-way
        with Ledger(ledger_path) as ledger:
            first = rerun(receiver, NOW + timedelta(minutes=5))
            # nothing to look up at a receiver: the operator releases what it never got
            doubts = ledger.in_doubt()
            unsent = [r.send_id for r in doubts if r.customer_key not in receiver.delivered()]
            ledger.release_in_doubt(unsent, "not at the receiver")
            released = rerun(receiver, NOW + timedelta(minutes=10))
            again = rerun(receiver, NOW + timedelta(hours=1))
            rows = ledger.rows()
        got = Counter(receiver.delivered())
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    report(request, "activation killed (push)", {
        "batches_before_kill": 2, "notified_before_kill": at_kill, "expected": len(customers),
        "in_doubt_after_rerun": len(doubts), "resent_by_rerun": first.campaigns[0].sent,
        "released_by_operator": len(unsent), "sent_after_release": released.campaigns[0].sent,
        "delivered": sum(got.values()), "duplicates": duplicates, "refused_signatures": len(receiver.refused)})
    assert first.campaigns[0].sent == 0 and len(doubts) == len(customers)  # every claim waits: no lookup
    assert duplicates == 0 and sorted(got) == customers and receiver.refused == []
    assert released.campaigns[0].sent == len(unsent) > 0 and again.campaigns[0].sent == 0
    assert set(rows["status"]) == {"sent", "claimed"}
