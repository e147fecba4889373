"""make spark-check: one small simulated store built by dbt on DuckDB and on a local Spark session,
then every model table compared (retention/engines/compare.py); the first difference fails.

python -m retention.engines.spark_check [--customers 300 --start 2025-01-01 --end 2025-03-31]

Each engine builds the history models' parents a week before the end first, then every model at the
end, so the history models (segment spells, the daily fits) are compared after two runs, their
incremental path included. Python models run on Spark through retention/engines/spark_dbt.py.

Everything lives in <data dir>/spark_check (made anew): the store, DuckDB's warehouse, Spark's
warehouse and Derby metastore. Spark's tables are Parquet files, read here by DuckDB, so the
comparison needs no Spark session. Both builds are timed and their peak memory (the whole process
tree: Spark runs in a JVM child) measured and printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from retention.engines.compare import REL_TOL, TableDifference, compare_tables
from retention.ingest import SOURCE_TABLES, ingest_day
from retention.paths import DATA_DIR_ENV, DataDir

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
# the models that keep earlier runs' rows: built once before the compared run
HISTORY_MODELS = ("segment_membership_history", "clv_model_runs")
HISTORY_RUN_DAYS_BEFORE = 7
# columns that measure the run, not the data: the seconds a fit took
RUN_MEASURES = {"clv_fits": ("seconds",), "clv_model_runs": ("seconds",)}


@dataclass
class Build:
    engine: str
    seconds: float
    peak_rss_mb: float
    models: list[str]


def land_store(root: Path, customers: int, start: date, end: date, seed: int) -> DataDir:
    """The simulator's CLI, then every source landed day by day, as the daily run does."""
    subprocess.run([sys.executable, "-m", "retention.store_simulator", "--customers", str(customers),
                    "--start", start.isoformat(), "--end", end.isoformat(), "--seed", str(seed), "--out", str(root)],
                   check=True, cwd=PROJECT_ROOT)
    layout = DataDir(root)
    day = start
    while day <= end:
        for source in SOURCE_TABLES:
            ingest_day(layout, source, day)
        day += timedelta(days=1)
    return layout


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:  # a child is listed under each thread that may have started it
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def run_measured(cmd: list[str], env: dict, log: Path) -> tuple[int, float, float]:
    """Run ``cmd``; return its exit code, wall seconds and the peak RSS (MB) of its process tree."""
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=DBT_PROJECT)
        peak = 0
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.wait(0.5):
                peak = max(peak, _tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        done.set()
        sampler.join()
    return code, time.monotonic() - started, peak / 1024


def dbt_build(engine: str, layout: DataDir, spark_dir: Path, as_of: date, work: Path,
              command_env: Mapping[str, str], select: list[str] | None = None) -> Build:
    """``command_env``: the command's environment (Java's and Spark's settings), which dbt inherits.
    Every model, or those ``select`` names."""
    name = f"{engine}_{as_of.isoformat()}"
    target_path = work / f"target_{name}"
    cmd = [sys.executable, "-m", "retention.engines.spark_dbt", "build", "--resource-type", "seed",
           "--resource-type", "model", "--target",
           "local" if engine == "duckdb" else "spark", "--project-dir", str(DBT_PROJECT), "--profiles-dir",
           str(DBT_PROJECT), "--target-path", str(target_path), "--log-path", str(work / f"logs_{name}"),
           "--vars", json.dumps({"as_of": as_of.isoformat(), "spark_dir": str(spark_dir)}),
           *(["--select", *select] if select else [])]
    env = {**command_env, DATA_DIR_ENV: str(layout.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    log = work / f"dbt_{name}.log"
    code, seconds, peak = run_measured(cmd, env, log)
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(f"dbt build on {engine} failed (exit {code}); the end of {log}:\n{tail}")
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    models = sorted(r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model."))
    return Build(engine, seconds, peak, models)


def compare_builds(warehouse: Path, spark_warehouse: Path, models: list[str]) -> int:
    """Every model table on DuckDB against Spark's; returns the rows compared."""
    rows = 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for model in models:
            left = con.execute(f'select * from main."{model}"').df()
            files = spark_warehouse / "main.db" / model
            right = con.execute(f"select * from read_parquet('{files}/**/*.parquet', hive_partitioning = false)").df() \
                if any(files.rglob("*.parquet")) else left.iloc[0:0]
            measures = list(RUN_MEASURES.get(model, ()))
            rows += compare_tables(model, left.drop(columns=measures), right.drop(columns=measures))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 3, 31))
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    work = DataDir.from_mapping(os.environ).root.resolve() / "spark_check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    layout = land_store(work / "store", args.customers, args.start, args.end, args.seed)
    spark_dir = work / "spark"
    history_day = args.end - timedelta(days=HISTORY_RUN_DAYS_BEFORE)
    builds = []
    for engine in ("duckdb", "spark"):
        first = dbt_build(engine, layout, spark_dir, history_day, work, os.environ, [f"+{m}" for m in HISTORY_MODELS])
        build = dbt_build(engine, layout, spark_dir, args.end, work, os.environ)
        print(f"{engine}: {len(first.models)} models as of {history_day} in {first.seconds:.0f} s, then "
              f"{len(build.models)} as of {args.end} in {build.seconds:.0f} s; peak RSS "
              f"{max(first.peak_rss_mb, build.peak_rss_mb):.0f} MB")
        builds.append(build)
    duck, spark = builds
    if duck.models != spark.models:
        raise SystemExit(f"the engines built different models: only on duckdb {sorted(set(duck.models) - set(spark.models))}, "
                         f"only on spark {sorted(set(spark.models) - set(duck.models))}")
    try:
        rows = compare_builds(layout.warehouse, spark_dir / "warehouse", duck.models)
    except TableDifference as difference:
        raise SystemExit(f"Spark differs from DuckDB: {difference}")
    print(f"equal: {len(duck.models)} tables, {rows} rows (floats to a relative {REL_TOL:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
