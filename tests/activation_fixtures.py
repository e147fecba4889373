"""Small campaign files and audience rows for the activation tests."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from retention.activation.campaigns import CampaignSet, parse_campaigns

# 12:00 in New York (EDT): inside every default window
NOW = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
EXITS = ("ordered_since_trigger", "new_checkout")

CONFIG = """
settings:
  store_time_zone: America/New_York
  frequency_caps:
    email: {max_sends: 1, window_hours: 16}
    sms: {max_sends: 1, window_hours: 24}
  promotional_per_day: 1
  quiet_hours:
    sms: {start: "21:00", end: "08:00"}
campaigns:
  thanks:
    kind: transactional
    priority: 1
    channels: [email]
    email_template_id: d-thanks
    steps: [{delay_hours: 0}]
  cart:
    kind: promotional
    priority: 10
    channels: [email]
    email_template_id: d-cart
    unsubscribe_group: 1001
    purchase_exclusion_days: 0
    discount: {prefix: CART, percent: 10, from_step: 2}
    steps:
      - {delay_hours: 4, exit_when: [ordered_since_trigger, new_checkout]}
      - {delay_hours: 24, exit_when: [ordered_since_trigger, new_checkout], email_template_id: d-cart-offer}
      - {delay_hours: 72, exit_when: [ordered_since_trigger, new_checkout]}
  price_drop:
    kind: promotional
    priority: 20
    channels: [sms, email]
    sms_body: "{first_name}, {product_title} is now {product_price}. Reply STOP to opt out."
    email_template_id: d-price-drop
    unsubscribe_group: 1004
    purchase_exclusion_days: 3
    steps: [{delay_hours: 0, exit_when: [ordered_since_trigger]}]
  win_back:
    kind: promotional
    priority: 30
    channels: [email]
    email_template_id: d-win-back
    unsubscribe_group: 1002
    purchase_exclusion_days: 30
    discount: {prefix: BACK, percent: 15}
    steps: [{delay_hours: 0}]
  detractor:
    kind: internal
    priority: 0
    channels: [email]
    email_template_id: d-detractor
    internal_recipients: [care@store.example, lead@store.example]
    quiet_hours: null
    steps: [{delay_hours: 0}]
"""


def campaign_set(**changes_by_key) -> CampaignSet:
    """The test campaigns, with fields of some replaced: campaign_set(cart={"holdout_share": 0.5})."""
    campaigns = parse_campaigns(CONFIG, source="test-campaigns.yml")
    replaced = tuple(dataclasses.replace(c, **changes_by_key.get(c.key, {})) for c in campaigns)
    return CampaignSet(campaigns.settings, replaced, campaigns.source)

# Push (the webhook channel): an order update that falls back to email, and a promotional push.
PUSH_CONFIG = """
settings:
  store_time_zone: America/New_York
  quiet_hours:
    webhook: {start: "21:00", end: "08:00"}
  webhook: {url: "http://127.0.0.1:9/unused", batch_size: 2, timeout_seconds: 2}
campaigns:
  push_order:
    kind: transactional
    priority: 1
    channels: [webhook, email]
    email_template_id: d-order
    steps: [{delay_hours: 0}]
  push_cart:
    kind: promotional
    priority: 10
    channels: [webhook]
    steps: [{delay_hours: 0}]
"""


def push_campaign_set(**changes_by_key) -> CampaignSet:
    """The push campaigns, with fields of some replaced, as ``campaign_set``."""
    parsed = parse_campaigns(PUSH_CONFIG, source="test-push.yml")
    replaced = tuple(dataclasses.replace(c, **changes_by_key.get(c.key, {})) for c in parsed)
    return CampaignSet(parsed.settings, replaced, parsed.source)


def pushed(*keys: str, opt_in: bool | None = True, **fields) -> pd.DataFrame:
    """An audience of these customers, each with ``push_opt_in`` (the push channel's consent)."""
    return audience(*({**person(key, **fields), "push_opt_in": opt_in} for key in keys))


def person(key: str, occurrence: str = "o1", triggered_at: datetime | None = None, *, email_ok: bool = True,
           sms_ok: bool = True, email_reason: str | None = None, sms_reason: str | None = None,
           time_zone: str = "America/New_York", last_order_at: datetime | None = None,
           email: str | None = "default", phone: str | None = "default", payload: dict | None = None,
           unsubscribed_groups: str | None = None, email_frequency: str = "as_usual",
           sms_quiet_hours: str | None = None, **exits: bool) -> dict:
    row = {
        "customer_key": key,
        "occurrence": occurrence,
        "triggered_at": triggered_at or NOW - timedelta(hours=100),
        "as_of": NOW.date(),
        "email": f"{key}@example.com" if email == "default" else email,
        "phone": "+12025550100" if phone == "default" else phone,
        "first_name": f"Name{key}",
        "time_zone": time_zone,
        "is_email_marketable": email_ok,
        "is_sms_marketable": sms_ok,
        "email_consent_state": "subscribed" if email_ok else "unsubscribed",
        "sms_consent_state": "subscribed" if sms_ok else "not_subscribed",
        "email_suppression_reason": email_reason,
        "email_unsubscribed_groups": unsubscribed_groups,
        "email_frequency": email_frequency,
        "sms_suppression_reason": sms_reason,
        "sms_quiet_hours": sms_quiet_hours,
        "last_order_at": last_order_at,
        "payload": json.dumps(payload if payload is not None else {
            "products": [{"product_id": 7, "title": "Blue Mug", "image_url": "https://img/7.png", "price": "12.00"}],
            "recommendations": []}),
    }
    for name in EXITS:
        row[f"exit_{name}"] = exits.get(name, False)
    return row


def audience(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for column in ("triggered_at", "last_order_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
