"""Schedules: the daily run, for yesterday's partition."""

from datetime import timedelta

import dagster as dg

from assets.live import connected_live_sources
from assets.resources import SendGridResource, ShopifyResource
from orchestration.jobs import daily_refresh, pull_live_sources

# The partition for day D closes at midnight; the run at 02:00 gives late webhooks two hours.
daily_refresh_schedule = dg.build_schedule_from_partitioned_job(
    daily_refresh,
    hour_of_day=2,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.schedule(cron_schedule="0 1 * * *", job=pull_live_sources, default_status=dg.DefaultScheduleStatus.RUNNING)
def pull_live_sources_schedule(context: dg.ScheduleEvaluationContext, shopify: ShopifyResource,
                               sendgrid: SendGridResource):
    """At 01:00, pull yesterday's changes from the connected providers, ahead of the 02:00 daily run."""
    connected = connected_live_sources(shopify, sendgrid)
    if not connected:
        return dg.SkipReason("No live source is connected; the inbox is filled by the simulator or file drops.")
    day = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    return dg.RunRequest(
        run_key=f"pull_live_sources:{day}",
        partition_key=day,
        asset_selection=connected,
    )
