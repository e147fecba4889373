"""`make demo`: simulate a store, run the daily pipeline over every simulated day, print a summary.

The days run as one Dagster run over the partition range, on the persistent instance in the
data directory, so `make dev` shows the runs and materializations afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import date, timedelta

import dagster as dg

from retention.paths import DataDir
from retention.simulate import SimConfig, simulate
from retention.simulate.config import months_before


def run_daily_refresh(instance: dg.DagsterInstance, start: date, end: date) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    return defs.resolve_job_def("daily_refresh").execute_in_process(instance=instance, tags=tags)


def landing_summary(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Records in, landed and quarantined per source, from the materializations' own metadata.

    A run over a partition range records one materialization per partition, each carrying the
    whole range's counts, so each asset is read once.
    """
    per_asset = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        per_asset[materialization.asset_key] = {k: v.value for k, v in materialization.metadata.items()}
    per_source: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for key, metadata in per_asset.items():
        _, source, table = key.path
        counts = per_source[source]
        counts["files"] = max(counts["files"], metadata["files"])
        counts.setdefault("tables", {})[table] = metadata["landed"]
        for name in ("records_in", "landed", "quarantined"):
            counts[name] += metadata[name]
    return per_source


def print_summary(layout: DataDir, per_source, sim_seconds: float, run_seconds: float, days: int) -> None:
    print()
    print(f"Landed {days} simulated days in {run_seconds:.1f} s (simulation took {sim_seconds:.1f} s).")
    print()
    header = f"{'source':<10}{'files':>8}{'rows in':>12}{'landed':>12}{'quarantined':>13}"
    print(header)
    print("-" * len(header))
    for source, counts in sorted(per_source.items()):
        print(
            f"{source:<10}{counts['files']:>8}{counts['records_in']:>12,}{counts['landed']:>12,}"
            f"{counts['quarantined']:>13,}"
        )
        tables = ", ".join(f"{table} {rows:,}" for table, rows in sorted(counts["tables"].items()))
        print(f"{'':<10}  {tables}")
    print()
    print("Rows count every landing table (child tables such as order lines included).")
    print(f"Data directory:  {layout.root}")
    print(f"  landing zone:  {layout.landing}")
    print(f"  quarantine:    {layout.quarantine}")
    print(f"  ground truth:  {layout.simulation}")
    print("Open the Dagster UI: make dev, then http://127.0.0.1:3000")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last simulated day (default: yesterday)")
    args = parser.parse_args(argv)

    layout = DataDir.from_env()
    os.environ.setdefault("DAGSTER_HOME", str(layout.dagster_home))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)

    end = args.end or date.today() - timedelta(days=1)
    start = months_before(end, args.months)
    print(f"Simulating {args.customers:,} customers from {start} to {end} (seed {args.seed}) into {layout.root}")
    started = time.perf_counter()
    simulate(SimConfig(customers=args.customers, start=start, end=end, seed=args.seed), layout.root)
    sim_seconds = time.perf_counter() - started

    print("Running the daily pipeline for every simulated day ...")
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = run_daily_refresh(instance, start, end)
    run_seconds = time.perf_counter() - started
    if not result.success:
        print("The daily run failed; see the Dagster UI (make dev) for the run's logs.", file=sys.stderr)
        return 1
    print_summary(layout, landing_summary(result), sim_seconds, run_seconds, (end - start).days + 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
