"""Audiences and closing the loop against a small simulated store: every audience_<campaign> table
keeps the activation row contract (columns, one row per customer and occurrence, a time zone, a JSON
payload with products), the warehouse builds before any send has landed, and campaign_sends /
campaign_performance agree with the ledger rows written to the landing zone and with conversions and
last-touch attribution recomputed in pandas from the orders."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.warehouse_fixtures import SENDS_READERS, build_store, failing_rows, run_dbt

AS_OF = date(2025, 3, 25)  # the store runs to 2025-03-31: there is data after as_of
END = pd.Timestamp("2025-03-26")  # first instant after as_of (naive UTC, as in the warehouse)
WINDOW = {"email": pd.Timedelta(days=5), "sms": pd.Timedelta(days=1)}

AUDIENCES = {
    # campaign: segment in int_segment_triggers
    "abandoned_cart": "abandoned_cart",
    "win_back": "win_back",
    "birthday": "birthday_this_week",
    "anniversary": "anniversary_this_week",
    "post_purchase_thank_you": "post_purchase_thank_you",
    "review_request": "review_request",
    "replenishment": "replenishment_due",
    "back_in_stock": "back_in_stock",
    "price_drop": "price_drop",
    "vip_tier_upgrade": "tier_upgrade",
    "high_value_at_risk": "high_value_at_risk",
    "nps_promoter_referral": "nps_promoter_referral",
    "nps_detractor_alert": "nps_detractor_followup",
}
PRODUCT_CAMPAIGNS = {"abandoned_cart", "post_purchase_thank_you", "review_request", "replenishment", "back_in_stock",
                     "price_drop"}
CONTRACT = ["customer_key", "occurrence", "triggered_at", "as_of", "email", "phone", "first_name", "time_zone",
            "is_email_marketable", "is_sms_marketable", "email_consent_state", "sms_consent_state",
            "email_suppression_reason", "email_unsubscribed_groups", "email_frequency", "sms_suppression_reason",
            "sms_quiet_hours", "last_order_at", "payload"]
EXITS = {"abandoned_cart": {"exit_ordered_since_trigger", "exit_new_checkout"},
         "review_request": {"exit_reviewed"},
         "replenishment": {"exit_repurchased"}, "price_drop": {"exit_out_of_stock"}}
SELECT = ["--indirect-selection", "cautious", "--select", "+path:models/audiences", "+campaign_performance"]
LEDGER_COLUMNS = ["send_id", "campaign", "step", "customer_key", "occurrence", "channel", "status", "mode", "batch_id",
                  "decided_at", "sent_at", "not_before", "provider_message_id", "coupon_code", "error", "attempts",
                  "audience_as_of", "run_id"]


def _df(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def _sends(orders: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows for a few customers: emails and SMS touching shortly before one of their orders
    (conversions), some long before (no conversion), some held out, one deferral, one send of a second
    step; statuses as the activation engine writes them."""
    o = orders[(orders.created_at >= END - pd.Timedelta(days=30)) & ~orders.is_cancelled]
    people = sorted(o.customer_key.unique())[:36]
    first = o.sort_values("created_at").groupby("customer_key").created_at.first()
    rows = []
    for i, ck in enumerate(people):
        campaign = "win_back" if i % 2 == 0 else "abandoned_cart"
        channel = "sms" if i % 5 == 0 else "email"
        lead = pd.Timedelta(hours=[3, 20, 30, 100, 200][i % 5])  # some inside the window, some outside
        touched = first[ck] - lead
        status = "held_out" if i % 4 == 0 else ("outbox" if i % 7 == 0 else "sent")
        rows.append(dict(campaign=campaign, step=1, customer_key=ck, occurrence=f"occ-{i}", channel=channel,
                         status=status, decided_at=touched,
                         sent_at=touched if status == "sent" else pd.NaT))
        if i % 6 == 1:  # a second step two days later
            t2 = touched + pd.Timedelta(days=2)
            rows.append(dict(campaign=campaign, step=2, customer_key=ck, occurrence=f"occ-{i}", channel="email",
                             status="sent", decided_at=t2, sent_at=t2))
    s = pd.DataFrame(rows)
    s["send_id"] = [f"send-{k:03d}" for k in range(len(s))]
    s["mode"] = np.where(s.status == "outbox", "outbox", "live")
    s["batch_id"] = "batch-1"
    s["not_before"] = pd.NaT
    s["provider_message_id"] = [f"pm-{k}" if st == "sent" else None for k, st in enumerate(s.status)]
    s["coupon_code"] = None
    s["error"] = None
    s["attempts"] = np.where(s.status == "held_out", 0, 1)
    s["audience_as_of"] = s.decided_at.dt.date
    s["run_id"] = "run-1"
    return s[LEDGER_COLUMNS]


