"""Activation in the benchmark: the engine and the official SendGrid and Twilio clients against
local servers that answer like the providers (``tests.fakes.providers``).

- ``run_demo``: the shipped campaigns over the audiences the warehouse holds;
- ``run_throughput``: one campaign over N synthetic recipients built from the warehouse's
  customers, every one consenting, for the engine + sender path at scale;
- ``run_batch_side``: the same, at a given SendGrid batch size, for the batched against
  one-request-per-recipient comparison.

The rate is messages the fake servers accepted / wall seconds of the ``activate()`` call, with a
fresh ledger in a temporary directory (so nothing counts as already sent).
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import numpy as np
import pandas as pd

# A transactional email with one immediate step, no holdout, no send window and no exit condition:
# every consenting recipient is sent, so the rate measures the path, not the gate's exclusions.
THROUGHPUT_CAMPAIGN = "vip_tier_upgrade"
THROUGHPUT_RECIPIENTS = {"XS": 10_000, "S": 10_000, "M": 100_000, "L": 1_000_000}
PER_RECIPIENT_SUBSET = 2_000  # one request per recipient is slow: the comparison uses a subset
API_KEY = "SG.bench-local-only"
SEND_HOUR_UTC = 17


def send_time(as_of: date) -> datetime:
    """The day after the audiences' as-of day, 17:00 UTC (midday at the store in New York)."""
    return datetime.combine(as_of + timedelta(days=1), clock(SEND_HOUR_UTC), tzinfo=UTC)


class TimedSender:
    """A sender that adds up the seconds spent inside ``send``: the rest of ``activate()`` is the
    engine's (gate, rendering, ledger), which is the profile of where a run's time goes."""

    def __init__(self, sender):
        self.sender, self.channel, self.mode, self.seconds = sender, sender.channel, sender.mode, 0.0

    def send(self, messages):
        started = time.perf_counter()
        try:
            return self.sender.send(messages)
        finally:
            self.seconds += time.perf_counter() - started

    def lookup(self, send_ids):
        return self.sender.lookup(send_ids)


def split(senders: dict, activate_s: float) -> dict:
    sending = {channel: round(s.seconds, 3) for channel, s in senders.items()}
    return {"send_s": sending, "engine_s": round(activate_s - sum(sending.values()), 3)}


@contextmanager
def fake_senders(settings, batch_size: int):
    """Live senders (the official clients) pointed at fake SendGrid and Twilio in this process, and
    the discount codes created in a fake Shopify before their messages leave."""
    from retention.activation.discounts import ShopifyDiscounts
    from retention.activation.senders import SendGridSender, TwilioSender
    from tests.fakes.providers import FakeSendGrid, FakeTwilio
    from tests.fakes.shopify_discounts import FakeShopifyDiscounts

    with FakeSendGrid(api_key=API_KEY) as sendgrid, FakeTwilio() as twilio, FakeShopifyDiscounts() as shop:
        senders = {"email": TimedSender(SendGridSender(API_KEY, settings.from_email, settings.from_name,
                                                       host=sendgrid.url, batch_size=batch_size)),
                   "sms": TimedSender(TwilioSender(twilio.account_sid, twilio.auth_token, settings.from_number,
                                                   base_url=twilio.url))}
        yield senders, sendgrid, twilio, ShopifyDiscounts(None, shop.access_token, "2026-07", api_base=shop.url)


def timed_activate(campaigns, audiences: dict, senders: dict, discounts, now: datetime, only=None):
    """(report, seconds of the activate() call) with a fresh ledger."""
    from retention.activation.engine import activate
    from retention.activation.ledger import Ledger

    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp, Ledger(Path(tmp) / "ledger.sqlite") as ledger:
        started = time.perf_counter()
        report = activate(campaigns, audiences, ledger, senders, now, only=only, discounts=discounts)
        return report, time.perf_counter() - started


def _rate(messages: int, seconds: float) -> float:
    return round(messages / seconds, 1) if seconds > 0 else 0.0


def _shipped_campaigns():
    from retention.activation.campaigns import SHIPPED_FILE, load_campaigns

    return load_campaigns(SHIPPED_FILE)  # the demo campaigns, whatever $RETENTION_CAMPAIGNS says


def read_audiences(con, names) -> dict[str, pd.DataFrame]:
    built = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                       "where table_schema = 'main'").fetchall()}
    return {name: con.sql(f'select * from main."{name}"').df() for name in names if name in built}


