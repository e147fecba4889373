"""The one place that assembles the Dagster definitions (`workspace.yaml` loads `defs`)."""

import os

import dagster as dg

from assets.activation import send_campaigns
from assets.experiments import experiment_checks
from assets.ingest import ingest_assets
from assets.live import live_assets
from assets.privacy import privacy_requests
from assets.quality import quality_checks
from assets.reports import segment_report
from assets.resources import (
                              AlertWebhookResource,
                              DataDirResource,
                              PushWebhookResource,
                              SendGridResource,
                              ShopifyResource,
                              TwilioResource,
                              dbt_resource,
)
from assets.transform import warehouse
from orchestration.intraday import intraday_increment, intraday_triggers
from orchestration.jobs import activate_segments, daily_refresh, ingest_inbox, pull_live_sources
from orchestration.schedules import activate_due_messages, daily_refresh_schedule, pull_live_sources_schedule
from orchestration.sensors import sensors

# A run over a partition range (a backfill, the demo's history) records one materialization per asset
# and partition: 13,000 for the demo's 18 months. With a batch size, Dagster hands each asset's to
# the event log as one batch, which it writes in one transaction (orchestration/event_log.py, and
# Dagster's Postgres event log) instead of two per event. Every process that runs steps loads this.
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")

# Every resource (assets/resources.py) under the key the assets, ops, schedules and sensors ask for.
# Each reads its settings from the environment through dg.EnvVar when it is used.
resources = {
    "data_dir": DataDirResource(),
    "dbt": dbt_resource(),
    "shopify": ShopifyResource(),
    "sendgrid": SendGridResource(),
    "twilio": TwilioResource(),
    "push_webhook": PushWebhookResource(),
    "alert_webhook": AlertWebhookResource(),
}

defs = dg.Definitions(
    assets=[*live_assets, *ingest_assets, warehouse, send_campaigns, segment_report],
    asset_checks=[*quality_checks, *experiment_checks],
    jobs=[pull_live_sources, ingest_inbox, daily_refresh, activate_segments, privacy_requests],
    schedules=[pull_live_sources_schedule, daily_refresh_schedule, activate_due_messages],
    sensors=sensors,
    resources=resources,
)

# The intraday path beside the daily one (orchestration/INTRADAY.md); it uses the resources above.
defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[intraday_triggers], schedules=[intraday_increment]))