def _write(root: Path, day: date, rows: pd.DataFrame, name: str = "part-0.parquet") -> None:
    rows = rows.copy()
    for c in ("decided_at", "sent_at", "not_before"):
        rows[c] = pd.to_datetime(rows[c]).dt.tz_localize("UTC")
    folder = root / "landing" / "activation" / "sends" / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(folder / name, index=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("audience_store")
    data_dir = build_store(root, customers=400, start=date(2025, 1, 1), end=date(2025, 3, 31), seed=7)
    # no ledger has landed yet: the warehouse must build anyway
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    db = root / "warehouse.duckdb"
    empty = _df(db, "select count(*) n from campaign_performance").n.iloc[0]
    orders = _df(db, "select order_id, customer_key, created_at, is_cancelled, gross_revenue::double gross_revenue "
                     "from orders where customer_key is not null")
    sends = _sends(orders)
    # landed over two days; a deferral re-landed as sent the next day; a row landed after as_of
    deferred = sends.iloc[[1]].assign(status="deferred", sent_at=pd.NaT, provider_message_id=None,
                                      not_before=sends.decided_at.iloc[1])
    _write(root, AS_OF - timedelta(days=1), pd.concat([sends.iloc[::2], deferred]))
    _write(root, AS_OF, sends.iloc[1::2])
    late = sends.iloc[[0]].assign(send_id="send-late", occurrence="late", decided_at=pd.Timestamp("2025-03-26 10:00"),
                                  sent_at=pd.Timestamp("2025-03-26 10:00"))
    _write(root, AS_OF + timedelta(days=2), late)
    run_dbt(data_dir, "build", "--select", *SENDS_READERS, as_of=AS_OF)
    return {"root": root, "db": db, "sends": sends, "orders": orders, "empty_performance_rows": empty}


@pytest.fixture(scope="module")
def audiences(store) -> dict[str, pd.DataFrame]:
    return {c: _df(store["db"], f"select * from audience_{c}") for c in AUDIENCES}


def test_every_audience_keeps_the_row_contract(audiences):
    for campaign, a in audiences.items():
        missing = [c for c in CONTRACT if c not in a.columns]
        assert not missing, (campaign, missing)
        exits = {c for c in a.columns if c.startswith("exit_")}
        assert exits == EXITS.get(campaign, set()), campaign
        extra = set(a.columns) - set(CONTRACT) - exits
        assert not extra, (campaign, extra)
        assert not a.duplicated(["customer_key", "occurrence"]).any(), campaign
        for c in ("customer_key", "occurrence", "triggered_at", "as_of", "time_zone", "payload",
                  "is_email_marketable", "is_sms_marketable", "email_consent_state", "sms_consent_state", *exits):
            assert a[c].notna().all(), (campaign, c)
        assert (pd.to_datetime(a.as_of).dt.date == AS_OF).all()


def test_time_zones_are_iana_names(audiences):
    zones = pd.concat([a.time_zone for a in audiences.values()]).unique()
    assert len(zones) > 0
    for z in zones:
        ZoneInfo(z)  # raises for anything that is not a time zone name


def test_payload_is_json_with_products(audiences, store):
    names = _df(store["db"], "select customer_key, first_name from customers").set_index("customer_key").first_name
    for campaign, a in audiences.items():
        for _, row in a.iterrows():
            p = json.loads(row.payload)
            assert isinstance(p, dict) and {"first_name", "products", "recommendations"} <= set(p), campaign
            assert p["first_name"] == (None if pd.isna(names[row.customer_key]) else names[row.customer_key])
            assert isinstance(p["recommendations"], list)
            for item in p["products"] + p["recommendations"]:
                assert {"product_id", "title", "image_url", "price"} <= set(item), campaign
            if campaign in PRODUCT_CAMPAIGNS:
                assert p["products"], (campaign, row.occurrence)
                assert all(isinstance(i["product_id"], int) and i["title"] for i in p["products"])


def test_audiences_follow_their_segments(audiences, store):
    trig = _df(store["db"], "select customer_key, segment, reference_id from int_segment_triggers")
    sizes = {c: len(a) for c, a in audiences.items()}
    for campaign in ("abandoned_cart", "post_purchase_thank_you", "review_request", "replenishment"):
        assert sizes[campaign] > 0, sizes
    for campaign, segment in AUDIENCES.items():
        members = set(trig[trig.segment == segment].customer_key)
        if campaign == "abandoned_cart":
            # everyone in the segment, with the checkout behind it; older open checkouts linger with exit flags
            got = audiences[campaign]
            seg = trig[trig.segment == segment]
            assert set(zip(seg.customer_key, seg.reference_id.astype("int64").astype(str))) <= set(
                zip(got.customer_key, got.occurrence))
        else:
            assert set(audiences[campaign].customer_key) == members, campaign


def test_abandoned_cart_exit_flags_match_the_orders_and_checkouts(audiences, store):
    a = audiences["abandoned_cart"]
    orders = store["orders"]
    orders = orders[~orders.is_cancelled]
    for _, row in a.iterrows():
        mine = orders[orders.customer_key == row.customer_key]
        assert row.exit_ordered_since_trigger == bool((mine.created_at >= row.triggered_at).any())
        newer = a[(a.customer_key == row.customer_key) & (a.triggered_at > row.triggered_at)]
        if len(newer):
            assert row.exit_new_checkout


def test_warehouse_builds_before_any_send_lands(store):
    assert store["empty_performance_rows"] == 0


def _expected(sends: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    s = sends[sends.decided_at < END].copy()  # decisions after as_of are not visible yet
    s["treated"] = s.status.isin(["sent", "outbox"])
    s["holdout"] = s.status == "held_out"
    s["touched"] = np.where(s.holdout, s.decided_at, s.sent_at.fillna(s.decided_at))
    s["touched"] = pd.to_datetime(s.touched)
    s["window_end"] = s.touched + s.channel.map(WINDOW)
    o = orders[~orders.is_cancelled & (orders.created_at < END)]
    j = s.merge(o, on="customer_key")
    j = j[(j.created_at > j.touched) & (j.created_at <= j.window_end)]
    converted = set(j[j.treated | j.holdout].send_id)
    s["converted"] = s.send_id.isin(converted)
    touches = j[j.treated].sort_values(["touched", "send_id"]).groupby("order_id").tail(1)  # last touch
    attributed = touches.groupby("send_id").agg(n=("order_id", "count"), revenue=("gross_revenue", "sum"))
    s = s.join(attributed, on="send_id").fillna({"n": 0, "revenue": 0.0})
    return s.groupby(["campaign", "step"]).agg(
        ledger_records=("send_id", "count"), sent=("status", lambda x: int((x == "sent").sum())),
        outboxed=("status", lambda x: int((x == "outbox").sum())), treated=("treated", "sum"),
        held_out=("holdout", "sum"), converted=("converted", lambda x: int((x & s.loc[x.index, "treated"]).sum())),
        holdout_converted=("converted", lambda x: int((x & s.loc[x.index, "holdout"]).sum())),
        attributed_orders=("n", "sum"), attributed_revenue=("revenue", "sum"))


def test_campaign_performance_matches_the_ledger_and_the_orders(store):
    sends, orders = store["sends"], store["orders"]
    want = _expected(sends, orders)
    got = _df(store["db"], "select * from campaign_performance").set_index(["campaign", "step"]).sort_index()
    assert list(got.index) == list(want.index)
    for c in ("ledger_records", "sent", "outboxed", "treated", "held_out", "converted", "holdout_converted",
              "attributed_orders"):
        assert (got[c].astype(int) == want[c].astype(int)).all(), (c, got[c], want[c])
    assert np.allclose(got.attributed_revenue.astype(float), want.attributed_revenue, atol=0.005)
    assert want.converted.sum() > 0 and want.attributed_orders.sum() > 0 and want.holdout_converted.sum() >= 0
    # lift and its interval: difference of proportions, normal approximation
    for (campaign, step), row in got.iterrows():
        w = want.loc[(campaign, step)]
        if w.treated and w.held_out:
            pt, ph = w.converted / w.treated, w.holdout_converted / w.held_out
            se = np.sqrt(pt * (1 - pt) / w.treated + ph * (1 - ph) / w.held_out)
            assert row.lift == pytest.approx(pt - ph)
            assert row.lift_ci_lower == pytest.approx(pt - ph - 1.96 * se)
            assert row.lift_ci_upper == pytest.approx(pt - ph + 1.96 * se)
        else:
            assert pd.isna(row.lift)
    # the deferral was superseded by the send landed the next day; nothing landed after as_of counts
    cs = _df(store["db"], "select send_id, status from campaign_sends")
    assert (sends.decided_at >= END).any()
    assert len(cs) == int((sends.decided_at < END).sum()) and cs.send_id.is_unique and "send-late" not in set(cs.send_id)
    assert cs.set_index("send_id").status["send-001"] == sends.status.iloc[1]


def test_row_rules_name_each_broken_rule_of_each_record(store, audiences, tmp_path):
    """The audiences' shared column rules and their key run as one test per audience
    (macros/row_rules.sql): planted on a copy of the warehouse, every kind of break fails it, each
    record is named once with every rule it breaks, a repeated occurrence names both its records (a
    missing key compared as equal, as a GROUP BY does), and what the rules allow (a null suppression
    reason, a clean row) passes."""
    campaign = max(AUDIENCES, key=lambda c: len(audiences[c]))
    table, test = f"audience_{campaign}", f"audience_{campaign}_row_rules"
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(store["db"], copy)
    with duckdb.connect(str(copy)) as con:
        rows = con.execute(f"select rowid, customer_key, occurrence from {table} order by customer_key, occurrence "
                           "limit 6").fetchall()
        assert len(rows) == 6, rows
        plant = [  # (change, the record as the failing row names it, the rules it breaks)
            ("customer_key = 'nobody'", "nobody", "customer_key not found in customers"),
            ("customer_key = null", None, "customer_key is null"),
            ("email_consent_state = 'maybe', sms_suppression_reason = 'spam'", rows[2][1],
             "email_consent_state not an accepted value, sms_suppression_reason not an accepted value"),
            ("payload = null, time_zone = null, is_sms_marketable = null", rows[3][1],
             "time_zone is null, is_sms_marketable is null, payload is null"),
            ("email_suppression_reason = null, sms_suppression_reason = null", rows[4][1], None),  # null: allowed
        ]
        for (rowid, _, _), (change, _, _) in zip(rows, plant):
            con.execute(f"update {table} set {change} where rowid = ?", [rowid])
        for rowid in (rows[5][0], rows[1][0]):  # a clean row twice; the row without a key twice
            con.execute(f"insert into {table} select * from {table} where rowid = ?", [rowid])
    reported, failures = failing_rows(store["root"], copy, test, "customer_key, occurrence, broken_rules", AS_OF)
    assert reported == len(failures) == 7
    repeated = "customer_key, occurrence not unique together"
    expected = [(key, row[2], rules) for row, (_, key, rules) in zip(rows, plant) if rules and key is not None]
    expected += [(None, rows[1][2], f"customer_key is null, {repeated}")] * 2
    expected += [(rows[5][1], rows[5][2], repeated)] * 2
    assert sorted(failures, key=str) == sorted(expected, key=str)
