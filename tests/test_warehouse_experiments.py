"""The shipped subject-line experiment through the demo's own steps on a small store: the ledger's
variants land, dbt's experiment_results counts them per variant with the events that came back,
and the sample-ratio check runs on it in the daily refresh."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from retention.store_simulator.responses import ResponseRates
from tests.warehouse_fixtures import answered_morning, build_store, demo_instance

AS_OF = date(2025, 6, 30)
# every delivered email opens: the store mails a handful of cart reminders, too few for a 50% rate to
# be sure of one open
RATES = ResponseRates(email_open=1.0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    layout = build_store(root, customers=300, start=AS_OF - timedelta(days=120), end=AS_OF + timedelta(days=2),
                         seed=11, dirt_rate=0.0)
    with demo_instance(root) as instance:
        answered_morning(instance, layout, AS_OF, RATES)
        checks = [e.event_log_entry.dagster_event.event_specific_data
                  for e in instance.get_event_records(dg.EventRecordsFilter(
                      dg.DagsterEventType.ASSET_CHECK_EVALUATION)) if e.event_log_entry.dagster_event]
        yield layout, [c for c in checks if c.check_name == "sample_ratio"]


def test_experiment_results_count_the_ledgers_variants_and_their_opens(store):
    layout, _ = store
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        results = con.execute("select variant, recipients, delivered, opens, is_winner, status, weight "
                              "from experiment_results where experiment = 'cart_reminder_subject' "
                              "order by variant").fetchall()
        expected = con.execute("select variant, count(*), count(delivered_at), count(first_opened_at) "
                               "from campaign_sends where campaign = 'abandoned_cart' and step = 1 and is_treated "
                               "group by variant order by variant").fetchall()
        held = con.execute("select count(*), count(variant) from campaign_sends "
                           "where campaign = 'abandoned_cart' and status = 'held_out'").fetchone()
    assert expected and all(variant in ("control", "question") for variant, *_ in expected)
    assert [(v, n, d, o) for v, n, d, o, *_ in results] == expected
    assert sum(o for *_, o in expected) > 0  # the answers came back and were counted
    assert all(not winner and status == "running" for *_, winner, status, _ in results)  # far below 500 each
    assert held[1] == 0  # the holdout is in no variant


def test_the_sample_ratio_check_ran_and_passed_on_the_fair_split(store):
    _, evaluations = store
    assert evaluations and all(e.passed for e in evaluations)
