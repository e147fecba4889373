"""Discount codes redeemed: the simulated recipients who buy with a mailed code (the simulator's
truth in ``simulation/redemptions.jsonl``) are exactly the rows of the ``redemptions`` mart,
``campaign_performance`` counts them per campaign and step beside last-touch revenue, and the
demo's performance table shows them.

A small store through the demo's own steps on a persistent Dagster instance: the daily refresh,
the morning's activation into the outbox, the recipients' answers, the next days' refresh. Every
recipient opens and clicks (the simulator's default rates would leave a store this small with one
or two coded emails clicked); a share of the clickers redeems, with the simulator's own draw."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest

from retention.store_simulator.responses import ResponseRates
from tests.warehouse_fixtures import answered_morning, build_store, demo_instance

AS_OF = date(2025, 6, 30)
RATES = ResponseRates(email_open=1.0, email_click=1.0, email_redeem=0.5)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("redemptions")
    layout = build_store(root, customers=300, start=AS_OF - timedelta(days=150), end=AS_OF + timedelta(days=2),
                         seed=11, dirt_rate=0.0)
    with demo_instance(root) as instance:
        answered = answered_morning(instance, layout, AS_OF, RATES)
    return layout, answered


def truth(layout, as_of: date) -> list[dict]:
    lines = (layout.simulation / "redemptions.jsonl").read_text().splitlines()
    return [t for t in map(json.loads, lines) if date.fromisoformat(t["ordered_at"][:10]) <= as_of]


def test_the_redemptions_mart_is_the_simulators_truth(store):
    layout, answered = store
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        as_of = con.execute("select max(as_of) from campaign_performance").fetchone()[0]
        rows = con.execute("select order_id, code, campaign, cast(step as varchar), send_id, "
                           "cast(discount_amount as varchar) from redemptions").fetchall()
        coded = con.execute("select count(*) from stg_activation__sends where coupon_code is not null "
                            "and status = 'outbox'").fetchone()[0]
    landed = truth(layout, as_of)
    assert as_of == AS_OF + timedelta(days=2)
    assert 0 < len(landed) < coded  # a share of the clicked codes, not none and not all
    assert answered["redemptions"] == len(landed)  # every redemption's order has landed by now
    expected = {(t["order_id"], t["code"], t["campaign"], str(t["step"]), t["send_id"], t["discount_amount"])
                for t in landed}
    assert len(rows) == len(set(rows)) and set(rows) == expected


def test_campaign_performance_counts_redemptions_and_their_revenue(store):
    layout, _ = store
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        per_step = con.execute("select campaign, step, redemptions, code_attributed_revenue, redeemed_discount "
                               "from campaign_performance where redemptions > 0 order by 1, 2").fetchall()
        expected = con.execute("select campaign, step, count(*), sum(revenue), sum(discount_amount) from redemptions "
                               "where not is_cancelled group by 1, 2 order by 1, 2").fetchall()
    assert per_step and per_step == expected
    truth_revenue = sum(float(t["total_price"]) for t in truth(layout, AS_OF + timedelta(days=2)))
    assert float(sum(r[3] for r in per_step)) == pytest.approx(truth_revenue)


def test_the_demo_shows_redemptions_and_code_revenue_per_campaign(store, capsys):
    from orchestration.demo import print_campaign_performance

    layout, _ = store
    print_campaign_performance(layout)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("campaign"))
    assert "redeemed" in header and "by code" in header
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        campaign, step, count, by_code = con.execute(
            "select campaign, step, redemptions, code_attributed_revenue from campaign_performance "
            "where redemptions > 0 order by 1, 2 limit 1").fetchone()
    line = next(line for line in out.splitlines() if line.split()[:2] == [campaign, str(step)])
    assert f"{count:,}" in line.split() and f"{float(by_code):,.2f}" in line.split()
