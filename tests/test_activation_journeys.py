"""The shipped journeys through the real engine, ledger and outbox senders: who gets which channel,
what the message carries, and what logs and dry runs never show."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta

import pandas as pd
import pytest

from retention.activation.campaigns import CampaignSet, load_campaigns, parse_campaigns
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import SenderSettings, build_senders
from tests.activation_fixtures import NOW, audience, person

REVIEW = {"products": [{"product_id": 900, "title": "Mug", "price": 12.0}], "recommendations": [],
          "review_id": "r1", "rating": 1, "review_title": "Broke at once", "review_body": "Cracked on day one.",
          "customer_email": "ann@example.com", "order_count": 2}


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "activation" / "ledger.sqlite") as opened:
        yield opened


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox", build_senders(tmp_path / "outbox", SenderSettings.from_mapping({}))


def shipped(**changes_by_key) -> CampaignSet:
    campaigns = load_campaigns()
    replaced = tuple(dataclasses.replace(c, **changes_by_key.get(c.key, {})) for c in campaigns)
    return CampaignSet(campaigns.settings, replaced, campaigns.source)


def row(key: str, occurrence: str, exits: dict[str, bool], **fields) -> dict:
    """An audience row with the campaign's own exit_<name> flags (person() knows the cart's only)."""
    return {**person(key, occurrence=occurrence, **fields), **{f"exit_{name}": v for name, v in exits.items()}}


def written(folder, channel: str) -> list:
    """Every email personalization or SMS entry the outbox holds for a channel."""
    found = []
    for path in sorted((folder / channel).glob("*.json")):
        doc = json.loads(path.read_text())
        found += doc["personalizations"] if channel == "email" else doc
    return found


def test_negative_review_alert_gives_staff_the_review_and_logs_only_counts(ledger, outbox, caplog):
    folder, senders = outbox
    review = person("k1", occurrence="r1", sms_ok=False, email_ok=False, payload=REVIEW)  # consent is the customer's
    caplog.set_level(logging.DEBUG)
    report = activate(load_campaigns(), {"audience_negative_review_alert": audience(review)}, ledger, senders, NOW,
                      only=["negative_review_alert"])
    assert report.campaign("negative_review_alert").outbox == 1
    [alert] = written(folder, "email")
    assert alert["to"] == [{"email": "customer-care@store.example"}]
    assert alert["dynamic_template_data"]["review_body"] == "Cracked on day one."
    assert alert["dynamic_template_data"]["rating"] == 1
    dry = activate(load_campaigns(), {"audience_negative_review_alert": audience(dict(review, occurrence="r2"))},
                   ledger, senders, NOW, only=["negative_review_alert"], dry_run=True)
    shown = dry.table() + json.dumps(dry.campaign("negative_review_alert").samples) + caplog.text
    assert dry.campaign("negative_review_alert").would_send == 1
    for text in ("Cracked on day one.", "Broke at once", "ann@example.com"):
        assert text not in shown


def test_order_notices_text_who_consented_to_sms_and_mail_the_others(ledger, outbox):
    folder, senders = outbox
    payload = {"products": [], "recommendations": [], "order_id": 1, "order_name": "#1001",
               "tracking_url": None}  # no tracking: the text does not need it
    frame = audience(row("texted", "11", {"delivered": False}, payload=payload),
                     row("mailed", "12", {"delivered": False}, sms_ok=False, payload=payload),
                     row("arrived", "13", {"delivered": True}, payload=payload))
    report = activate(load_campaigns(), {"audience_order_shipped": frame}, ledger, senders, NOW, only=["order_shipped"])
    assert report.campaign("order_shipped").outbox == 2
    assert report.campaign("order_shipped").excluded == {"exit_condition": 1}
    [sms] = written(folder, "sms")
    assert sms["form"]["Body"] == "Example Store: your order #1001 is on its way. Reply STOP to opt out."
    [email] = written(folder, "email")
    assert email["to"] == [{"email": "mailed@example.com"}]


def test_bounceback_carries_a_code_for_the_next_order_and_stops_after_it(ledger, outbox):
    folder, senders = outbox
    campaigns = shipped(bounceback={"holdout_share": 0.0})  # every recipient answers here
    rows = [row("once", "5901", {"ordered_again": False}, sms_ok=False),
            row("twice", "5902", {"ordered_again": True}, sms_ok=False)]
    report = activate(campaigns, {"audience_bounceback": audience(*rows)}, ledger, senders, NOW, only=["bounceback"])
    assert report.campaign("bounceback").outbox == 1
    assert report.campaign("bounceback").excluded == {"exit_condition": 1}
    [email] = written(folder, "email")
    data = email["dynamic_template_data"]
    assert data["coupon_code"].startswith("NEXT-") and data["discount_percent"] == 10


# ---------------------------------------------------------------- broadcasts

BROADCAST = """
settings:
  store_time_zone: America/New_York
campaigns:
  flash_sale:
    kind: promotional
    priority: 8
    channels: [email]
    email_template_id: d-flash-sale
    unsubscribe_group: 1002
    broadcast: {segment: [tier_gold, tier_platinum], send_at: "%s"}
    steps: [{delay_hours: 0}]
"""


def members(*rows: tuple[str, str, str], **fields) -> pd.DataFrame:
    """audience_broadcast rows: (customer, time zone, segments)."""
    return audience(*[{**person(key, occurrence="broadcast", time_zone=zone, **fields), "segments": segments}
                      for key, zone, segments in rows])


def test_a_broadcast_goes_to_its_segments_once_at_the_local_time_through_the_gate(ledger, outbox):
    folder, senders = outbox
    campaigns = parse_campaigns(BROADCAST % "2026-07-14 09:00")  # NOW is 12:00 in New York
    frame = members(("ny", "America/New_York", "lifecycle_loyal,tier_gold"),
                    ("tokyo", "Asia/Tokyo", "tier_platinum"),
                    ("honolulu", "Pacific/Honolulu", "tier_gold"),  # 09:00 there is 19:00 UTC
                    ("silver", "America/New_York", "tier_silver"))
    unsubscribed = members(("left", "America/New_York", "tier_gold"), email_ok=False, email_reason="unsubscribe")
    frames = {"audience_broadcast": pd.concat([frame, unsubscribed], ignore_index=True)}
    first = activate(campaigns, frames, ledger, senders, NOW).campaign("flash_sale")
    assert (first.audience, first.outbox, first.not_due) == (4, 2, 1)
    assert first.excluded == {"no_consent": 1}
    later = activate(campaigns, frames, ledger, senders, NOW + timedelta(hours=4)).campaign("flash_sale")
    assert later.outbox == 1 and later.excluded["already_sent"] == 2
    sent = [p["to"][0]["email"] for p in written(folder, "email")]
    assert sorted(sent) == ["honolulu@example.com", "ny@example.com", "tokyo@example.com"]
    assert set(ledger.rows("flash_sale")["occurrence"]) == {"2026-07-14T09:00"}


def test_a_broadcast_past_its_window_is_not_sent_and_a_new_send_at_is_a_new_broadcast(ledger, outbox):
    folder, senders = outbox
    frame = {"audience_broadcast": members(("ny", "America/New_York", "tier_gold"))}
    yesterday = parse_campaigns(BROADCAST % "2026-07-13 09:00")  # 27 hours ago in New York
    assert activate(yesterday, frame, ledger, senders, NOW).campaign("flash_sale").audience == 0
    today = parse_campaigns(BROADCAST % "2026-07-14 11:00")
    assert activate(today, frame, ledger, senders, NOW).campaign("flash_sale").outbox == 1
