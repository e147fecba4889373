"""The work of each stage, run inside a child process (``python -m bench.child``) so the
harness measures that process tree alone. Every stage takes a context dict (paths, dates) and
returns a dict of details that go into its JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from bench.machine import PROJECT_ROOT

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SIMULATED_MARKER = ".bench-simulated.json"
FALLBACK_PENALIZER = 0.01
SLOWEST_NODES = 8
# harness options -> the environment dbt_project/profiles.yml reads them from (unset: DuckDB's defaults)
DUCKDB_ENV = {"duckdb_memory_limit": "RETENTION_DUCKDB_MEMORY_LIMIT", "duckdb_threads": "RETENTION_DUCKDB_THREADS"}


def _day(ctx: dict, key: str) -> date:
    return date.fromisoformat(ctx[key])


def stage_simulate(ctx: dict) -> dict:
    from retention.store_simulator import SimConfig, simulate

    root = Path(ctx["data_dir"])
    # simulated one day past the history, so the incremental run has a real new day to add
    config = SimConfig(customers=ctx["customers"], start=_day(ctx, "start"), end=_day(ctx, "next_day"),
                       seed=ctx["seed"], workers=2, compress=ctx["profile_spec"].get("compress_inbox", False))
    summary = simulate(config, root)
    (root / SIMULATED_MARKER).write_text(json.dumps(ctx["profile_spec"], indent=2))
    counts = summary["counts"]
    return {"simulated_to": ctx["next_day"], "files": summary["files"], "records": summary["records"],
            "inbox_mb": round(summary["bytes"] / 2**20, 1), "orders": counts["orders"],
            "email_events": counts["email_events"], "web_events": counts["web_events"]}


def _delivery_days(root: Path, start: date, last: date) -> list[date]:
    """Every day of the history plus any delivery folder in range: the daily run lands empty days too."""
    days = {start + timedelta(days=i) for i in range((last - start).days + 1)}
    for folder in (root / "inbox").glob("*/*"):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day <= last:
            days.add(day)
    return sorted(days)


def _ingest_one_day(root: Path, day: date) -> tuple[int, int, int, int]:
    from retention.ingest import SOURCE_TABLES, ingest_day
    from retention.paths import DataDir

    reports = [ingest_day(DataDir(root), source, day) for source in SOURCE_TABLES]
    return (sum(r.files for r in reports), sum(r.records_in for r in reports), sum(r.landed for r in reports),
            sum(r.quarantined for r in reports))


def _ingest(root: Path, days: list[date], workers: int = 1) -> dict:
    """Every source of every day; with workers > 1, days in parallel processes, as a backfill of the
    daily partitions runs (each day writes only its own partitions)."""
    totals = {"days": len(days), "workers": workers, "files": 0, "records_in": 0, "landed": 0, "quarantined": 0}
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            counts = list(pool.map(_ingest_one_day, [root] * len(days), days))
    else:
        counts = [_ingest_one_day(root, day) for day in days]
    for files, records_in, landed, quarantined in counts:
        totals["files"] += files
        totals["records_in"] += records_in
        totals["landed"] += landed
        totals["quarantined"] += quarantined
    return totals


def stage_ingest_history(ctx: dict) -> dict:
    root = Path(ctx["data_dir"])
    return _ingest(root, _delivery_days(root, _day(ctx, "start"), _day(ctx, "last_day")), ctx.get("workers", 1))


def stage_ingest_day(ctx: dict) -> dict:
    return _ingest(Path(ctx["data_dir"]), [_day(ctx, "next_day")])


def _dbt_build(ctx: dict, root: Path, as_of: str, full_refresh: bool) -> dict:
    from retention.dbt_build import as_of_env, daily_build_args

    return {"as_of": as_of, **_dbt(ctx, root, daily_build_args(full_refresh), as_of_env(as_of))}


def _dbt(ctx: dict, root: Path, args: list[str], as_of: dict[str, str]) -> dict:
    """dbt ``args`` on the store at ``root``, the day in its environment (``as_of``: ``as_of_env``)."""
    from retention.dbt_build import dbt_cli, dbt_target_path
    from retention.paths import DataDir

    target = dbt_target_path(DataDir(root))
    cmd, settings = dbt_cli(args, root, Path(ctx.get("dbt_project") or DBT_PROJECT),
                            environment={**as_of, **{var: str(ctx[key]) for key, var in DUCKDB_ENV.items() if ctx.get(key)}})
    env = {**os.environ, **settings}
    sys.stdout.flush()
    proc = subprocess.run(cmd, env=env, cwd=PROJECT_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed (rc={proc.returncode}); see the stage log")
    results = json.loads((target / "run_results.json").read_text())
    if ctx.get("run_results_copy"):  # the next dbt run overwrites target/: keep this one's per-node timing
        shutil.copyfile(target / "run_results.json", ctx["run_results_copy"])
    return {**node_timing(results["results"], _materializations(target / "manifest.json")),
            "dbt_elapsed_s": round(results.get("elapsed_time", 0.0), 2),
            "duckdb": {key: env.get(var) for key, var in DUCKDB_ENV.items()},  # as given to dbt
            "warehouse_mb": round((root / "warehouse.duckdb").stat().st_size / 2**20, 1)}


def _materializations(manifest: Path) -> dict[str, str]:
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text()).get("nodes", {})
    return {uid: (n.get("config") or {}).get("materialized") for uid, n in nodes.items()}


def node_timing(nodes: list[dict], materialized: dict[str, str] | None = None, top: int = SLOWEST_NODES) -> dict:
    """Statuses, seconds by kind of node (model, test, unit test...) and the slowest nodes with their
    materialization, from run_results.json: the profile that says where a dbt run's time goes."""
    materialized = materialized or {}
    statuses: dict[str, int] = {}
    by_kind: dict[str, float] = {}
    for node in nodes:
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
        kind = node["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + node.get("execution_time", 0.0)
    slowest = sorted(nodes, key=lambda n: n.get("execution_time", 0.0), reverse=True)[:top]
    return {"nodes": statuses, "seconds_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
            "slowest_nodes": [[n["unique_id"].split(".", 2)[-1], round(n.get("execution_time", 0.0), 2),
                               materialized.get(n["unique_id"])] for n in slowest]}


def stage_dbt_full_refresh(ctx: dict) -> dict:
    """From nothing: the warehouse file is removed first, then every model is built as of the day."""
    root = Path(ctx["data_dir"])
    for stale in (root / "warehouse.duckdb", root / "warehouse.duckdb.wal"):
        stale.unlink(missing_ok=True)
    return _dbt_build(ctx, root, ctx["as_of"], full_refresh=True)


def stage_dbt_incremental(ctx: dict) -> dict:
    """The daily run's build on top of the existing warehouse, as of the next day."""
    return _dbt_build(ctx, Path(ctx["data_dir"]), ctx["as_of"], full_refresh=False)


def stage_intraday_increment(ctx: dict) -> dict:
    """One intraday increment on top of the daily warehouse, as orchestration/intraday.py runs it:
    re-land the day's trigger sources, then build the trigger audiences as of the increment's time."""
    import time
    from datetime import datetime

    from retention.intraday import Increment, land_trigger_sources
    from retention.paths import DataDir

    root = Path(ctx["data_dir"])
    increment = Increment.at(datetime.fromisoformat(ctx["as_of_time"]))
    started = time.perf_counter()
    reports = land_trigger_sources(DataDir(root), increment.day)
    land_s = time.perf_counter() - started
    details = _dbt(ctx, root, increment.dbt_build_args(), increment.dbt_env())
    return {"as_of": increment.day.isoformat(), "as_of_time": increment.as_of_time_text, "land_s": round(land_s, 2),
            "records_landed": sum(r.landed for r in reports.values()), **details}


def _read_warehouse(ctx: dict):
    import duckdb

    return duckdb.connect(str(Path(ctx["data_dir"]) / "warehouse.duckdb"), read_only=True)


def _summary_stage(ctx: dict, compute) -> dict:
    with _read_warehouse(ctx) as con:
        df, details = compute(con, _day(ctx, "as_of"))
    df.to_parquet(ctx["result_path"])
    return {**{k: round(v, 4) if isinstance(v, float) else v for k, v in details.items()}, "customers": len(df)}


def stage_summary_warehouse(ctx: dict) -> dict:
    from bench.summary import summary_in_warehouse

    return _summary_stage(ctx, summary_in_warehouse)


def stage_summary_pandas(ctx: dict) -> dict:
    from bench.summary import summary_in_pandas

    return _summary_stage(ctx, summary_in_pandas)


def stage_clv_fit(ctx: dict) -> dict:
    """BG/NBD and Gamma-Gamma on the warehouse customer summary."""
    from bench.summary import summary_in_warehouse
    from retention.clv import fit_bg_nbd, fit_gamma_gamma

    with _read_warehouse(ctx) as con:
        summary, timing = summary_in_warehouse(con, _day(ctx, "as_of"))
    bg, bg_penalizer = _fit_with_fallback(fit_bg_nbd, summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    gg, gg_penalizer = _fit_with_fallback(fit_gamma_gamma, repeat["frequency"], repeat["monetary_value"])
    return {"as_of": ctx["as_of"], "customers": len(summary), "repeat_customers": len(repeat),
            "penalizer": {"bg_nbd": bg_penalizer, "gamma_gamma": gg_penalizer},
            "summary_s": round(timing["work_s"], 3), "bg_nbd_s": round(bg.seconds, 3), "gamma_gamma_s": round(gg.seconds, 3),
            "bg_nbd": {k: round(v, 4) for k, v in bg.params.items()},
            "gamma_gamma": {k: round(v, 4) for k, v in gg.params.items()}}


def stage_dbt_bare(ctx: dict) -> dict:
    """The SQL of the last dbt build run bare in DuckDB (bench/bare_duckdb.py), against its warehouse.
    The Python models read the day from the environment, as in the dbt process (retention/dbt_build.py)."""
    from bench.bare_duckdb import run_bare
    from retention.dbt_build import as_of_env

    os.environ.update(as_of_env(ctx["as_of"]))  # this stage's own process
    root = Path(ctx["data_dir"])
    settings = {key: ctx[key] for key in DUCKDB_ENV if ctx.get(key)}
    return run_bare(Path(ctx["target"]), Path(ctx["warehouse"]), root / "warehouse.duckdb", settings)


def stage_clv_fit_side(ctx: dict) -> dict:
    """The project's side of the fit comparison: the fits on the summary file the peers read."""
    from bench.clv_peers import fit_project, read_summary

    return fit_project(read_summary(Path(ctx["summary_path"])))


def _fit_with_fallback(fit, *columns):
    """Plain maximum likelihood; a small store may not identify the model, and then a data
    scientist adds a small penalizer, as lifetimes advises. Returns (fit, penalizer used)."""
    from retention.clv import ConvergenceError

    try:
        return fit(*columns), 0.0
    except ConvergenceError:
        return fit(*columns, penalizer=FALLBACK_PENALIZER), FALLBACK_PENALIZER


def stage_activation(ctx: dict) -> dict:
    """The demo campaigns over the warehouse's audiences, then one campaign over N synthetic
    recipients (the rate at scale), both against fake SendGrid and Twilio in this process."""
    from bench.activation import run_demo, run_throughput

    as_of = _day(ctx, "as_of")
    with _read_warehouse(ctx) as con:
        demo = run_demo(con, as_of)
        throughput = run_throughput(con, as_of, ctx["recipients"])
    return {"as_of": ctx["as_of"], "recipients_per_second": throughput["recipients_per_second"],
            "messages": demo["messages"] + throughput["messages"],
            "activate_s": round(demo["activate_s"] + throughput["activate_s"], 3),
            "demo": demo, "throughput": throughput}


def stage_activation_side(ctx: dict) -> dict:
    """One side of batched against one request per recipient: ``batch_size`` personalizations a request."""
    from bench.activation import run_batch_side

    with _read_warehouse(ctx) as con:
        return run_batch_side(con, _day(ctx, "as_of"), ctx["recipients"], ctx["batch_size"], ctx["send_ids_path"])


def stage_erasure(ctx: dict) -> dict:
    """One customer erased from the copy the harness prepared (bench/erasure.py)."""
    from bench.erasure import erase_one

    return erase_one(Path(ctx["copy_dir"]))


def stage_event_log_side(ctx: dict) -> dict:
    """One daily refresh's Dagster events through one SQLite event log storage (bench/event_log.py)."""
    from bench.event_log import store_daily_refresh

    return store_daily_refresh(ctx["storage"], Path(ctx["base_dir"]), DBT_PROJECT / "target" / "manifest.json")


def stage_event_log_range_side(ctx: dict) -> dict:
    """A history run's materializations through the project's event log, batched or one by one."""
    from bench.event_log import store_history_range

    return store_history_range(ctx["mode"], Path(ctx["base_dir"]), ctx["days"])


def remove_tree(path: Path, inside: Path) -> None:
    """rmtree that refuses anything outside the benchmark's own data directory."""
    path, inside = Path(path).resolve(), Path(inside).resolve()
    if inside not in path.parents:
        raise ValueError(f"refusing to remove {path}: not inside {inside}")
    shutil.rmtree(path, ignore_errors=True)


STAGES = {
    "simulate": stage_simulate,
    "ingest_history": stage_ingest_history,
    "ingest_day": stage_ingest_day,
    "dbt_full_refresh": stage_dbt_full_refresh,
    "dbt_incremental": stage_dbt_incremental,
    "intraday_increment": stage_intraday_increment,
    "summary_warehouse": stage_summary_warehouse,
    "summary_pandas": stage_summary_pandas,
    "clv_fit": stage_clv_fit,
    "clv_fit_side": stage_clv_fit_side,
    "dbt_bare": stage_dbt_bare,
    "activation": stage_activation,
    "activation_side": stage_activation_side,
    "erasure": stage_erasure,
    "event_log_side": stage_event_log_side,
    "event_log_range_side": stage_event_log_range_side,
}
