"""Build a small simulated store and its landing zone for the warehouse tests."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from retention.dbt_build import as_of_env, dbt_cli
from retention.ingest import SOURCE_TABLES, ingest_day
from retention.paths import DATA_DIR_ENV, DataDir
from retention.store_simulator import SimConfig, simulate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"


# What reads the landed sends, among what a store built for its audiences has: metrics_daily reads
# them too, but its other parents (web, feedback, predictions) are not built there.
SENDS_READERS = ["--select", "stg_activation__sends+", "--exclude", "metrics_daily+"]


def build_store(
    root: Path,
    customers: int = 400,
    start: date = date(2025, 1, 1),
    end: date = date(2025, 6, 30),
    seed: int = 5,
    dirt_rate: float = 0.01,
    **planted,
) -> DataDir:
    """Simulate a store into ``root`` and land every delivery day of every source. ``planted``: more
    SimConfig fields (referral_rate, subscription_rate, ...)."""
    root = Path(root)
    simulate(SimConfig(customers=customers, start=start, end=end, seed=seed, dirt_rate=dirt_rate, **planted), root)
    data_dir = DataDir(root)
    # As the daily run does: every source lands every delivery day, empty partitions included.
    days = sorted({p.name for p in data_dir.inbox.glob("*/*") if p.is_dir()})
    for day in days:
        for source in SOURCE_TABLES:
            ingest_day(data_dir, source, date.fromisoformat(day))
    return data_dir


def write_instance_yaml(home: Path, env: dict[str, str] | None = None) -> str:
    """The Makefile's own rule writes ``home``'s dagster.yaml, as for `make demo` and `make dev`
    (``env``: the environment it sees, else this process's)."""
    subprocess.run(["make", "-s", f"DAGSTER_HOME={home}", f"{home}/dagster.yaml"], cwd=PROJECT_ROOT, env=env,
                   check=True, capture_output=True, text=True)
    return (Path(home) / "dagster.yaml").read_text()


@contextlib.contextmanager
def demo_instance(root: Path):
    """A persistent Dagster instance under ``root/dagster_home`` with the environment the demo's
    runs read (data directory, no provider credentials: the outbox, whatever the machine has set)."""
    home = Path(root) / "dagster_home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RETENTION_DAGSTER_PG_HOST", raising=False)
        write_instance_yaml(home)
        patch.setenv(DATA_DIR_ENV, str(root))
        patch.setenv("DAGSTER_HOME", str(home))
        for key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SHOPIFY_ACCESS_TOKEN"):
            patch.delenv(key, raising=False)
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            yield instance


def answered_morning(instance, layout: DataDir, as_of: date, rates) -> list:
    """The demo's own steps for one day: the daily refresh as of ``as_of``, the next morning's
    activation into the outbox, the recipients' answers (``rates``), then the refresh of the answers'
    two days (their store data landed before the answers). Returns what the answers wrote."""
    from orchestration.demo import ACTIVATION_HOUR, run_activation, run_range
    from retention.store_simulator.responses import outbox_files, read_outbox, write_responses

    log = layout.root / "runs.log"
    assert run_range(instance, "daily_refresh", as_of, as_of, log).success
    now = datetime.combine(as_of + timedelta(days=1), ACTIVATION_HOUR, tzinfo=UTC)
    before = outbox_files(layout.outbox)
    assert run_activation(instance, now, log).success
    answered = write_responses(layout, read_outbox(outbox_files(layout.outbox) - before, now), seed=3, rates=rates)
    assert run_range(instance, "daily_refresh", as_of + timedelta(days=1), as_of + timedelta(days=2), log).success
    return answered


def land_store(root, customers: int = 1000, start: date = date(2025, 1, 1), end: date = date(2025, 2, 28)) -> DataDir:
    """A small simulated store with some dirt (redeliveries, reformatted values), landed day by day.
    1000 customers, so the busiest tables carry enough rows a day for their volume to be judged."""
    layout = DataDir(root)
    simulate(SimConfig(customers=customers, start=start, end=end, seed=5, dirt_rate=0.02), root)
    day = start
    while day <= end:
        for source in SOURCE_TABLES:
            ingest_day(layout, source, day)
        day += timedelta(days=1)
    return layout


def run_dbt(data_dir: DataDir | Path, *args: str, as_of: date | str | None = None, extra_vars: dict | None = None,
            check: bool = True, as_of_time: str | None = None) -> subprocess.CompletedProcess:
    """Run the dbt CLI against ``data_dir`` (a subprocess: dbt keeps global state in-process);
    ``as_of_time``: an intraday increment's instant, given as the pipeline gives it."""
    root = data_dir.root if isinstance(data_dir, DataDir) else Path(data_dir)
    vars_ = dict(extra_vars or {})
    # siblings share the store's landing zone (a symlink) and its dbt target (partial parsing)
    cmd, settings = dbt_cli([*args, *(["--vars", json.dumps(vars_)] if vars_ else [])], root, DBT_PROJECT,
                            state_root=(root / "landing").resolve().parent,
                            # the day (and instant) as the pipeline gives it
                            environment=None if as_of is None else as_of_env(as_of, as_of_time))
    proc = subprocess.run(cmd, env={**os.environ, **settings}, capture_output=True, text=True, cwd=str(PROJECT_ROOT))
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-80:])
        raise AssertionError(f"dbt {' '.join(args)} failed (rc={proc.returncode}):\n{tail}\n{proc.stderr[-2000:]}")
    return proc


def failing_rows(data_dir: DataDir | Path, warehouse: Path, test: str, columns: str, as_of: date | str) -> tuple[int, list]:
    """Run one data test against another warehouse file (a tampered copy) with its failures stored,
    and read them back: how many dbt reported, and ``columns`` of each failing row."""
    proc = run_dbt(data_dir, "test", "--select", test, "--store-failures", as_of=as_of,
                   extra_vars={"warehouse": str(warehouse)}, check=False)
    reported = re.search(r"Got (\d+) results?", proc.stdout)
    assert proc.returncode == 1 and reported, proc.stdout[-2000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select {columns} from main_dbt_test__audit.{test}").fetchall()
    return int(reported.group(1)), rows


def days(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)
