"""bench/RESULTS.md: the latest figures at S, M and L and the machine they came from."""

from __future__ import annotations

from pathlib import Path

from bench import targets
from bench.profiles import PROFILES, SCALE_PROFILES
from bench.report import RESULTS_MD, default_memory, latest_by_name, load_results, run_table, scaling_table, table, variant

NOTES_MD = RESULTS_MD.with_name("NOTES.md")
NOT_RUN_NOTE = {
    "L": "not yet run: `make bench PROFILE=L` (its inbox is written gzip-compressed: about 10 GB of disk, "
         "and close to an hour of simulation on 2 cores)",
}


def _runs(records: list[dict]) -> list[list[dict]]:
    runs: dict[str, list[dict]] = {}
    for r in records:
        runs.setdefault(r["run_id"], []).append(r)
    return list(runs.values())


def _latest_full_run(records: list[dict]) -> tuple[list[dict], list[list[dict]]]:
    """The latest run of every stage (it starts with simulate), and the partial runs after it."""
    runs = _runs(records)
    full = [i for i, run in enumerate(runs) if run[0]["name"] == "simulate"]
    if not full:
        return (runs[-1] if runs else []), []
    return runs[full[-1]], runs[full[-1] + 1:]


def _sources(results_dir: Path) -> list[str]:
    """Which runs the side-by-side cells come from: a column can mix a full run and later reruns."""
    out = []
    for p in SCALE_PROFILES:
        latest = latest_by_name(load_results(results_dir, p))
        by_run: dict[str, list[str]] = {}
        for name, r in latest.items():
            by_run.setdefault(f"{r['run_id']} (commit {r['machine']['git_commit']})", []).append(name)
        if by_run:
            out.append(f"- **{p}**: " + "; ".join(f"{', '.join(names)} from run {run}" for run, names in by_run.items()))
    return out


def _memory_table(results_dir: Path) -> str | None:
    """dbt stages with DuckDB's defaults beside the latest run with each option (same profile)."""
    rows = []
    for p in SCALE_PROFILES:
        records = [r for r in load_results(results_dir, p) if r["ok"] and r["name"].startswith("dbt") and "wall_s" in r]
        latest: dict[tuple[str, str], dict] = {}
        for r in records:
            latest[(r["name"], variant(r))] = r
        if not any(v for _, v in latest):
            continue
        for (name, option), r in sorted(latest.items()):
            loads = f"{r['load_avg_before'][0]:.1f} -> {r['load_avg_after'][0]:.1f}"
            rows.append([p, name, option or default_memory(r), f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                         f"{r['peak_rss_mb']:,.0f}", f"{sum(r['details']['nodes'].values())}", r["run_id"], loads])
    if not rows:
        return None
    return table(["profile", "stage", "DuckDB settings", "wall s", "cpu s", "peak RSS MB", "nodes", "run",
                   "1-min load avg"], rows, True)


def _targets_section(results_dir: Path) -> list[str]:
    latest = {p: latest_by_name(load_results(results_dir, p)) for p in SCALE_PROFILES}
    out = ["## Targets", "",
           "The speed targets against the latest figures of each profile (defaults, no DuckDB options; runs with a "
           "DuckDB memory limit are in the memory table below). Each is judged at the profile it names: L, or S for "
           "the incremental ratio. The CLV fit is the project's fits against lifetimes' on the same summary: at L on "
           "a million customers drawn from the models (`clv_fit_synthetic_vs_peers`) unless the L store's own "
           "summary was fitted (`clv_fit_vs_peers`).", "",
           table(["figure", "today", "target", "goal", *SCALE_PROFILES, "verdict"], targets.target_rows(latest), True),
           "", "### Side by side with the peers", ""]
    for p in SCALE_PROFILES:
        if latest[p].get("dbt_vs_bare_duckdb"):
            out += targets.bare_profile(latest[p]["dbt_vs_bare_duckdb"], latest[p].get("dbt_full_refresh"))
        for name in ("clv_fit_vs_peers", "clv_fit_synthetic_vs_peers"):
            if (latest[p].get(name) or {}).get("ratios"):
                out += targets.fit_profile(latest[p][name])
        if latest[p].get("customer_summary_vs_lifetimes"):
            out += targets.lifetimes_summary_profile(latest[p]["customer_summary_vs_lifetimes"])
    out += ["", "### What holds them back (from the runs' own profiles)", ""]
    measured = [p for p in SCALE_PROFILES if latest[p]]
    for p in measured:
        inc = latest[p].get("dbt_incremental")
        if inc and inc.get("details", {}).get("slowest_nodes"):
            out += targets.incremental_profile(inc, latest[p].get("dbt_full_refresh"))
    for p in measured:
        records = [r for r in load_results(results_dir, p) if r["ok"] and r["name"] == "dbt_full_refresh" and "wall_s" in r]
        limited = [r for r in records if r.get("duckdb_memory_limit")]
        out += targets.memory_profile(latest[p].get("dbt_full_refresh"), limited[-1] if limited else None)
    for p in measured:
        if latest[p].get("customer_summary"):
            out += targets.summary_profile(latest[p]["customer_summary"])
    for p in measured:
        stage = latest[p].get("activation")
        if stage and "details" in stage and "throughput" in stage["details"]:
            out += targets.activation_profile(stage, latest[p].get("activation_batched_vs_per_recipient"))
    return out + [""]


