"""Jobs: what runs together."""

import dagster as dg

from assets.live import live_assets
from assets.transform import warehouse

landing = dg.AssetSelection.key_prefixes("landing")

# Lands the inbox only: history backfills, where the warehouse is built once at the end.
ingest_inbox = dg.define_asset_job(
    "ingest_inbox",
    selection=landing,
    description="Lands the inbox for every source (a range of days runs as one run).",
)

# The daily pipeline for one delivery day: land every source, then build the warehouse as of it.
daily_refresh = dg.define_asset_job(
    "daily_refresh",
    selection=landing | dg.AssetSelection.assets(warehouse),
    description="Lands the day's inbox for every source and builds the warehouse as of that day.",
)

# Fills the inbox from the live providers (Shopify, SendGrid suppressions) before the daily run.
pull_live_sources = dg.define_asset_job(
    "pull_live_sources",
    selection=dg.AssetSelection.assets(*live_assets),
    description="Pulls what changed in Shopify and SendGrid's suppression lists into the inbox.",
)
