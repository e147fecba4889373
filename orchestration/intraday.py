"""The intraday path: an hourly increment re-lands today's trigger sources and rebuilds the
trigger audiences as of the increment's time; `activate_rebuilt_audiences` then activates them.

An op job rather than an asset job: today's partition of the daily assets does not exist until the
day closes (Dagster refuses a run for it), and the daily run must stay the one that materializes
each day's partitions. The ops record materializations of the audience assets (with `as_of` and
`as_of_time`), which is what the activation sensor watches. See orchestration/INTRADAY.md.
"""

from datetime import datetime

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.resources import DataDirResource, dbt_project
from assets.transform import dbt_build_events, translator, with_build_metadata
from retention.intraday import Increment, land_trigger_sources
from retention.warehouse_swap import warehouse_build


class IncrementConfig(dg.Config):
    as_of_time: str  # ISO instant of the increment; its day is the delivery day re-landed


@dg.op(description="Re-lands today's partitions of the trigger sources from the inbox files present now.")
def land_trigger_sources_today(context: dg.OpExecutionContext, config: IncrementConfig,
                               data_dir: DataDirResource) -> dict:
    increment = Increment.at(datetime.fromisoformat(config.as_of_time))
    reports = land_trigger_sources(data_dir.layout, increment.day)
    for source, report in reports.items():
        counts = {table: (c.records_in, c.landed, c.quarantined) for table, c in report.tables.items()}
        context.log.info(f"{source} {increment.day}: {report.files} file(s); (in, landed, quarantined) {counts}")
        unbalanced = [t for t, (n, landed, quarantined) in counts.items() if n != landed + quarantined]
        if unbalanced:
            raise dg.Failure(f"{source}: counts do not reconcile for {unbalanced}")
    return {"day": increment.day.isoformat(), "as_of_time": increment.as_of_time.isoformat()}


@dg.op(pool="warehouse", description="dbt build of the trigger audiences and their parents as of the increment.")
def build_trigger_audiences(context: dg.OpExecutionContext, increment: dict, dbt: DbtCliResource,
                            data_dir: DataDirResource):
    layout = data_dir.layout
    step = Increment.at(datetime.fromisoformat(increment["as_of_time"]))
    # built into a copy that replaces the warehouse when dbt succeeded (retention/warehouse_swap.py);
    # the data directory goes to dbt as vars, the day and the instant in its environment (retention/dbt_build.py)
    with warehouse_build(layout.warehouse) as staging:
        events = dbt_build_events(dbt, step.dbt_build_args(data_dir=layout, warehouse=staging), layout,
                                  step.day.isoformat(), step.as_of_time_text, manifest=dbt_project.manifest_path,
                                  dagster_dbt_translator=translator, context=context)
    yield from with_build_metadata(
        events, layout.warehouse, {"as_of": step.day.isoformat(), "as_of_time": step.as_of_time.isoformat()},
        lambda event: event.asset_key if isinstance(event, dg.AssetMaterialization) else None,
    )
    yield dg.Output(None)


@dg.job(description="One intraday increment: today's trigger sources land again, the trigger audiences are rebuilt "
                    "as of the increment's time (config as_of_time).")
def intraday_triggers():
    build_trigger_audiences(land_trigger_sources_today())


def increment_run_request(moment: datetime) -> dg.RunRequest:
    increment = Increment.at(moment)
    return dg.RunRequest(
        run_key=increment.run_key,
        run_config={"ops": {"land_trigger_sources_today": {"config": {"as_of_time": increment.as_of_time.isoformat()}}}},
        tags={"retention/as_of_time": increment.as_of_time.isoformat(), "retention/day": increment.day.isoformat()},
    )


@dg.schedule(cron_schedule="0 * * * *", job=intraday_triggers, default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every hour, an increment as of the tick's time (the tick, not the wall clock, is its logical time).")
def intraday_increment(context: dg.ScheduleEvaluationContext):
    return increment_run_request(context.scheduled_execution_time)