def _machine_line(run: list[dict]) -> str:
    m = run[0]["machine"]
    loads = [r["load_avg_before"][0] for r in run if "load_avg_before" in r]
    load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "?"
    return (f"{m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}; Python {m['python']}, "
            f"DuckDB {m['duckdb']}, dbt-core {m['dbt_core']}, dbt-duckdb {m['dbt_duckdb']}, pandas {m['pandas']}; "
            f"commit {m['git_commit']}, dbt project: {m.get('dbt_project', 'working tree')}; "
            f"1-minute load average at the stages' start {load}")


def render(results_dir: Path) -> str:
    out = [
        "# Benchmark results",
        "",
        "Written by `python -m bench --write-results` from the JSON lines in `bench/results/`.",
        "Each stage runs in its own process: wall seconds, and peak memory as the largest resident set",
        "of the stage's process tree (sampled from /proc every 50 ms, and at least the kernel's",
        "high-water mark of its largest process). Figures from a shared machine are noisy: the load",
        "average is recorded with every figure.",
        "",
        "## S, M and L side by side",
        "",
        "Each cell: wall time / peak RSS. Comparisons: the ratio (how many times faster the candidate is)",
        "and whether both ways gave identical results.",
        "",
        scaling_table(results_dir, markdown=True),
        "",
        "Each cell is the latest successful figure of that stage at that profile; the runs they come from:",
        "",
        *_sources(results_dir),
        "",
    ]
    for p in SCALE_PROFILES:
        if not load_results(results_dir, p) and p in NOT_RUN_NOTE:
            out.append(f"- **{p}**: {NOT_RUN_NOTE[p]}")
    out += ["", *_targets_section(results_dir)]
    if NOTES_MD.exists():  # written by hand, kept across regenerations
        out += ["## Notes on these figures", "", NOTES_MD.read_text().strip(), ""]
    memory = _memory_table(results_dir)
    if memory:
        out += ["## DuckDB memory limit and threads", "",
                "`--duckdb-memory-limit 4GB` (and `--duckdb-threads N`) set `RETENTION_DUCKDB_MEMORY_LIMIT` "
                "(`RETENTION_DUCKDB_THREADS`) for the dbt stages; `dbt_project/profiles.yml` passes them to DuckDB, "
                "and leaves the project's default when they are unset (12.5% of RAM from the commit that chose it, "
                "retention/duckdb_config.py; DuckDB's 80% before; a thread per core). The latest run "
                "of each dbt stage with each setting:", "", memory, ""]
    out += ["## What the stages and comparisons are", "",
            "- `simulate`: the built-in store simulator writes the inbox (cached between runs, keyed by the simulator's "
            "version too; one day past the history). L's inbox is gzip-compressed (`<name>.gz`, which ingestion reads "
            "like the plain files): plain, it would take about 64 GB.",
            "- `ingest_history`: `retention.ingest.ingest_day` for every source and every delivery day of the history, "
            "the days spread over `--ingest-workers` processes (2 by default, as a backfill of the daily partitions runs; "
            "each day writes only its own partitions).",
            "- `ingest_day`: the same for the one new day, in one process.",
            "- `dbt_full_refresh`: `dbt build --full-refresh` (models and data tests, as the daily run builds: unit tests "
            "run with the test suite) from an empty warehouse, as of the history's last day. Its warehouse is kept, so "
            "`--stages dbt_incremental` can be measured again without another full refresh.",
            "- `dbt_incremental`: the daily run's `dbt build` as of the new day on top of that warehouse (incremental "
            "models re-read `lookback_days` delivery days).",
            "- `intraday_increment`: one increment of the intraday path (`retention.intraday`) on the new day's "
            "warehouse: the tick at midnight that closes the new day, which re-lands the day's trigger sources in full "
            "(the most any increment re-reads) and rebuilds the trigger audiences with their parents, minus the "
            "daily-only models (dbt selector `intraday_triggers`).",
            "- `clv_fit`: the customer summary in warehouse SQL, then BG/NBD and Gamma-Gamma maximum likelihood.",
            "- `erasure`: `retention.privacy.erase` of the customer with the most orders (email, phone and Shopify id "
            "given) from a copy of the store (files erasure replaces whole are linked, the warehouse and SQLite files "
            "copied, unmeasured); it reads every file of the data directory once, so its cost follows the directory.",
            "- `activation`: the shipped demo campaigns over the warehouse's audiences, then `vip_tier_upgrade` "
            "(one immediate transactional email) over a synthetic audience of 10,000 recipients at S, 100,000 at M and "
            "1,000,000 at L built from the warehouse's customers, all consenting; `retention.activation.engine.activate` "
            "with a fresh SQLite ledger and the official SendGrid and Twilio clients against "
            "`tests.fakes.providers` in the same process, sending the day after the audiences' as-of day "
            "at 17:00 UTC. Recipients per second = messages the fake servers accepted / seconds of the `activate()` "
            "call; the stage's peak RSS includes the fake servers, which keep every accepted request in memory.",
            "- `customer_summary`: frequency, recency, T and monetary per customer in warehouse SQL against pandas "
            "(pull the orders, then the groupby of `retention.clv.summarize_transactions`, as lifetimes' "
            "`summary_data_from_transaction_data` does); ratio = pandas seconds / SQL seconds, results checked identical.",
            "- `customer_summary_vs_lifetimes`: the same warehouse SQL summary against lifetimes 0.11's "
            "`summary_data_from_transaction_data` (days, `freq_multiplier=7`) on the same orders exported to Parquet, in "
            "lifetimes' own environment; ratio = lifetimes seconds / SQL seconds; frequency, recency and T checked "
            "equal exactly, monetary_value to 1e-6.",
            "- `clv_fit_vs_peers`: BG/NBD and Gamma-Gamma on the warehouse customer summary (one Parquet file all "
            "sides read): the project's maximum likelihood, lifetimes 0.11 (`BetaGeoFitter`, `GammaGammaFitter`) and "
            "pymc-marketing (`BetaGeoModel`, `GammaGammaModel`, MAP with their default priors), each in its own process "
            "with one BLAS thread; ratio = peer fit seconds / project fit seconds; parameters agree within a relative "
            "1e-3 of the project's for lifetimes, 5e-2 for pymc-marketing's MAP. `clv_fit_synthetic_vs_peers` does the "
            "same on the profile's number of customers drawn from the two models at CDNOW's parameters (no store), "
            "and reports each side's error against them.",
            "- `dbt_vs_bare_duckdb`: every node of the full refresh (models, data tests, seeds) run again from its "
            "compiled code, in dependency order, in one DuckDB connection without dbt, into a sibling warehouse; ratio "
            "= dbt's wall seconds / the bare run's; every table compared by contents.",
            "- `dbt_incremental_vs_full_refresh`: a full refresh as of the new day in a sibling warehouse against the "
            "incremental run; ratio = full refresh seconds / incremental seconds; every table compared by contents "
            "(except history tables such as `segment_membership_history`, which a full refresh starts anew by design, "
            "and columns that hold timings).",
            "- `activation_batched_vs_per_recipient`: the same campaign and recipients (the first 2,000 of the synthetic "
            "audience) with `SendGridSender(batch_size=1000)` against `batch_size=1`, one request per recipient as "
            "simple reverse-ETL tools send; ratio = batched recipients/s / per-recipient recipients/s; the send ids the "
            "fake server accepted are checked identical.",
            "- `event_log_open_vs_dagster`: the Dagster events of one daily refresh (planned and done, per dbt model and "
            "data test of the manifest) stored by the project's SQLite event log (`orchestration/event_log.py`, open "
            "connections) against Dagster's own, each into empty files; ratio = Dagster's seconds / the project's; "
            "what both read back (events per type, assets) is checked identical.",
            "- `event_log_range_batched_vs_one_by_one`: a history run's materializations, one per landing table and "
            "day of the profile's history, stored by the project's event log in one batch per asset (as Dagster hands "
            "them over with `DAGSTER_EVENT_BATCH_SIZE` set, orchestration/definitions.py) against one at a time, each "
            "into empty files; ratio = one-at-a-time seconds / batched; the run's records and each asset's partitions "
            "and latest partition are checked identical.",
            ""]
    for p in SCALE_PROFILES:
        run, later = _latest_full_run(load_results(results_dir, p))
        if not run:
            continue
        spec = PROFILES[p].spec()
        out += [f"## {p}: latest full run {run[0]['run_id']}", "",
                f"{spec['customers']:,} customers, {spec['start']} to {spec['last_day']}, seed {spec['seed']}; "
                f"incremental day {spec['next_day']}.", "",
                f"Machine: {_machine_line(run)}.", "", run_table(run, markdown=True), ""]
        for part in later:
            out += [f"### {p}: later run {part[0]['run_id']} ({', '.join(r['name'] for r in part if r['kind'] != 'total')})",
                    "", f"Machine: {_machine_line(part)}.", "", run_table(part, markdown=True), ""]
    out += ["## Reproduce", "", "```", "make bench PROFILE=S", "make bench PROFILE=M",
            "make bench PROFILE=L", "python -m bench --report", "python -m bench --write-results",
            "```", ""]
    return "\n".join(out)


def write_results_md(results_dir: Path, path: Path = RESULTS_MD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results_dir))
    return path
