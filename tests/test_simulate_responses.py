"""The simulated recipients answer the outbox: provider-shaped events that ingestion lands."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from retention.ingest import ingest_day
from retention.paths import DataDir
from retention.store_simulator.responses import (
    ResponseRates,
    email_events,
    outbox_files,
    read_outbox,
    write_responses,
)

SENT_AT = datetime(2025, 3, 10, 23, 50, tzinfo=UTC)


def _outbox(root):
    email = root / "outbox" / "email"
    sms = root / "outbox" / "sms"
    email.mkdir(parents=True)
    sms.mkdir(parents=True)
    people = [{"to": [{"email": f"p{i}@example.com"}], "custom_args": {"campaign": "win_back", "step": "1",
                                                                      "send_id": f"s{i}"}} for i in range(400)]
    (email / "b1.json").write_text(json.dumps({"personalizations": people, "template_id": "d-x"}))
    (email / ".b2.json.tmp").write_text("{not json")  # a write in progress is not read
    (sms / "b3.json").write_text(json.dumps([{"send_id": f"t{i}", "form": {"To": f"+1555000{i:04d}", "Body": "hi"}}
                                             for i in range(50)]))
    return DataDir(root)


def test_answers_land_as_provider_events(tmp_path):
    data_dir = _outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    assert len(messages) == 450
    counts = write_responses(data_dir, messages, seed=1, rates=ResponseRates(email_open=0.5))
    # events after 23:50 spill into the next day's delivery: both days land
    days = sorted(p.name for p in (data_dir.inbox / "sendgrid").iterdir())
    assert days[0] == "2025-03-10"
    landed = 0
    for day in days:
        landed += ingest_day(data_dir, "sendgrid", date.fromisoformat(day)).tables["events"].landed
    assert landed == counts["email_events"]
    events = pd.concat(pd.read_parquet(p) for p in (data_dir.landing / "sendgrid" / "events").rglob("*.parquet"))
    assert set(events["send_id"]) <= {f"s{i}" for i in range(400)}
    kinds = events["event"].value_counts()
    assert kinds["processed"] == 400
    assert 0.35 < kinds["open"] / kinds["delivered"] < 0.65  # the rate asked for
    assert "bounce" in kinds
    report = ingest_day(data_dir, "twilio", SENT_AT.date())
    assert report.tables["message_status"].landed == 150 == counts["sms_callbacks"]


def test_a_send_is_answered_alike_whatever_batch_carried_it(tmp_path):
    """The audience's row order decides which batch file a message travels in and where: another run
    of the same day must answer each send as this one did, or the demo would not repeat itself."""
    one = _outbox(tmp_path / "one")
    body = json.loads((one.outbox / "email" / "b1.json").read_text())
    people = body["personalizations"][::-1]
    other = tmp_path / "other" / "outbox" / "email"
    other.mkdir(parents=True)
    (other / "x1.json").write_text(json.dumps({**body, "personalizations": people[:150]}))
    (other / "x2.json").write_text(json.dumps({**body, "personalizations": people[150:]}))
    rates = ResponseRates(email_open=0.5)

    def answers(data_dir):
        messages = [m for m in read_outbox(outbox_files(data_dir.outbox), SENT_AT) if m.channel == "email"]
        return {m.custom_args["send_id"]: [(e["event"], e["timestamp"]) for e in email_events(m, rates, seed=1)]
                for m in messages}

    first = answers(one)
    assert len(first) == 400 and len({tuple(a) for a in first.values()}) > 2  # not all answered alike
    assert answers(DataDir(tmp_path / "other")) == first


def _coupon_outbox(root, with_offer: bool = True):
    email = root / "outbox" / "email"
    email.mkdir(parents=True)
    offer = {"coupon_code": "BACK-ABC", "discount_percent": 15,
             "products": [{"product_id": 7, "title": "Blue Mug", "price": "12.00"},
                          {"product_id": 8, "title": "Red Mug", "price": "20.00"}]}
    people = [{"to": [{"email": f"p{i}@example.com"}],
               "custom_args": {"campaign": "win_back", "step": "1", "send_id": f"s{i}"},
               "dynamic_template_data": {**(offer if with_offer else {}), "coupon_code": f"BACK-{i:05d}"
                                         if with_offer else None, "first_name": "P"}} for i in range(600)]
    (email / "b1.json").write_text(json.dumps({"personalizations": people, "template_id": "d-x"}))
    return DataDir(root)


def test_clicks_on_a_discount_code_become_orders_quoting_it_with_the_truth_written(tmp_path):
    data_dir = _coupon_outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    counts = write_responses(data_dir, messages, seed=3, rates=ResponseRates(email_open=0.6, email_click=0.6))
    truth = [json.loads(line) for line in (data_dir.simulation / "redemptions.jsonl").read_text().splitlines()]
    assert len(truth) == counts["redemptions"] > 10
    landed = []
    for day in sorted(p.name for p in (data_dir.inbox / "shopify").iterdir()):
        report = ingest_day(data_dir, "shopify", date.fromisoformat(day))
        assert report.tables["orders"].quarantined == 0
        landed += [pd.read_parquet(p) for p in (data_dir.landing / "shopify" / "orders").rglob("*.parquet")]
    versions = pd.concat(landed).drop_duplicates(["id", "updated_at"])
    orders = versions.sort_values("updated_at").drop_duplicates("id", keep="last")
    by_id = {int(r["id"]): r for _, r in orders.iterrows()}
    # placed, fulfilled and delivered, each version on the day it happened: none is left to look delayed
    assert len(versions) == 3 * len(truth) and set(orders["fulfillment_status"]) == {"fulfilled"}
    shipments = pd.concat(pd.read_parquet(p) for p in (data_dir.landing / "shopify" / "fulfillments").rglob("*.parquet"))
    shipped = shipments.sort_values("updated_at").drop_duplicates("order_id", keep="last").set_index("order_id")
    assert set(shipped.index) == {t["order_id"] for t in truth} and set(shipped["shipment_status"]) == {"delivered"}
    for t in truth:
        placed, fulfilled = pd.Timestamp(t["ordered_at"]), pd.Timestamp(shipped.loc[t["order_id"], "created_at"])
        assert placed < fulfilled < pd.Timestamp(shipped.loc[t["order_id"], "updated_at"])
    for t in truth:
        order = by_id[t["order_id"]]
        (code,) = list(order["discount_codes"])
        assert code["code"] == t["code"] and f"{float(code['amount']):.2f}" == t["discount_amount"]
        assert f"{float(order['total_price']):.2f}" == t["total_price"]
        assert t["send_id"].startswith("s") and t["campaign"] == "win_back"
    # only clicked messages redeem, each at most once, after its click
    for day in sorted(p.name for p in (data_dir.inbox / "sendgrid").iterdir()):
        ingest_day(data_dir, "sendgrid", date.fromisoformat(day))
    events = pd.concat(pd.read_parquet(p) for p in (data_dir.landing / "sendgrid" / "events").rglob("*.parquet"))
    clicks = events[events["event"] == "click"].set_index("send_id")["timestamp"]
    assert {t["send_id"] for t in truth} <= set(clicks.index) and len({t["send_id"] for t in truth}) == len(truth)
    assert all(pd.Timestamp(t["ordered_at"]) > clicks[t["send_id"]] for t in truth)


def test_redemptions_leave_the_provider_events_as_they_were(tmp_path):
    with_offer = _coupon_outbox(tmp_path / "a")
    without = _coupon_outbox(tmp_path / "b", with_offer=False)
    for data_dir in (with_offer, without):
        write_responses(data_dir, read_outbox(outbox_files(data_dir.outbox), SENT_AT), seed=3)
    def events(d):
        return {p.relative_to(d.root): p.read_bytes() for p in (d.inbox / "sendgrid").rglob("*") if p.is_file()}

    assert events(with_offer) and events(with_offer) == events(without)
    assert not (without.inbox / "shopify").exists() and not (without.simulation / "redemptions.jsonl").exists()


@pytest.mark.parametrize("outbox", ["plain", "coupons"])
def test_answering_twice_changes_nothing(tmp_path, outbox):
    """The inbox and the redemptions' truth file alike."""
    data_dir = _outbox(tmp_path) if outbox == "plain" else _coupon_outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    write_responses(data_dir, messages, seed=3)
    first = {p: p.read_bytes() for p in data_dir.root.rglob("*") if p.is_file()}
    write_responses(data_dir, messages, seed=3)
    assert {p: p.read_bytes() for p in data_dir.root.rglob("*") if p.is_file()} == first


def test_the_answers_of_two_sends_on_the_same_days_are_all_kept(tmp_path):
    """Two mornings' sends, each answered after its own: the second's answers on a day the first's
    also reached (a late open, a fulfilled order) are written beside them, not over them."""
    data_dir = _coupon_outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    rates = ResponseRates(email_open=0.6, email_click=0.6)
    first = write_responses(data_dir, messages, seed=3, rates=rates)
    later = [replace(m, sent_at=SENT_AT + timedelta(days=1)) for m in messages]
    second = write_responses(data_dir, later, seed=4, rates=rates)
    events = [e for p in (data_dir.inbox / "sendgrid").rglob("*.json") for e in json.loads(p.read_text())]
    assert len(events) == first["email_events"] + second["email_events"]
    orders = [o for p in (data_dir.inbox / "shopify").rglob("*.json") for o in json.loads(p.read_text())["orders"]]
    assert len(orders) == 3 * (first["redemptions"] + second["redemptions"])  # placed, fulfilled, delivered
    def days(tag):
        return {p.parent.name for p in (data_dir.inbox / "sendgrid").glob(f"*/events-{tag}.json")}

    assert days("responses-20250310235000") & days("responses-20250311235000")  # they met on a day
