"""Schedules: the daily run for yesterday's partition, the live pull before it, and the hourly
activation of the messages that come due between daily runs."""

from datetime import timedelta

import dagster as dg

from assets.activation import SEND_OP
from assets.live import connected_live_sources
from assets.resources import DataDirResource, SendGridResource, ShopifyResource
from orchestration.jobs import activate_segments, daily_refresh, pull_live_sources
from retention.activation.campaigns import load_campaigns
from retention.activation.due import due_campaigns
from retention.activation.ledger import LEDGER_FILE, Ledger

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


@dg.schedule(cron_schedule="5 * * * *", job=activate_segments, default_status=dg.DefaultScheduleStatus.RUNNING)
def activate_due_messages(context: dg.ScheduleEvaluationContext, data_dir: DataDirResource):
    """Each hour, the campaigns with deferrals now due or a broadcast under way: sent in the
    recipient's hour, not at the next morning's run (retention.activation.due)."""
    now = context.scheduled_execution_time
    layout = data_dir.layout
    deferred = set()
    if layout.ledger_url or (layout.activation / LEDGER_FILE).exists():  # no ledger yet: nothing was ever deferred
        with Ledger.open(layout) as ledger:
            deferred = ledger.campaigns_with_due_deferrals(now)
    campaigns = due_campaigns(load_campaigns(), deferred, now)
    if not campaigns:
        return dg.SkipReason("No deferral has come due and no broadcast is under way.")
    # One run per hour; the ledger makes a run that finds nothing new send nothing.
    return dg.RunRequest(run_key=f"due-{now:%Y-%m-%dT%H}",
                         run_config={"ops": {SEND_OP: {"config": {"campaigns": campaigns}}}},
                         tags={"due_campaigns": ",".join(campaigns)})
