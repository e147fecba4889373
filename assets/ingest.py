"""Ingestion: one multi-asset per source, one asset per landing table, partitioned by delivery day.

Each asset lands `inbox/<source>/<day>/` as typed Parquet in `landing/` and rejects in
`quarantine/`; the work itself is `retention.ingest.ingest_day`.
"""


from collections import Counter
from datetime import date, timedelta

import dagster as dg

from assets.partitions import daily_partitions
from assets.resources import DataDirResource
from retention.ingest import SOURCE_TABLES, ingest_days

SOURCE_DESCRIPTIONS = {
    "shopify": "Shopify Admin API pages: customers, orders, products, abandoned checkouts, refunds, fulfilments",
    "sendgrid": "SendGrid Event Webhook bodies: deliveries, opens, clicks, bounces, unsubscribes, spam reports",
    "sendgrid_suppressions": "SendGrid suppression lists (bounces, blocks, spam reports, invalid emails, unsubscribes)",
    "twilio": "Twilio status callbacks and inbound SMS (STOP and START replies)",
    "web": "Browsing events: page and product views, add to cart, search",
    "reviews": "Product reviews with ratings",
    "nps": "NPS survey answers",
    "preferences": "Email frequency choices from the preference centre (as usual, weekly, monthly, order updates only)",
    "subscriptions": "Back-in-stock, price-drop and wish-list sign-ups, per product or variant",
}


# Sources that a live connector (assets/live.py) pulls into the inbox; the rest arrive by webhook or file drop.
PULLED_SOURCES = {"shopify", "sendgrid_suppressions"}


def landing_key(source: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", source, table])


def _reasons_markdown(reasons: Counter) -> str:
    rows = "\n".join(f"| {reason} | {count} |" for reason, count in reasons.most_common(15))
    return "| reason | records |\n|---|---|\n" + rows


# Yesterday must have landed by 03:00 UTC: the daily run starts at 02:00 and marketers read at 09:00.
LANDED_BY_MORNING = dg.FreshnessPolicy.cron(deadline_cron="0 3 * * *", lower_bound_delta=timedelta(hours=24))


def build_ingest_assets(source: str) -> dg.AssetsDefinition:
    tables = SOURCE_TABLES[source]
    specs = [
        dg.AssetSpec(
            landing_key(source, table),
            group_name=source,
            description=f"{SOURCE_DESCRIPTIONS[source]}: the `{table}` table of the landing zone.",
            kinds={"parquet"},
            owners=["team:data-engineering"],
            deps=[dg.AssetKey(["inbox", source])] if source in PULLED_SOURCES else [],
            freshness_policy=LANDED_BY_MORNING,
        )
        for table in tables
    ]
    checks = [
        dg.AssetCheckSpec(
            "counts_reconcile",
            asset=landing_key(source, table),
            blocking=True,
            description="Every record read from the inbox landed or went to quarantine: in = landed + quarantined.",
        )
        for table in tables
    ]

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=specs,
        check_specs=checks,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"Lands `inbox/{source}/<day>/` into typed Parquet; rejects go to quarantine with a reason.",
    )
    def _ingest(context: dg.AssetExecutionContext, data_dir: DataDirResource):
        layout = data_dir.layout
        totals = {table: Counter() for table in tables}
        reasons: Counter = Counter()
        files = 0
        window = context.partition_time_window
        days = [date.fromisoformat(key) for key in context.partition_keys]
        for report in ingest_days(layout, source, days, data_dir.workers):  # a range: days in parallel processes
            if report.skipped_files:
                context.log.warning(f"{source} {report.day}: {len(report.skipped_files)} file(s) of a type the source "
                                    "does not read, quarantined whole under _files")
            files += report.files
            reasons.update(report.reasons)
            for table, counts in report.tables.items():
                totals.setdefault(table, Counter()).update(
                    records_in=counts.records_in, landed=counts.landed, quarantined=counts.quarantined
                )
        context.log.info(
            f"{source}: {len(days)} day(s) from {window.start.date()}, {files} file(s), "
            f"{sum(c['records_in'] for c in totals.values())} record(s) in"
        )
        for table in tables:
            counts = {key: totals[table][key] for key in ("records_in", "landed", "quarantined")}
            metadata = {
                "days": len(days),
                "files": files,
                **counts,
                "path": dg.MetadataValue.path(str(layout.landing / source / table)),
            }
            if table == tables[0]:
                # Files that could not be read at all belong to no table; the source's first shows them.
                metadata["unreadable_files"] = totals.get("_files", Counter())["quarantined"]
                if reasons:
                    metadata["quarantine_reasons"] = dg.MetadataValue.md(_reasons_markdown(reasons))
            yield dg.MaterializeResult(asset_key=landing_key(source, table), metadata=metadata)
            yield dg.AssetCheckResult(
                asset_key=landing_key(source, table),
                check_name="counts_reconcile",
                passed=counts["records_in"] == counts["landed"] + counts["quarantined"],
                metadata=dict(counts),
            )

    return _ingest


ingest_assets = [build_ingest_assets(source) for source in SOURCE_TABLES]
