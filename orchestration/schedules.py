"""Schedules: the daily run, for yesterday's partition."""

import dagster as dg

from orchestration.jobs import daily_refresh

# The partition for day D closes at midnight; the run at 02:00 gives late webhooks two hours.
daily_refresh_schedule = dg.build_schedule_from_partitioned_job(
    daily_refresh,
    hour_of_day=2,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
