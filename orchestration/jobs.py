"""Jobs: what runs together."""

import dagster as dg

# The daily pipeline for one delivery day: every landing table, later the warehouse on top.
daily_refresh = dg.define_asset_job(
    "daily_refresh",
    selection=dg.AssetSelection.key_prefixes("landing"),
    description="Lands the day's inbox for every source (a range of days runs as one run).",
)
