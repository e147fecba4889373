"""Simulation settings and the true parameters of the latent processes."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


def default_end() -> date:
    """Yesterday (UTC). Only used for the CLI/API default, never inside the simulation."""
    return datetime.now(UTC).date() - timedelta(days=1)


def months_before(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + (d.month - 1) - months, 12)
    day = min(d.day, 28)
    return date(y, m + 1, day)


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulation depends on; the output is a pure function of it."""

    customers: int = 5000
    start: date | None = None  # default: end minus 18 months
    end: date | None = None  # default: yesterday (UTC); inclusive
    seed: int = 42
    dirt_rate: float = 0.002
    timezone: str = "America/New_York"
    workers: int = 2  # processes used to serialise; does not change the output
    compress: bool = False  # write every inbox file gzip-compressed (name + ".gz"), as bulk drops often come

    # BG/NBD (Fader, Hardie & Lee 2005), time unit = weeks
    r: float = 0.75  # purchase-rate heterogeneity: lambda ~ Gamma(shape r, rate alpha)
    alpha: float = 13.0  # mean lambda = r/alpha = 0.058/week ~ 3 orders/year while alive
    a: float = 1.2  # dropout p ~ Beta(a, b), mean ~0.27
    b: float = 3.2
    # Gamma-Gamma (Fader & Hardie 2013): spend ~ Gamma(shape p_spend, rate nu), nu ~ Gamma(q, rate gamma)
    p_spend: float = 6.0
    q_spend: float = 4.0
    gamma_spend: float = 37.5  # mean spend = p*gamma/(q-1) = $75

    # population mix
    share_subscriber_only: float = 0.10  # sign up (newsletter) and never order
    share_guest: float = 0.09  # of buyers: check out as guests, no customer account
    share_birthday: float = 0.35  # of account holders: birthday tag
    share_phone: float = 0.65  # of account holders with a phone
    share_email_optin: float = 0.62  # of buyers with an account
    share_sms_optin: float = 0.30  # of account holders with a phone
    share_bad_email: float = 0.02

    # commerce
    abandoned_rate_per_week: float = 0.035  # non-recovered abandoned checkouts while active
    share_recovered: float = 0.10  # of modelled orders that come from a recovered abandoned checkout
    share_cancelled_extra: float = 0.012  # extra (not modelled) orders cancelled soon after
    share_refunded: float = 0.08
    share_review: float = 0.09
    share_review_no_text: float = 0.08  # reviews with a rating only (no title, no body)
    share_nps: float = 0.10

    # marketing
    campaigns_per_week: float = 1.0
    campaign_audience_share: float = 0.14
    sms_campaigns_per_month: float = 1.5

    # referrals (store_simulator/referrals.py): share of buyers with an account who refer friends
    referral_rate: float = 0.0
    referral_code_limit: int = 5  # the warehouse's var referral_code_limit
    # product subscriptions (store_simulator/subscriptions.py): mean sign-ups per stock-out and per sale
    subscription_rate: float = 0.0

    # browsing
    browse_sessions_per_week: float = 0.03  # per active person, beyond purchase/checkout sessions
    anonymous_sessions_per_customer: float = 0.45  # over the whole window, per simulated person
    bounce_rate: float = 0.3  # of browse and anonymous sessions: the landing page and nothing else
    share_session_rate: float = 0.05  # sessions with a product view in which the product is shared

    def resolved(self) -> SimConfig:
        end = self.end or default_end()
        start = self.start or months_before(end, 18)
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        if self.customers < 1:
            raise ValueError("customers must be >= 1")
        if not (0.0 <= self.dirt_rate <= 0.5):
            raise ValueError("dirt_rate must be in [0, 0.5]")
        if not (0.0 <= self.referral_rate <= 0.5):
            raise ValueError("referral_rate must be in [0, 0.5]")
        if self.referral_code_limit < 1:
            raise ValueError("referral_code_limit must be >= 1")
        if not (0.0 <= self.subscription_rate <= 20.0):
            raise ValueError("subscription_rate must be in [0, 20]")
        return _replace(self, start=start, end=end)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("workers")  # speed only; the output does not depend on it
        d["start"] = self.start.isoformat() if self.start else None
        d["end"] = self.end.isoformat() if self.end else None
        return d


def _replace(cfg: SimConfig, **kw) -> SimConfig:
    from dataclasses import replace

    return replace(cfg, **kw)


def default_out_dir() -> Path:
    return Path(os.environ.get("RETENTION_DATA_DIR") or "data")