def run_demo(con, as_of: date) -> dict:
    campaigns = _shipped_campaigns()
    audiences = read_audiences(con, sorted({c.audience for c in campaigns}))
    now = send_time(as_of)
    with fake_senders(campaigns.settings, batch_size=1000) as (senders, sendgrid, twilio, discounts):
        report, seconds = timed_activate(campaigns, audiences, senders, discounts, now)
        emails, sms = len(sendgrid.send_ids()), len(twilio.requests)
    totals = report.totals()
    return {"now": now.isoformat(), "audiences": len(audiences), "audience_rows": int(totals.get("audience", 0)),
            "eligible": int(totals.get("eligible", 0)), "messages": emails + sms, "emails": emails, "sms": sms,
            "activate_s": round(seconds, 3), "recipients_per_second": _rate(emails + sms, seconds),
            "email_per_second": _rate(emails, seconds), **split(senders, seconds),
            "sent_by_campaign": {c.campaign: c.sent for c in report.campaigns if c.sent},
            "errors": report.errors}


def synthetic_audience(con, recipients: int, as_of: date, store_zone: str) -> pd.DataFrame:
    """``recipients`` rows from the warehouse's customers, every one consenting. With fewer
    customers, rows repeat with a distinct occurrence and a ``~<n>`` key suffix: the frequency cap
    would rightly stop a second message to the same customer, so each repeat is its own recipient."""
    customers = con.sql("select customer_key, first_name from main.customers order by customer_key").df()
    if customers.empty:
        raise RuntimeError("the warehouse has no customers to build the synthetic audience from")
    index = np.arange(recipients)
    base = customers.iloc[index % len(customers)].reset_index(drop=True)
    repeat = pd.Series(index // len(customers))
    suffix = np.where(repeat > 0, "~" + repeat.astype(str), "")
    triggered = pd.Timestamp(as_of, tz="UTC")
    names = base["first_name"].fillna("").tolist()
    return pd.DataFrame({
        "customer_key": base["customer_key"].astype(str) + suffix,
        "occurrence": "gold:" + as_of.isoformat() + suffix,
        "triggered_at": triggered,
        "as_of": pd.Timestamp(as_of),
        # addresses of the reserved example.com domain: the simulated ones may be missing or shared
        "email": [f"recipient-{i}@example.com" for i in index],
        "is_email_marketable": True,
        "email_suppression_reason": None,
        "email_unsubscribed_groups": None,
        "time_zone": store_zone,
        "payload": [json.dumps({"first_name": n or None, "tier": "gold"}) for n in names],
    })


def _throughput(con, as_of: date, recipients: int, batch_size: int) -> tuple[dict, list[str]]:
    campaigns = _shipped_campaigns()
    campaign = campaigns.get(THROUGHPUT_CAMPAIGN)
    frame = synthetic_audience(con, recipients, as_of, campaigns.settings.store_time_zone)
    now = send_time(as_of)
    with fake_senders(campaigns.settings, batch_size) as (senders, sendgrid, _, discounts):
        report, seconds = timed_activate(campaigns, {campaign.audience: frame}, senders, discounts, now,
                                         only=[campaign.key])
        accepted = sendgrid.send_ids()
        requests = len(sendgrid.requests)
        timing = split(senders, seconds)
    result = report.campaign(campaign.key)
    return {"campaign": campaign.key, "recipients": recipients, "batch_size": batch_size, "now": now.isoformat(),
            "messages": len(accepted), "requests": requests, "sent": result.sent, "errors": report.errors,
            "activate_s": round(seconds, 3), "recipients_per_second": _rate(len(accepted), seconds),
            **timing}, accepted


def run_throughput(con, as_of: date, recipients: int) -> dict:
    return _throughput(con, as_of, recipients, batch_size=1000)[0]


def run_batch_side(con, as_of: date, recipients: int, batch_size: int, send_ids_path: str) -> dict:
    """One side of the comparison; the accepted send ids go to a file for the identity check."""
    details, accepted = _throughput(con, as_of, recipients, batch_size)
    Path(send_ids_path).write_text(json.dumps(sorted(accepted)))
    return details


def compare_send_ids(batched: Path, per_recipient: Path) -> dict:
    a, b = set(json.loads(Path(batched).read_text())), set(json.loads(Path(per_recipient).read_text()))
    return {"send_ids_batched": len(a), "send_ids_per_recipient": len(b), "only_batched": len(a - b),
            "only_per_recipient": len(b - a), "identical": bool(a) and a == b}
