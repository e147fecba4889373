"""Blocking data-quality checks on every landing table.

Each landing table has an `expectations` check that runs the table's Great Expectations suite
(`retention.quality`) on each day of the run's partitions. It is blocking: when it fails, the
assets downstream (the warehouse) do not build in that run, and its metadata names each failed
expectation with counts and examples (hashed where personal).
"""

from datetime import date

import dagster as dg

from assets.ingest import landing_key
from assets.resources import DataDirResource
from retention.ingest import SOURCE_TABLES
from retention.paths import DataDir


def days_to_validate(context: dg.AssetCheckExecutionContext, layout: DataDir, source: str, table: str) -> list[date]:
    """The run's partition days; run on its own (no partition), the latest landed day."""
    if context.has_partition_key or context.has_partition_key_range:
        return [date.fromisoformat(key) for key in context.partition_keys]
    landed = sorted((layout.landing / source / table).glob("date=*"))
    return [date.fromisoformat(landed[-1].name.removeprefix("date="))] if landed else []


def build_expectations_check(source: str, table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=landing_key(source, table),
        name="expectations",
        blocking=True,
        description=(
            f"Great Expectations suite `landing.{source}.{table}`: schema and types, keys, formats, allowed "
            "values, amounts, timestamps within the day (7 days' late-data allowance), references, and "
            "row volume against the trailing days."
        ),
    )
    def _expectations(context: dg.AssetCheckExecutionContext, data_dir: DataDirResource) -> dg.AssetCheckResult:
        from retention.quality.validate import failures_markdown, validate_partition  # GX loads only here

        layout = data_dir.layout
        results = [validate_partition(layout, source, table, day) for day in days_to_validate(context, layout, source, table)]
        failed = [r for r in results if not r.success]
        metadata = {
            "suite": f"landing.{source}.{table}",
            "days": len(results),
            "failed_days": len(failed),
            "rows": sum(r.rows for r in results),
            "redeliveries": sum(r.context.get("redeliveries", 0) for r in results),
            "failed_expectations": sum(len(r.failures) for r in results),
        }
        if failed:
            names = sorted({f.expectation for r in failed for f in r.failures})
            metadata["failed_expectation_names"] = ", ".join(names)
            metadata["failures"] = dg.MetadataValue.md(failures_markdown(failed))
            context.log.warning(f"landing.{source}.{table}: {len(failed)} day(s) failed: {', '.join(names)}")
        return dg.AssetCheckResult(
            passed=bool(results) and not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
        )

    return _expectations


quality_checks = [build_expectations_check(source, table) for source, tables in SOURCE_TABLES.items() for table in tables]
