"""Daily partitions: one partition a delivery day, the logical date every computation is relative to."""

import os

import dagster as dg

# The first day a store's history can start; override for older shops.
PARTITIONS_START = os.environ.get("RETENTION_PARTITIONS_START", "2024-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START)
