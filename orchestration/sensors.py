"""Sensors: what happens when something goes wrong with nobody watching."""

import urllib.error

import dagster as dg

from assets.activation import AUDIENCE_KEYS, SEND_OP
from assets.resources import AlertWebhookResource
from retention.activation.campaigns import load_campaigns
from retention.quality.alerts import WEBHOOK_ENV, RunFailure, post_run_failure


def run_failure_summary(context: dg.RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    failed_steps = sorted({event.step_key for event in context.get_step_failure_events() if event.step_key})
    return RunFailure(
        job=run.job_name,
        run_id=run.run_id,
        failed_steps=failed_steps,
        error=context.failure_event.message or "",
        partition=run.tags.get("dagster/partition"),
    )


@dg.run_failure_sensor(
    name="report_run_failures",
    description=f"POSTs a summary of each failed run (job, run, failed steps, error) to ${WEBHOOK_ENV}.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
)
def report_run_failures(context: dg.RunFailureSensorContext, alert_webhook: AlertWebhookResource) -> None:
    failure = run_failure_summary(context)
    url = alert_webhook.target
    if not url:
        context.log.info(f"{WEBHOOK_ENV} is not set; not posting: {failure.payload()['text']}")
        return
    try:
        status = post_run_failure(failure, url)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        # Logged, not raised: a failing tick would retry this run forever and hold back later alerts.
        context.log.error(f"could not post the failure of run {failure.run_id} to {WEBHOOK_ENV}: {exc}")
        return
    context.log.info(f"posted the failure of run {failure.run_id} ({status})")


sensors = [report_run_failures]


@dg.sensor(
    name="activate_rebuilt_audiences",
    job_name="activate_segments",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches activate_segments for the campaigns whose audience was rebuilt, once per rebuild.",
)
def activate_rebuilt_audiences(context: dg.SensorEvaluationContext):
    # The cursor is the newest materialization event seen (event storage ids only grow).
    seen = int(context.cursor or 0)
    newest, rebuilt = seen, set()
    for key in AUDIENCE_KEYS:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=seen), limit=1
        ).records  # newest first
        if records:
            rebuilt.add(key.to_user_string())
            newest = max(newest, records[0].storage_id)
    if not rebuilt:
        return dg.SkipReason("no audience was rebuilt since the last activation")
    campaigns = sorted(c.key for c in load_campaigns() if c.audience in rebuilt)
    context.update_cursor(str(newest))
    # The run key makes a re-evaluated tick launch nothing new; the ledger makes a re-run send nothing twice.
    return dg.RunRequest(run_key=f"audiences-{newest}",
                         run_config={"ops": {SEND_OP: {"config": {"campaigns": campaigns}}}},
                         tags={"rebuilt_audiences": ",".join(sorted(rebuilt))})


sensors.append(activate_rebuilt_audiences)
