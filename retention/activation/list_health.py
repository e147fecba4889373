"""List health: promotional email pauses while complaints or bounces are above the limits.

Mailbox providers judge a sender by its spam-complaint rate (Gmail and Yahoo's bulk-sender
requirements, February 2024: below 0.3%) and its bounces; mailing on past them sends everything,
order updates included, to the spam folder. The rates come per day and campaign from the dbt model
``email_list_health_daily``; the limits from campaigns.yml ``settings.list_health``. Yesterday
decides, for the account as a whole (every promotional email campaign pauses) and for each
campaign (that one pauses); a day with fewer than ``min_delivered`` deliveries is not judged, so
a paused campaign resumes the day after and pauses again only if its rates stay bad.
Transactional and internal mail keeps going.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from retention.activation.campaigns import CampaignSet, ListHealthLimits

HEALTH_MODEL = "email_list_health_daily"
COUNTS = ["emails_delivered", "spam_reports", "hard_bounces"]


def paused_campaigns(health: pd.DataFrame | None, campaigns: CampaignSet, today: date) -> dict[str, str]:
    """Promotional email campaigns to pause today -> why, judged on yesterday's events."""
    if health is None or health.empty:
        return {}
    limits = campaigns.settings.list_health
    yesterday = today - timedelta(days=1)
    day = health[pd.to_datetime(health["day"]).dt.date == yesterday]
    account = _verdict(day[COUNTS].sum(), limits, "account-wide", yesterday)
    paused = {}
    for campaign in campaigns:
        if not (campaign.is_promotional and "email" in campaign.channels):
            continue
        why = account or _verdict(day.loc[day["campaign"] == campaign.key, COUNTS].sum(), limits,
                                  f"campaign {campaign.key}", yesterday)
        if why:
            paused[campaign.key] = why
    return paused


def _verdict(counts: pd.Series, limits: ListHealthLimits, scope: str, day: date) -> str | None:
    """Why a day's counts are over a limit; None when they are not, or too few to judge."""
    delivered, bounced = float(counts["emails_delivered"]), float(counts["hard_bounces"])
    if delivered < limits.min_delivered:
        return None
    spam_rate = float(counts["spam_reports"]) / delivered
    bounce_rate = bounced / (delivered + bounced)
    if spam_rate >= limits.max_spam_rate:
        return (f"{scope} spam complaint rate {spam_rate:.2%} on {day} is at or above {limits.max_spam_rate:.2%}: "
                "promotional email paused")
    if bounce_rate >= limits.max_bounce_rate:
        return (f"{scope} hard bounce rate {bounce_rate:.2%} on {day} is at or above {limits.max_bounce_rate:.2%}: "
                "promotional email paused")
    return None
