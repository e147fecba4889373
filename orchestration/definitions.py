"""The one place that assembles the Dagster definitions (`workspace.yaml` loads `defs`)."""

import dagster as dg

from assets.ingest import ingest_assets
from orchestration.jobs import daily_refresh
from orchestration.resources import data_dir_resource
from orchestration.schedules import daily_refresh_schedule

defs = dg.Definitions(
    assets=[*ingest_assets],
    jobs=[daily_refresh],
    schedules=[daily_refresh_schedule],
    resources={"data_dir": data_dir_resource()},
)
