"""CLI: python -m bench --profile S|M|L|XS [--stages ...] [--duckdb-memory-limit 4GB] [--peers ...] [--out DIR]
| --report | --write-results"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.peer_env import PEERS
from bench.profiles import PROFILES
from bench.report import DEFAULT_RESULTS_DIR, run_table, scaling_table
from bench.runner import STAGE_ORDER, BenchRun


def _default_bench_root() -> Path:
    return Path(os.environ.get("RETENTION_DATA_DIR") or "data") / "bench"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--profile", choices=list(PROFILES), default="S")
    ap.add_argument("--stages", nargs="+", choices=STAGE_ORDER, default=list(STAGE_ORDER),
                    help="stages and comparisons to run (always in the harness's order)")
    ap.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR, help="where <profile>.jsonl is appended")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="cache of simulated stores (default: $RETENTION_DATA_DIR/bench or data/bench)")
    ap.add_argument("--dbt-project", type=Path, default=None,
                    help="dbt project to build (default: the repository's dbt_project/)")
    ap.add_argument("--duckdb-memory-limit", default=None, metavar="SIZE",
                    help="DuckDB memory limit for the dbt stages, e.g. 4GB (default: the project's, 12.5%% of RAM)")
    ap.add_argument("--duckdb-threads", type=int, default=None, metavar="N",
                    help="DuckDB threads for the dbt stages (default: DuckDB's, one per core)")
    ap.add_argument("--ingest-workers", type=int, default=2, metavar="N",
                    help="processes that land the history's days in parallel (default 2: one per core here)")
    ap.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS), metavar="PEER",
                    help="peer libraries to compare against, each in its own environment (default: lifetimes "
                         "pymc_marketing; none: the project's side alone)")
    ap.add_argument("--report", action="store_true", help="print S, M and L side by side from the results and exit")
    ap.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md from the results and exit")
    a = ap.parse_args(argv)

    if a.report:
        print(scaling_table(a.out))
        return 0
    if a.write_results:
        from bench.results_md import write_results_md

        print(f"wrote {write_results_md(a.out)}")
        return 0

    profile = PROFILES[a.profile]
    run = BenchRun(profile, a.data_dir or _default_bench_root(), a.out / f"{profile.name}.jsonl", a.dbt_project,
                   duckdb_memory_limit=a.duckdb_memory_limit, duckdb_threads=a.duckdb_threads,
                   ingest_workers=a.ingest_workers, peers=tuple(a.peers))
    print(f"profile {profile.name}: {profile.customers:,} customers, {profile.start}..{profile.last_day} "
          f"(+{profile.next_day} for the incremental run), data in {run.data_dir}")
    records = run.run(a.stages)
    print()
    print(run_table(records))
    print(f"\nappended to {run.results_file}")
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
