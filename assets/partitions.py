"""Daily partitions: one partition a delivery day, the logical date every computation is relative to."""

import dagster as dg

# The first day a store's history can start (`RETENTION_PARTITIONS_START`); override for older shops.
# Read when the definitions load: the partitions shape the asset graph, so no resource can supply them.
PARTITIONS_START = dg.EnvVar("RETENTION_PARTITIONS_START").get_value("2024-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START)
