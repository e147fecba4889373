"""The demo's history: one `ingest_inbox` run over the partition range, each asset planned once for
the range and materialized for every day, on a persistent instance like `make demo`'s."""

from __future__ import annotations

import os
from datetime import date, timedelta

import dagster as dg

from retention.ingest import SOURCE_TABLES
from retention.store_simulator import SimConfig, simulate
from tests.warehouse_fixtures import demo_instance

START, END = date(2025, 3, 1), date(2025, 3, 10)


def test_the_history_lands_in_one_run_that_plans_each_asset_once(tmp_path):
    from orchestration.demo import PLAN_PER_RANGE_ENV, landing_summary, run_range

    simulate(SimConfig(customers=60, start=START, end=END, seed=11), tmp_path)
    days = [(START + timedelta(days=n)).isoformat() for n in range((END - START).days + 1)]
    keys = [dg.AssetKey(["landing", source, table]) for source, tables in SOURCE_TABLES.items() for table in tables]
    with demo_instance(tmp_path) as instance:
        result = run_range(instance, "ingest_inbox", START, END, tmp_path / "runs.log")
        assert result.success
        assert instance.get_runs_count() == 1

        planned = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        planned_data = [event.get_dagster_event().event_specific_data for event in planned]
        assert sorted(data.asset_key for data in planned_data) == sorted(keys)  # once per asset, not per day
        assert all(sorted(data.partitions_subset.get_partition_keys()) == days for data in planned_data)

        for key in keys:  # still one materialization per partition: the UI shows every day landed
            assert sorted(instance.get_materialized_partitions(key)) == days, key
    assert PLAN_PER_RANGE_ENV not in os.environ  # the switch holds for the demo's runs only

    summary = landing_summary([result])
    assert set(summary) == set(SOURCE_TABLES)
    assert sum(counts["landed"] for counts in summary.values()) > 0
    for source, counts in summary.items():
        assert counts["records_in"] == counts["landed"] + counts["quarantined"], source


def test_a_failed_step_is_told_by_its_message_without_a_stack_trace(capfd):
    from orchestration.demo import QUIET, print_failures

    @dg.op
    def paused() -> None:
        raise dg.Failure("campaign win_back hard bounce rate 2.03% is at or above 2.00%: promotional email paused")

    @dg.job
    def activation() -> None:
        paused()

    result = activation.execute_in_process(run_config=QUIET, raise_on_error=False,
                                           instance=dg.DagsterInstance.ephemeral())
    print_failures(result, "activation")
    err = capfd.readouterr().err
    assert not result.success
    assert "activation: campaign win_back hard bounce rate 2.03%" in err
    assert "Traceback" not in err and "Stack Trace" not in err and 'File "' not in err
