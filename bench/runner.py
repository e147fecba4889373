"""Runs the stages of one profile in order, each in its own measured child process, and appends
one JSON line per stage or comparison to the results file."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import peer_env
from bench.activation import PER_RECIPIENT_SUBSET, THROUGHPUT_RECIPIENTS, compare_send_ids
from bench.clv_peers import compare_fits, recovery, summary_to_parquet
from bench.comparisons import compare_summary_files, compare_warehouses
from bench.erasure import prepare_copy
from bench.machine import PROJECT_ROOT, machine_facts
from bench.measure import Measurement, measure
from bench.profiles import Profile
from bench.stages import SIMULATED_MARKER, remove_tree
from retention.dbt_build import dbt_target_path
from retention.paths import DataDir

# The order matters: each stage uses what the ones before it left on disk.
STAGE_ORDER = (
    "simulate",
    "ingest_history",
    "ingest_day",
    "dbt_full_refresh",
    "dbt_vs_bare_duckdb",  # reads the full refresh's compiled code from its target directory
    "customer_summary",
    "customer_summary_vs_lifetimes",
    "clv_fit",
    "clv_fit_vs_peers",
    "clv_fit_synthetic_vs_peers",  # needs no store: draws the customers from the models themselves
    "dbt_incremental",
    "dbt_incremental_vs_full_refresh",
    "activation",
    "activation_batched_vs_per_recipient",
    "intraday_increment",  # it rebuilds the trigger audiences as of the new day's closing tick
    "erasure",  # on a copy: the cached store keeps the customer
    "event_log_open_vs_dagster",  # needs no store: the events come from the dbt manifest
    "event_log_range_batched_vs_one_by_one",  # needs no store: the landing tables and the profile's days
)
COMPARISONS = ("dbt_vs_bare_duckdb", "customer_summary", "customer_summary_vs_lifetimes", "clv_fit_vs_peers",
               "clv_fit_synthetic_vs_peers", "dbt_incremental_vs_full_refresh", "activation_batched_vs_per_recipient",
               "event_log_open_vs_dagster", "event_log_range_batched_vs_one_by_one")
# the comparisons that run a peer library in its own environment (bench/peer_env.py)
PEER_COMPARISONS = ("customer_summary_vs_lifetimes", "clv_fit_vs_peers", "clv_fit_synthetic_vs_peers")
STATE_FILE = "bench_state.json"
# The full refresh's warehouse, kept so the incremental run can be measured again on its own
# (``--stages dbt_incremental``) without paying for another full refresh first.
SNAPSHOT = "warehouse.last_day.duckdb"


def _warehouse(data_dir: Path):
    import duckdb

    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


class StageError(RuntimeError):
    """A stage could not run (a missing prerequisite) or failed."""


class BenchRun:
    def __init__(self, profile: Profile, bench_root: Path, results_file: Path, dbt_project: Path | None = None,
                 duckdb_memory_limit: str | None = None, duckdb_threads: int | None = None, ingest_workers: int = 2,
                 peers: tuple[str, ...] = peer_env.PEERS):
        self.profile = profile
        self.peers = tuple(peers)  # () measures the project's side of the peer comparisons alone
        # for the dbt stages only; unset leaves DuckDB's defaults (or whatever the environment says)
        self.duckdb = {"duckdb_memory_limit": duckdb_memory_limit, "duckdb_threads": duckdb_threads}
        self.ingest_workers = ingest_workers
        self.dbt_project = Path(dbt_project).resolve() if dbt_project else None
        self.bench_root = Path(bench_root).resolve()
        self.data_dir = profile.data_dir(self.bench_root)
        self.results_file = Path(results_file)
        self.run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}"
        self.work = self.data_dir / "bench_runs" / self.run_id
        self.records: list[dict] = []
        self.measured: dict[str, Measurement] = {}

    # ---- plumbing -------------------------------------------------------------------------

    def _context(self, **extra) -> dict:
        p = self.profile
        return {"data_dir": str(self.data_dir), "customers": p.customers, "start": p.start.isoformat(),
                "last_day": p.last_day.isoformat(), "next_day": p.next_day.isoformat(), "seed": p.seed,
                "profile_spec": p.spec(), "dbt_project": str(self.dbt_project) if self.dbt_project else None,
                **extra}

    def _child(self, stage: str, label: str, child_env: dict | None = None, **extra) -> tuple[Measurement, dict]:
        self.work.mkdir(parents=True, exist_ok=True)
        ctx_path, result_path = self.work / f"{label}.context.json", self.work / f"{label}.result.json"
        ctx_path.write_text(json.dumps(self._context(**extra)))
        result_path.unlink(missing_ok=True)
        m = measure([sys.executable, "-m", "bench.child", stage, str(ctx_path), str(result_path)],
                    env={**os.environ, "PYTHONUNBUFFERED": "1", **(child_env or {})}, cwd=PROJECT_ROOT,
                    log=self.work / f"{label}.log")
        result = json.loads(result_path.read_text()) if result_path.exists() else {
            "ok": False, "error": f"child exited with {m.returncode} without a result"}
        if not result["ok"]:
            raise StageError(f"{result['error']} (log: {self.work / f'{label}.log'})")
        return m, result["details"]

    def _record(self, kind: str, name: str, **fields) -> dict:
        record = {"run_id": self.run_id, "profile": self.profile.name, "kind": kind, "name": name,
                  "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "profile_spec": self.profile.spec(), **fields,
                  "machine": {**machine_facts(), "dbt_project": str(self.dbt_project or "working tree")}}
        self.records.append(record)
        self.results_file.parent.mkdir(parents=True, exist_ok=True)
        with self.results_file.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")
        return record

    def _state(self) -> dict:
        path = self.data_dir / STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _set_state(self, **kw) -> None:
        (self.data_dir / STATE_FILE).write_text(json.dumps({**self._state(), **kw}))

    def _warehouse_as_of(self) -> str:
        as_of = self._state().get("warehouse_as_of")
        if not as_of or not (self.data_dir / "warehouse.duckdb").exists():
            raise StageError("no warehouse yet: run the dbt_full_refresh stage first")
        return as_of

    def _require_simulated(self) -> None:
        if not (self.data_dir / SIMULATED_MARKER).exists():
            raise StageError("the store is not simulated yet: run the simulate stage first")

    # ---- stages ---------------------------------------------------------------------------

    def simulate(self) -> dict:
        marker = self.data_dir / SIMULATED_MARKER
        if marker.exists():
            return self._record("stage", "simulate", ok=True, cached=True, data_dir=str(self.data_dir))
        if self.data_dir.exists():  # a half-written simulation: start again
            remove_tree(self.data_dir, self.bench_root)
        self.data_dir.mkdir(parents=True)
        m, details = self._child("simulate", "simulate")
        return self._record("stage", "simulate", ok=True, cached=False, **m.figures(), details=details,
                            data_dir=str(self.data_dir))

    def _measured_stage(self, name: str, **extra) -> dict:
        m, details = self._child(name, name, **extra)
        self.measured[name] = m
        return self._record("stage", name, ok=True, **m.figures(), details=details)

    def ingest_history(self) -> dict:
        self._require_simulated()
        return self._measured_stage("ingest_history", workers=self.ingest_workers)

    def ingest_day(self) -> dict:
        self._require_simulated()
        return self._measured_stage("ingest_day")

    def _dbt_context(self, label: str) -> dict:
        return {**self.duckdb, "run_results_copy": str(self.work / f"{label}.run_results.json")}

    def _dbt_stage(self, name: str, **extra) -> dict:
        m, details = self._child(name, name, **extra, **self._dbt_context(name))
        self.measured[name] = m
        return self._record("stage", name, ok=True, **m.figures(), details=details,
                            **{k: v for k, v in details["duckdb"].items() if v})

    def dbt_full_refresh(self) -> dict:
        if not (self.data_dir / "landing").is_dir():
            raise StageError("no landing zone yet: run the ingest_history stage first")
        self._set_state(warehouse_as_of=None)
        (self.data_dir / SNAPSHOT).unlink(missing_ok=True)
        record = self._dbt_stage("dbt_full_refresh", as_of=self.profile.last_day.isoformat())
        shutil.copyfile(self.data_dir / "warehouse.duckdb", self.data_dir / SNAPSHOT)
        self._set_state(warehouse_as_of=self.profile.last_day.isoformat())
        return record

    def dbt_incremental(self) -> dict:
        snapshot = self.data_dir / SNAPSHOT
        if self._state().get("warehouse_as_of") != self.profile.last_day.isoformat() and snapshot.exists():
            shutil.copyfile(snapshot, self.data_dir / "warehouse.duckdb")  # not measured: the stage starts after it
            (self.data_dir / "warehouse.duckdb.wal").unlink(missing_ok=True)
            self._set_state(warehouse_as_of=self.profile.last_day.isoformat())
        if self._warehouse_as_of() != self.profile.last_day.isoformat():
            raise StageError(f"the warehouse is not as of {self.profile.last_day}: run dbt_full_refresh first")
        self._set_state(warehouse_as_of=None)
        record = self._dbt_stage("dbt_incremental", as_of=self.profile.next_day.isoformat())
        self._set_state(warehouse_as_of=self.profile.next_day.isoformat())
        return record

    def intraday_increment(self) -> dict:
        """The increment that closes the new day (the hourly tick at midnight): the day's trigger
        sources re-landed in full, the most an increment ever re-reads, and the trigger audiences
        rebuilt on the new day's warehouse. It sees what the daily build of that day saw, so the
        morning's tables it reuses (recommendations, predictions) agree with it."""
        if self._warehouse_as_of() != self.profile.next_day.isoformat():
            raise StageError(f"the warehouse is not as of {self.profile.next_day}: run dbt_incremental first")
        closing_tick = self.profile.next_day + timedelta(days=1)
        return self._dbt_stage("intraday_increment", as_of_time=f"{closing_tick.isoformat()}T00:00:00+00:00")

    def erasure(self) -> dict:
        """One customer erased (``retention.privacy.erase``) from a copy of the store, made unmeasured."""
        self._warehouse_as_of()
        copy = self.bench_root / self.profile.name / f"erasure-{self.run_id}"
        try:
            held = prepare_copy(self.data_dir, copy)
            m, details = self._child("erasure", "erasure", copy_dir=str(copy))
            return self._record("stage", "erasure", ok=True, **m.figures(), details={**held, **details})
        finally:
            remove_tree(copy, self.bench_root)

    def clv_fit(self) -> dict:
        return self._measured_stage("clv_fit", as_of=self._warehouse_as_of())

    def customer_summary(self) -> dict:
        as_of = self._warehouse_as_of()
        sides = {}
        for side, stage in (("warehouse_sql", "summary_warehouse"), ("pandas", "summary_pandas")):
            m, details = self._child(stage, stage, as_of=as_of, result_path=str(self.work / f"{stage}.parquet"))
            sides[side] = {**m.figures(), **details}
        check = compare_summary_files(self.work / "summary_warehouse.parquet", self.work / "summary_pandas.parquet")
        pandas_, sql = sides["pandas"], sides["warehouse_sql"]
        return self._record(
            "comparison", "customer_summary", ok=True, as_of=as_of, baseline="pandas", candidate="warehouse_sql",
            ratio=round(pandas_["work_s"] / max(sql["work_s"], 1e-9), 2),
            ratio_basis="pandas (pull orders + groupby) work seconds / warehouse SQL work seconds",
            ratio_groupby_only=round(pandas_["groupby_s"] / max(sql["work_s"], 1e-9), 2),
            ratio_process_wall=round(pandas_["wall_s"] / max(sql["wall_s"], 1e-9), 2),
            identical=check["identical"], check=check, sides=sides)

    def _peer(self, peer: str, label: str, task: str, source: Path, options: dict | None = None) -> tuple[Measurement, dict]:
        """One peer's task in a child process of its own environment (made first if needed, unmeasured)."""
        try:
            python, setup = peer_env.ensure_env(peer, self.bench_root)
        except peer_env.PeerSetupError as exc:
            raise StageError(str(exc)) from None
        out, log = self.work / f"{label}.json", self.work / f"{label}.log"
        out.unlink(missing_ok=True)
        m = measure([str(python), str(peer_env.script(peer)), task, str(source), str(out), json.dumps(options or {})],
                    env=peer_env.peer_env_vars(peer, self.bench_root), cwd=self.work, log=log)
        if m.returncode != 0 or not out.exists():
            raise StageError(f"{peer} {task} exited with {m.returncode} (log: {log})")
        return m, {**json.loads(out.read_text()), **setup}

    def _fit_side_by_side(self, name: str, summary, truth: dict | None = None, **fields) -> dict:
        """The project's fit and each peer's on one customer summary file, one BLAS thread each."""
        self.work.mkdir(parents=True, exist_ok=True)
        path = summary_to_parquet(summary, self.work / f"{name}.summary.parquet")
        m, project = self._child("clv_fit_side", f"{name}_project", child_env=peer_env.ONE_THREAD,
                                 summary_path=str(path))
        sides, checks = {"project": {**m.figures(), **project}}, {}
        for peer in self.peers:
            # the project's penalizer, if a small store needed one; pymc-marketing has priors instead
            pm, result = self._peer(peer, f"{name}_{peer}", "fit", path, {"penalizer": project["penalizer"]})
            sides[peer] = {**pm.figures(), **result}
            checks[peer] = compare_fits(summary, project, peer, result)
        if truth:
            for side in sides.values():
                side["recovery"] = recovery(side, truth)
        # CPU seconds: the machine is shared, and a wall second is worth what the load leaves of it
        ratios = {peer: {"fit": round(sides[peer]["fit_cpu_s"] / max(project["fit_cpu_s"], 1e-9), 2),
                         "fit_wall": round(sides[peer]["fit_s"] / max(project["fit_s"], 1e-9), 2),
                         "process_wall": round(sides[peer]["wall_s"] / max(m.wall_s, 1e-9), 2)} for peer in self.peers}
        return self._record(
            "comparison", name, ok=True, baseline="lifetimes", candidate="project",
            ratio=ratios.get("lifetimes", {}).get("fit"), ratios=ratios,
            ratio_basis="peer fit CPU seconds / project fit CPU seconds (BG/NBD + Gamma-Gamma, the fits alone, "
                        "one BLAS thread each)",
            identical=all(c["agrees"] for c in checks.values()) if checks else None, check=checks,
            customers=len(summary), truth=truth, sides=sides, **fields)

    def clv_fit_vs_peers(self) -> dict:
        """The CLV fits on the store's warehouse customer summary: the project against lifetimes
        and pymc-marketing (MAP)."""
        from bench.summary import summary_in_warehouse

        as_of = self._warehouse_as_of()
        with _warehouse(self.data_dir) as con:
            summary, _ = summary_in_warehouse(con, date.fromisoformat(as_of))
        return self._fit_side_by_side("clv_fit_vs_peers", summary, as_of=as_of)

    def clv_fit_synthetic_vs_peers(self) -> dict:
        """The same on the profile's number of customers drawn from BG/NBD and Gamma-Gamma at
        known parameters (no store needed): speed at a million customers, and recovery of the truth."""
        from bench.synthetic_clv import TRUE_BG_NBD, TRUE_GAMMA_GAMMA, synthetic_summary

        summary = synthetic_summary(self.profile.customers, self.profile.seed)
        return self._fit_side_by_side("clv_fit_synthetic_vs_peers", summary,
                                      truth={"bg_nbd": TRUE_BG_NBD, "gamma_gamma": TRUE_GAMMA_GAMMA})

    def customer_summary_vs_lifetimes(self) -> dict:
        """The warehouse SQL summary against lifetimes' summary_data_from_transaction_data on the
        same orders (exported to Parquet, unmeasured)."""
        from bench.summary import TRANSACTIONS

        as_of = self._warehouse_as_of()
        self.work.mkdir(parents=True, exist_ok=True)
        transactions = self.work / "transactions.parquet"
        with _warehouse(self.data_dir) as con:
            con.execute(f"copy ({TRANSACTIONS}) to '{transactions}' (format parquet)")
        ours = self.work / "summary_warehouse_vs_lifetimes.parquet"
        m, sql = self._child("summary_warehouse", "summary_warehouse_vs_lifetimes", as_of=as_of, result_path=str(ours))
        sides = {"warehouse_sql": {**m.figures(), **sql}}
        if "lifetimes" not in self.peers:
            return self._record("comparison", "customer_summary_vs_lifetimes", ok=True, as_of=as_of, ratio=None,
                                identical=None, sides=sides)
        pm, peer = self._peer("lifetimes", "summary_lifetimes", "summary", transactions, {"as_of": as_of})
        sides["lifetimes"] = {**pm.figures(), **peer}
        check = compare_summary_files(ours, self.work / "summary_lifetimes.parquet")
        return self._record(
            "comparison", "customer_summary_vs_lifetimes", ok=True, as_of=as_of, baseline="lifetimes",
            candidate="warehouse_sql", ratio=round(peer["summary_s"] / max(sql["work_s"], 1e-9), 2),
            ratio_basis="lifetimes summary_data_from_transaction_data seconds (Parquet already read) / warehouse SQL "
                        "seconds",
            ratio_process_wall=round(pm.wall_s / max(m.wall_s, 1e-9), 2),
            identical=check["identical"], check=check, sides=sides)

    def dbt_vs_bare_duckdb(self) -> dict:
        """The full refresh's SQL (and Python models) run bare in one DuckDB connection, without dbt,
        into a sibling warehouse: the overhead of the dbt layer, and the same tables."""
        full = self.measured.get("dbt_full_refresh")
        if full is None:
            raise StageError("needs the dbt_full_refresh stage in the same run (it reads that build's compiled code)")
        bare_dir = self.data_dir / "bare_duckdb"
        remove_tree(bare_dir, self.bench_root)
        bare_dir.mkdir()
        m, details = self._child("dbt_bare", "dbt_bare", **self.duckdb, target=str(dbt_target_path(DataDir(self.data_dir))),
                                 warehouse=str(bare_dir / "warehouse.duckdb"), as_of=self.profile.last_day.isoformat())
        check = compare_warehouses(self.data_dir / "warehouse.duckdb", bare_dir / "warehouse.duckdb",
                                   explain_floats=True)
        remove_tree(bare_dir, self.bench_root)  # compared; at L it is gigabytes of disk
        dbt_side = self.records[-1] if self.records and self.records[-1]["name"] == "dbt_full_refresh" else {}
        return self._record(
            "comparison", "dbt_vs_bare_duckdb", ok=True, as_of=self.profile.last_day.isoformat(), baseline="dbt",
            candidate="bare_duckdb", ratio=round(full.wall_s / max(m.wall_s, 1e-9), 2),
            ratio_basis="dbt build --full-refresh wall seconds / the same nodes' code run bare, wall seconds",
            identical=check["identical"], check=check,
            sides={"dbt": {**full.figures(), "dbt_elapsed_s": (dbt_side.get("details") or {}).get("dbt_elapsed_s")},
                   "bare_duckdb": {**m.figures(), **details}})

    def dbt_incremental_vs_full_refresh(self) -> dict:
        incremental = self.measured.get("dbt_incremental")
        if incremental is None:
            raise StageError("needs the dbt_incremental stage in the same run")
        # the full refresh for the same day, in a sibling sharing the landing zone
        sibling = self.data_dir / "full_refresh_check"
        sibling.mkdir(exist_ok=True)
        if not (sibling / "landing").exists():
            os.symlink(self.data_dir / "landing", sibling / "landing")
        as_of = self.profile.next_day.isoformat()
        full, details = self._child("dbt_full_refresh", "dbt_full_refresh_next_day", data_dir=str(sibling), as_of=as_of,
                                    **self._dbt_context("dbt_full_refresh_next_day"))
        check = compare_warehouses(self.data_dir / "warehouse.duckdb", sibling / "warehouse.duckdb")
        (sibling / "warehouse.duckdb").unlink()  # compared; at L it is gigabytes of disk
        return self._record(
            "comparison", "dbt_incremental_vs_full_refresh", ok=True, as_of=as_of, baseline="full_refresh",
            candidate="incremental", ratio=round(full.wall_s / max(incremental.wall_s, 1e-9), 2),
            ratio_basis="full refresh wall seconds / incremental wall seconds, both as of the new day",
            identical=check["identical"], check=check,
            sides={"incremental": incremental.figures(), "full_refresh": {**full.figures(), **details}})

    def activation(self) -> dict:
        as_of = self._warehouse_as_of()
        return self._measured_stage("activation", as_of=as_of, recipients=THROUGHPUT_RECIPIENTS[self.profile.name])

    def activation_batched_vs_per_recipient(self) -> dict:
        """SendGridSender with 1,000 personalizations a request against one request per recipient
        (how simple reverse-ETL tools send), over the same recipients."""
        as_of = self._warehouse_as_of()
        recipients = min(PER_RECIPIENT_SUBSET, THROUGHPUT_RECIPIENTS[self.profile.name])
        sides, paths = {}, {}
        for side, batch_size in (("batched", 1000), ("per_recipient", 1)):
            paths[side] = self.work / f"activation_{side}.send_ids.json"
            m, details = self._child("activation_side", f"activation_{side}", as_of=as_of, recipients=recipients,
                                     batch_size=batch_size, send_ids_path=str(paths[side]))
            sides[side] = {**m.figures(), **details}
        check = compare_send_ids(paths["batched"], paths["per_recipient"])
        batched, single = sides["batched"]["recipients_per_second"], sides["per_recipient"]["recipients_per_second"]
        return self._record(
            "comparison", "activation_batched_vs_per_recipient", ok=True, as_of=as_of, baseline="per_recipient",
            candidate="batched", recipients=recipients, ratio=round(batched / max(single, 1e-9), 2),
            ratio_basis="recipients per second with 1,000 per request / with one request per recipient",
            identical=check["identical"], check=check, sides=sides)

    def _event_log_sides(self, stage: str, option: str, sides: tuple[str, ...], **ctx) -> dict:
        """Each side of an event log comparison in a child process of its own, into empty files
        (``option`` names the side in the stage's context)."""
        out = {}
        for side in sides:
            label = f"{stage.removesuffix('_side')}_{side}"
            base_dir = self.work / label
            if base_dir.exists():
                remove_tree(base_dir, self.bench_root)
            m, details = self._child(stage, label, base_dir=str(base_dir), **{option: side}, **ctx)
            out[side] = {**m.figures(), **details}
        return out

    def event_log_open_vs_dagster(self) -> dict:
        """One daily refresh's Dagster events (a pair per dbt model and data test) stored by the
        project's SQLite event log (open connections) against Dagster's own, each into empty files."""
        sides = self._event_log_sides("event_log_side", "storage", ("open", "dagster"))
        open_, dagster = sides["open"], sides["dagster"]
        identical = (open_["read_back"] == dagster["read_back"] and open_["assets"] == dagster["assets"])
        return self._record(
            "comparison", "event_log_open_vs_dagster", ok=True, baseline="dagster", candidate="open",
            events=open_["events"], ratio=round(dagster["seconds"] / max(open_["seconds"], 1e-9), 2),
            ratio_basis="seconds storing the events with Dagster's SQLite event log / with open connections",
            identical=identical, check={"read_back": open_["read_back"], "assets": len(open_["assets"])},
            sides={k: {f: v for f, v in side.items() if f != "assets"} for k, side in sides.items()})

    def event_log_range_batched_vs_one_by_one(self) -> dict:
        """A history run's materializations over the profile's days (one per landing table and day)
        stored by the project's event log in a batch per asset against one at a time."""
        p = self.profile
        days = [(p.start + timedelta(days=n)).isoformat() for n in range((p.last_day - p.start).days + 1)]
        sides = self._event_log_sides("event_log_range_side", "mode", ("batched", "one_by_one"), days=days)
        batched, single = sides["batched"], sides["one_by_one"]
        identical = batched["read_back"] == single["read_back"] and batched["records"] == single["records"]
        return self._record(
            "comparison", "event_log_range_batched_vs_one_by_one", ok=True, baseline="one_by_one",
            candidate="batched", events=batched["events"],
            ratio=round(single["seconds"] / max(batched["seconds"], 1e-9), 2),
            ratio_basis="seconds storing the events one at a time / in a batch per asset",
            identical=identical, check={"records": batched["records"], "assets": len(batched["read_back"]),
                                        "days": len(days)},
            sides={k: {f: v for f, v in side.items() if f != "read_back"} for k, side in sides.items()})

    # ---- the run --------------------------------------------------------------------------

    def run(self, stages: list[str], echo=print) -> list[dict]:
        started = time.perf_counter()
        for name in [s for s in STAGE_ORDER if s in stages]:
            echo(f"[{self.profile.name}] {name} ...")
            try:
                record = getattr(self, name)()
            except StageError as exc:
                record = self._record("comparison" if name in COMPARISONS else "stage", name, ok=False, error=str(exc))
            echo(f"[{self.profile.name}] {name}: {one_line(record)}")
        stage_records = [r for r in self.records if r["kind"] == "stage" and "wall_s" in r]
        self._record("total", "total", ok=all(r["ok"] for r in self.records),
                     harness_wall_s=round(time.perf_counter() - started, 3),
                     wall_s=round(sum(r["wall_s"] for r in stage_records), 3),
                     peak_rss_mb=max((r["peak_rss_mb"] for r in stage_records), default=0.0),
                     stages=[r["name"] for r in stage_records], load_avg_end=[round(x, 2) for x in os.getloadavg()])
        return self.records


def one_line(record: dict) -> str:
    if not record["ok"]:
        return f"FAILED: {record['error']}"
    if record.get("skipped"):
        return f"skipped ({record['skipped']})"
    if record.get("cached"):
        return "cached"
    if record["kind"] == "comparison":
        return f"ratio {record['ratio']}x, identical={record['identical']}"
    return f"{record['wall_s']:.1f} s, peak {record['peak_rss_mb']:.0f} MB"
