"""The experiments' sample-ratio check on dbt's ``experiment_results``.

A split whose recipients per variant are far from the configured weights (chi-square, p < 0.001)
means the assignment or the sending is broken, and every result of the experiment is suspect: the
check fails and names the experiment, so nobody reads its winner as real. Its severity is WARN: the
activation breaker stops the audiences of a run with a failed ERROR check, and one broken experiment
must not stop every other campaign.
"""

import dagster as dg

from assets.resources import DataDirResource
from retention.experiments.analysis import SRM_P, sample_ratio_mismatches
from retention.experiments.rollout import RESULTS_MODEL, read_results

EXPERIMENT_RESULTS = dg.AssetKey(RESULTS_MODEL)


@dg.asset_check(
    asset=EXPERIMENT_RESULTS,
    name="sample_ratio",
    description=f"Recipients per variant against the configured weights (chi-square, fails at p < {SRM_P}).",
)
def sample_ratio(context: dg.AssetCheckExecutionContext, data_dir: DataDirResource) -> dg.AssetCheckResult:
    results = read_results(data_dir.layout.warehouse)
    broken = sample_ratio_mismatches(results)
    metadata = {"experiments": int(results[["experiment", "step"]].drop_duplicates().shape[0]) if len(results) else 0,
                "mismatched": len(broken),
                **{f"p_value/{name}": dg.MetadataValue.float(p) for name, p in broken.items()},
                # counts only: recipients and winners per variant
                **{f"recipients/{r.experiment}#{r.step}/{r.variant}": int(r.recipients) for r in results.itertuples()},
                "winners": int(results["is_winner"].sum()) if len(results) else 0}
    if broken:
        context.log.error(f"sample ratio mismatch in {', '.join(sorted(broken))}: their results are not to be trusted")
    return dg.AssetCheckResult(passed=not broken, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


experiment_checks = [sample_ratio]
