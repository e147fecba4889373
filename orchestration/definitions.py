"""The one place that assembles the Dagster definitions (`workspace.yaml` loads `defs`)."""

import dagster as dg

from assets.activation import activation_sends
from assets.ingest import ingest_assets
from assets.live import SendGridResource, ShopifyResource, live_assets
from assets.quality import quality_checks
from assets.reports import segment_report
from assets.transform import dbt_resource, warehouse
from orchestration.intraday import intraday_increment, intraday_triggers
from orchestration.jobs import activate_segments, daily_refresh, ingest_inbox, pull_live_sources
from orchestration.resources import data_dir_resource
from orchestration.schedules import daily_refresh_schedule, pull_live_sources_schedule
from orchestration.sensors import sensors

defs = dg.Definitions(
    assets=[*live_assets, *ingest_assets, warehouse, activation_sends, segment_report],
    asset_checks=[*quality_checks],
    jobs=[pull_live_sources, ingest_inbox, daily_refresh, activate_segments],
    schedules=[pull_live_sources_schedule, daily_refresh_schedule],
    sensors=sensors,
    resources={
        "data_dir": data_dir_resource(),
        "dbt": dbt_resource(),
        "shopify": ShopifyResource.from_env(),
        "sendgrid": SendGridResource.from_env(),
    },
)

# The intraday path beside the daily one (orchestration/INTRADAY.md); it uses the resources above.
defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[intraday_triggers], schedules=[intraday_increment]))
