"""bench/RESULTS.md: the latest figures at S, M and L and the machine they came from."""

from __future__ import annotations

from pathlib import Path

from retention.bench.profiles import PROFILES, SCALE_PROFILES
from retention.bench.report import RESULTS_MD, load_results, run_table, scaling_table

NOT_RUN_NOTE = {
    "L": "not yet run: `make bench PROFILE=L` (about 64 GB of disk and close to an hour on 2 cores)",
}


def _latest_run(records: list[dict]) -> list[dict]:
    if not records:
        return []
    last = records[-1]["run_id"]
    return [r for r in records if r["run_id"] == last]


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
        "Written by `python -m retention.bench --write-results` from the JSON lines in `bench/results/`.",
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
    ]
    for p in SCALE_PROFILES:
        if not load_results(results_dir, p) and p in NOT_RUN_NOTE:
            out.append(f"- **{p}**: {NOT_RUN_NOTE[p]}")
    out += ["", "## What the stages and comparisons are", "",
            "- `simulate`: the built-in store simulator writes the inbox (cached between runs; one day past the history).",
            "- `ingest_history`: `retention.ingest.ingest_day` for every source and every delivery day of the history, in a loop.",
            "- `ingest_day`: the same for the one new day.",
            "- `dbt_full_refresh`: `dbt build --full-refresh` (models and tests) from an empty warehouse, as of the history's last day.",
            "- `dbt_incremental`: `dbt build` as of the new day on top of that warehouse (incremental models re-read `lookback_days` delivery days).",
            "- `clv_fit`: the customer summary in warehouse SQL, then BG/NBD and Gamma-Gamma maximum likelihood.",
            "- `activation`: not measured until the activation engine is wired into the harness.",
            "- `customer_summary`: frequency, recency, T and monetary per customer in warehouse SQL against pandas "
            "(pull the orders, then the groupby of `retention.clv.summarize_transactions`, as lifetimes' "
            "`summary_data_from_transaction_data` does); ratio = pandas seconds / SQL seconds, results checked identical.",
            "- `dbt_incremental_vs_full_refresh`: a full refresh as of the new day in a sibling warehouse against the "
            "incremental run; ratio = full refresh seconds / incremental seconds; every table compared by contents "
            "(except history tables such as `segment_membership_history`, which a full refresh starts anew by design, "
            "and columns that hold timings).",
            ""]
    for p in (*SCALE_PROFILES, *(n for n in PROFILES if n not in SCALE_PROFILES)):
        run = _latest_run(load_results(results_dir, p))
        if not run or p not in SCALE_PROFILES:
            continue
        spec = PROFILES[p].spec()
        out += [f"## {p}: latest run {run[0]['run_id']}", "",
                f"{spec['customers']:,} customers, {spec['start']} to {spec['last_day']}, seed {spec['seed']}; "
                f"incremental day {spec['next_day']}.", "",
                f"Machine: {_machine_line(run)}.", "", run_table(run, markdown=True), ""]
    out += ["## Reproduce", "", "```", "make bench PROFILE=S", "make bench PROFILE=M",
            "make bench PROFILE=L", "python -m retention.bench --report", "python -m retention.bench --write-results",
            "```", ""]
    return "\n".join(out)


def write_results_md(results_dir: Path, path: Path = RESULTS_MD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results_dir))
    return path
