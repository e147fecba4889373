"""The marketers' segment report: a static page, its pictures and consent-aware CSV exports.

It reads the warehouse read-only after dbt has built it, in the `warehouse` pool so it never
opens DuckDB beside dbt's writer, and reports as of the run's last partition day.
"""

from datetime import date

import dagster as dg

from assets.partitions import daily_partitions
from assets.resources import DataDirResource
from retention.charts import png_markdown
from retention.reports.segment_report import PICTURE_TITLES, metrics_markdown, sizes_markdown, write_segment_report
from retention.reports.warehouse_reads import read_report_data

REPORT_INPUTS = ["customer_segments", "segment_membership_history", "retention_cohorts", "customers",
                 "metrics_daily", "campaign_performance", "cohort_cltv"]


@dg.asset(
    deps=[dg.AssetKey(name) for name in REPORT_INPUTS],
    group_name="reports",
    pool="warehouse",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "html"},
    description="Static HTML segment report with pictures, and a CSV export per segment (reports/ in the data directory).",
)
def segment_report(context: dg.AssetExecutionContext, data_dir: DataDirResource) -> dg.MaterializeResult:
    layout = data_dir.layout
    as_of = date.fromisoformat(context.partition_keys[-1])  # a range run reports as of its last day
    report = write_segment_report(layout.reports, read_report_data(layout.warehouse, as_of))
    members = sum(t.size for t in report.trends)
    context.log.info(f"segment report as of {as_of}: {len(report.trends)} segments, {members:,} memberships")
    metadata = {
        "as_of": as_of.isoformat(),
        "path": dg.MetadataValue.path(str(report.page)),
        "exports": dg.MetadataValue.path(str(layout.reports / "exports")),
        "segments": len(report.trends),
        "segment_sizes": dg.MetadataValue.md(sizes_markdown(report.trends)),
        "headline_metrics": dg.MetadataValue.md(metrics_markdown(report.metrics)),
    }
    for name, png in report.picture_bytes.items():
        metadata[f"picture_{name}"] = dg.MetadataValue.md(png_markdown(png, PICTURE_TITLES[name]))
    return dg.MaterializeResult(metadata=metadata)
