"""Discount codes redeemed: the simulated recipients who buy with a mailed code (the simulator's
truth in ``simulation/redemptions.jsonl``) are exactly the rows of the ``redemptions`` mart, and
``campaign_performance`` counts them per campaign and step beside last-touch revenue.

One small demo run (simulate, land, build, activate into the outbox, answer) in a subprocess, as
a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("redemptions_demo")
    env = {**os.environ, "RETENTION_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    for key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SHOPIFY_ACCESS_TOKEN"):
        env.pop(key, None)  # the simulator and the outbox, whatever the machine has set
    proc = subprocess.run([sys.executable, "-m", "orchestration.demo", "--customers", "400", "--months", "3",
                           "--seed", "5", "--end", END.isoformat(), "--warehouse-days", "5"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return data, proc.stdout


def test_the_redemptions_mart_is_the_simulators_truth(demo):
    data, _ = demo
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        as_of = con.execute("select max(as_of) from campaign_performance").fetchone()[0]
        rows = con.execute("select order_id, code, campaign, cast(step as varchar), send_id, "
                           "cast(discount_amount as varchar) from redemptions").fetchall()
    truth = [json.loads(line) for line in (data / "simulation" / "redemptions.jsonl").read_text().splitlines()]
    landed = [t for t in truth if date.fromisoformat(t["ordered_at"][:10]) <= as_of]  # later days are not built yet
    assert landed, "the demo should redeem some codes"
    expected = {(t["order_id"], t["code"], t["campaign"], t["step"], t["send_id"], t["discount_amount"]) for t in landed}
    assert set(rows) == expected and len(rows) == len(expected)


def test_campaign_performance_counts_redemptions_and_their_revenue(demo):
    data, stdout = demo
    assert "redeemed" in stdout and "by code" in stdout  # the demo shows them per campaign
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        per_step = con.execute("select campaign, step, redemptions, code_attributed_revenue from campaign_performance "
                               "where redemptions > 0 order by 1, 2").fetchall()
        expected = con.execute("select campaign, step, count(*), sum(revenue) from redemptions where not is_cancelled "
                               "group by 1, 2 order by 1, 2").fetchall()
    assert per_step and per_step == expected
