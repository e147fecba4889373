"""Jobs: what runs together."""

import dagster as dg

from assets.activation import send_campaigns
from assets.ingest import ingest_assets
from assets.live import live_assets
from assets.quality import quality_checks
from assets.reports import segment_report
from assets.transform import warehouse

# What ingestion lands from the inbox (the activation writes its own sends back to the landing zone).
landing = dg.AssetSelection.assets(*ingest_assets)

# Lands the inbox only: history backfills, where the warehouse is built once at the end. Counts
# reconcile per table; the expectation suites run in daily_refresh, one day at a time, where they
# guard the marts (validating years of history on every backfill would take longer than landing it).
ingest_inbox = dg.define_asset_job(
    "ingest_inbox",
    selection=landing - dg.AssetSelection.checks(*quality_checks),
    description="Lands the inbox for every source (a range of days runs as one run).",
)

# The daily pipeline for one delivery day: land every source, build the warehouse as of it, report it.
daily_refresh = dg.define_asset_job(
    "daily_refresh",
    selection=landing | dg.AssetSelection.assets(warehouse, segment_report),
    description="Lands the day's inbox for every source, builds the warehouse as of that day and writes the segment report.",
)

# Fills the inbox from the live providers (Shopify, SendGrid suppressions) before the daily run.
pull_live_sources = dg.define_asset_job(
    "pull_live_sources",
    selection=dg.AssetSelection.assets(*live_assets),
    description="Pulls what changed in Shopify and SendGrid's suppression lists into the inbox.",
)

# Sends the campaigns over the latest audiences (the audience sensor launches it after a rebuild).
activate_segments = dg.define_asset_job(
    "activate_segments",
    selection=dg.AssetSelection.assets(send_campaigns),
    description="Activates the campaigns over the latest audiences: eligibility, sends, ledger, write-back.",
)
