"""Referrals and loyalty points against a small simulated store that plants referrals (honest friends,
a code past its limit, self-referral by email, phone and address, an existing customer): `referrals`
equals the simulator's truth row for row, each rejection with its reason, and every points balance
equals a recomputation in Python from the simulator's own orders and refunds."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from retention.referrals import customer_key
from tests.warehouse_fixtures import build_store, run_dbt

START, AS_OF = date(2025, 1, 1), date(2025, 4, 30)
EXPIRY_DAYS = 60  # shorter than the store, so some points have expired by as_of


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    layout = build_store(tmp_path_factory.mktemp("referral_store"), customers=300, start=START, end=AS_OF, seed=11,
                         dirt_rate=0.0, referral_rate=0.04, referral_code_limit=2)
    run_dbt(layout, "build", "--select", "+referrals", "+top_referrers", "+loyalty_balances",
            "--exclude", "resource_type:test", as_of=AS_OF,
            extra_vars={"referral_code_limit": 2, "loyalty_points_expiry_days": EXPIRY_DAYS})
    return layout


def warehouse(store, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        return con.sql(sql).df()


def test_referrals_equal_the_planted_truth_with_every_reason(store):
    truth = [json.loads(line) for line in (store.root / "simulation" / "referrals.jsonl").read_text().splitlines()]
    reasons = {row["reason"] for row in truth}
    assert {None, "code_limit_reached", "self_referral_email", "self_referral_phone", "self_referral_address",
            "existing_customer"} <= reasons
    expected = sorted((row["order_id"], row["code"], customer_key(f"shopify:{row['advocate_customer_id']}"),
                       row["status"], row["reason"]) for row in truth)
    found = warehouse(store, "select order_id, code, advocate_customer_key, status, rejection_reason from referrals "
                             "order by order_id")
    got = sorted((int(r.order_id), r.code, r.advocate_customer_key, r.status,
                  None if pd.isna(r.rejection_reason) else r.rejection_reason) for r in found.itertuples())
    assert got == expected
    top = warehouse(store, "select customer_key, accepted_referrals from top_referrers order by referrer_rank")
    accepted = defaultdict(int)
    for row in truth:
        accepted[customer_key(f"shopify:{row['advocate_customer_id']}")] += row["status"] == "accepted"
    assert dict(zip(top.customer_key, top.accepted_referrals)) == {k: n for k, n in accepted.items() if n}
    assert top.accepted_referrals.iloc[0] == 2  # the code used past its limit of 2


def test_points_balances_equal_a_recomputation_from_the_orders(store):
    sim = store.root / "simulation"
    people = pd.read_parquet(sim / "customers.parquet")
    orders = pd.read_parquet(sim / "orders.parquet")
    # the warehouse's person: accounts sharing an email are one, anchored on the smallest id; guests by email
    accounts = people[people.customer_id.notna()]
    anchor = accounts.groupby("email").customer_id.min()
    def key_of(row) -> str:
        if pd.isna(row.customer_id):
            return customer_key(f"email:{row.email}")
        return customer_key(f"shopify:{int(anchor[row.email])}")
    balances: dict[str, int] = defaultdict(int)
    end = pd.Timestamp(AS_OF + timedelta(days=1), tz="UTC")
    for row in orders[orders.cancelled_at.isna() & (orders.created_at < end)].itertuples():
        net_cents = round(row.total_price * 100) - round(row.refunded_amount * 100)
        points = max(net_cents, 0) // 100
        expires = row.created_at.date() + timedelta(days=EXPIRY_DAYS)
        if points > 0 and expires > AS_OF:
            balances[key_of(row)] += points
    found = warehouse(store, "select customer_key, points_balance from loyalty_balances where points_balance <> 0")
    assert dict(zip(found.customer_key, found.points_balance)) == {k: v for k, v in balances.items() if v}
    expired = warehouse(store, "select count(*) as n from int_loyalty_points_ledger where event_type = 'expire'")
    assert expired.n[0] > 0


def test_the_demo_prints_points_referrals_and_top_referrers(store, capsys):
    from orchestration.demo import print_loyalty

    print_loyalty(store)
    out = capsys.readouterr().out
    counts = warehouse(store, "select count(*) filter (where status = 'accepted') as accepted, "
                              "count(*) filter (where rejection_reason = 'self_referral_phone') as phone from referrals")
    points = warehouse(store, "select sum(points_balance) as points from loyalty_balances")
    assert f"hold {int(points.points[0]):,} points" in out
    assert f"{int(counts.accepted[0]):,} accepted" in out and f"{int(counts.phone[0])} self_referral_phone" in out
    top = warehouse(store, "select customer_key from top_referrers order by referrer_rank, customer_key limit 1")
    assert f"top referrer 1: customer {top.customer_key[0][:12]}" in out and "@" not in out
