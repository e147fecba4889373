"""List health pauses promotional email on yesterday's spam-complaint and bounce rates, at the limits'
edges, for the account or one campaign; order updates are never paused."""

from __future__ import annotations

import dataclasses
from datetime import date

import pandas as pd
import pytest

from retention.activation.campaigns import (
    CampaignConfigError,
    CampaignSet,
    ListHealthLimits,
    load_campaigns,
    parse_campaigns,
)
from retention.activation.list_health import paused_campaigns
from tests.activation_fixtures import CONFIG, campaign_set

TODAY = date(2025, 3, 10)
YESTERDAY = "2025-03-09"
CAMPAIGNS = campaign_set()  # cart (promotional, email), price_drop (promotional, sms + email), thanks (transactional)


def day(*rows: tuple[str, int, int, int], on: str = YESTERDAY) -> pd.DataFrame:
    return pd.DataFrame([{"day": on, "campaign": c, "emails_delivered": d, "spam_reports": s, "hard_bounces": b}
                         for c, d, s, b in rows])


def test_a_campaign_at_the_spam_limit_pauses_itself_and_just_below_does_not():
    paused = paused_campaigns(day(("cart", 1000, 3, 0), ("win_back", 1000, 2, 0), ("thanks", 8000, 0, 0)),
                              CAMPAIGNS, TODAY)
    # account-wide 5 / 10,000 = 0.05%: fine; cart alone 0.30%: at the Gmail/Yahoo line
    assert set(paused) == {"cart"}
    assert paused["cart"] == ("campaign cart spam complaint rate 0.30% on 2025-03-09 is at or above 0.30%: "
                              "promotional email paused")


def test_the_accounts_rate_pauses_every_promotional_email_campaign_but_not_order_updates():
    paused = paused_campaigns(day(("thanks", 1000, 4, 0)), CAMPAIGNS, TODAY)
    promotional_email = {c.key for c in CAMPAIGNS if c.is_promotional and "email" in c.channels}
    assert set(paused) == promotional_email and "thanks" not in paused
    assert all(reason.startswith("account-wide spam complaint rate 0.40%") for reason in paused.values())


def test_hard_bounces_over_the_limit_pause_and_blocks_are_not_counted_upstream():
    # 20 bounced of 980 + 20: 2.00%, at the limit; 19 of 999 + 19 is below
    assert "cart" in paused_campaigns(day(("cart", 980, 0, 20)), CAMPAIGNS, TODAY)
    assert paused_campaigns(day(("cart", 999, 0, 19)), CAMPAIGNS, TODAY) == {}


def test_too_few_deliveries_or_an_older_day_are_not_judged():
    assert paused_campaigns(day(("cart", 99, 50, 0)), CAMPAIGNS, TODAY) == {}
    assert paused_campaigns(day(("cart", 1000, 50, 0), on="2025-03-08"), CAMPAIGNS, TODAY) == {}
    assert paused_campaigns(day(("cart", 1000, 50, 0), on="2025-03-10"), CAMPAIGNS, TODAY) == {}  # today is not over
    assert paused_campaigns(None, CAMPAIGNS, TODAY) == {}


def test_limits_are_settings_with_the_bulk_sender_defaults():
    shipped = load_campaigns().settings.list_health
    assert shipped == ListHealthLimits(max_spam_rate=0.003, max_bounce_rate=0.02, min_delivered=100)
    strict = dataclasses.replace(CAMPAIGNS.settings, list_health=ListHealthLimits(max_spam_rate=0.001))
    stricter = CampaignSet(strict, CAMPAIGNS.campaigns)
    assert "cart" in paused_campaigns(day(("cart", 1000, 1, 0)), stricter, TODAY)
    bad = CONFIG.replace("settings:\n", "settings:\n  list_health: {max_spam_rate: 3}\n", 1)
    with pytest.raises(CampaignConfigError, match="settings.*list_health.max_spam_rate.*above the maximum 1"):
        parse_campaigns(bad, source="x.yml")
