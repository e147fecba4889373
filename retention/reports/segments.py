"""Segments in plain words, their sizes day by day (from the membership spells) and their trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

# Plain-words versions of customer_segments.segment's documentation (dbt_project/models/marts/_marts.yml);
# thresholds are the project's default vars.
DEFINITIONS = {
    "rfm_champions": "Bought very recently and buy the most often (recency 5, frequency 4-5).",
    "rfm_loyal": "Buy often and fairly recently (recency 3-4, frequency 4-5).",
    "rfm_potential_loyalists": "Recent buyers with a few orders who could become loyal (recency 4-5, frequency 2-3).",
    "rfm_new": "Bought for the first time very recently (recency 5, one order).",
    "rfm_promising": "Recent one-time buyers (recency 4, one order).",
    "rfm_need_attention": "Middling recency and frequency (recency 3, frequency 3).",
    "rfm_about_to_sleep": "Middling recency, few orders: slipping away (recency 3, frequency 1-2).",
    "rfm_cant_lose_them": "Used to buy the most, but have not bought for a long time (recency 1-2, frequency 5).",
    "rfm_at_risk": "Frequent buyers who have gone quiet (recency 1-2, frequency 3-4).",
    "rfm_hibernating": "Few orders, long ago (recency 1-2, frequency 1-2).",
    "lifecycle_subscriber": "Known contacts who have never ordered.",
    "lifecycle_first_time": "Ordered once, within the last 90 days.",
    "lifecycle_repeat": "Two or three orders, the last within 90 days.",
    "lifecycle_loyal": "Four or more orders, the last within 90 days.",
    "lifecycle_at_risk": "Last order 91 to 180 days ago.",
    "lifecycle_lapsed": "Last order more than 180 days ago.",
    "tier_bronze": "Spent something (net of refunds) in the last 365 days, under 150.",
    "tier_silver": "Spent 150 to 399 in the last 365 days.",
    "tier_gold": "Spent 400 to 999 in the last 365 days.",
    "tier_platinum": "Spent 1,000 or more in the last 365 days.",
    "abandoned_cart": "Started a checkout in the last 48 hours and did not finish it or order since.",
    "browse_abandonment": "Viewed or carted a product in the last 48 hours while logged in, no order since.",
    "win_back": "Much longer since the last order than usual for them (at least 60 days), and not a low churn risk.",
    "high_value_at_risk": "Top 20% predicted value whose chance of still buying has fallen below one half.",
    "birthday_this_week": "Birthday in the next seven days.",
    "anniversary_this_week": "First-order anniversary (at least a year ago) in the next seven days.",
    "post_purchase_thank_you": "Ordered in the last three days.",
    "review_request": "An order was delivered 7 to 13 days ago and is not reviewed yet.",
    "replenishment_due": "A consumable they bought is about to run out (from a week before to two weeks after).",
    "back_in_stock": "A product they looked at in the last 30 days came back in stock this week.",
    "price_drop": "A product they looked at in the last 30 days got cheaper this week.",
    "nps_detractor_followup": "Answered the NPS survey with 0-6 in the last 14 days.",
    "nps_promoter_referral": "Answered the NPS survey with 9-10 in the last 14 days.",
    "tier_upgrade": "Reached silver, gold or platinum in the last seven days.",
}
TREND_DAYS = (1, 7, 30)


def segment_type_of(segment: str) -> str:
    """The family a segment code belongs to (as customer_segments.segment_type)."""
    if segment.startswith("rfm_"):
        return "rfm"
    if segment.startswith("lifecycle_"):
        return "lifecycle"
    if segment.startswith("tier_") and segment != "tier_upgrade":
        return "loyalty_tier"
    return "trigger"


def definition(segment: str) -> str:
    return DEFINITIONS.get(segment, "See customer_segments.segment in the dbt docs.")


def sizes_by_day(spells: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """Members per segment on each day in [first, last] that the history covers (day, segment_type, segment, customers).

    A spell covers [entered_on, left_on); days before the history's first day are unknown, not zero.
    """
    columns = ["day", "segment_type", "segment", "customers"]
    if spells.empty:
        return pd.DataFrame(columns=columns)
    entered = pd.to_datetime(spells["entered_on"])
    left = pd.to_datetime(spells["left_on"])
    day = max(first, entered.min().date())
    rows = []
    while day <= last:
        stamp = pd.Timestamp(day)
        inside = spells[(entered <= stamp) & (left.isna() | (left > stamp))]
        for (segment_type, segment), count in inside.groupby(["segment_type", "segment"]).size().items():
            rows.append((day, segment_type, segment, int(count)))
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class SegmentTrend:
    segment_type: str
    segment: str
    size: int
    changes: dict[int, int | None]  # days back -> size now minus size then; None = no history that far back


def segment_trends(members: pd.DataFrame, sizes: pd.DataFrame, as_of: date) -> list[SegmentTrend]:
    """Every segment (empty ones too, so the page lists them all), today's size and its change over TREND_DAYS."""
    today = members.groupby("segment").size().to_dict() if not members.empty else {}
    history = {(row.day, row.segment): row.customers for row in sizes.itertuples()}
    covered = set(sizes["day"]) if not sizes.empty else set()
    segments = set(DEFINITIONS) | set(today) | set(sizes["segment"] if not sizes.empty else [])
    order = {family: index for index, family in enumerate(("lifecycle", "rfm", "loyalty_tier", "trigger"))}
    trends = []
    for segment in sorted(segments, key=lambda s: (order.get(segment_type_of(s), 9), s)):
        size, segment_type = today.get(segment, 0), segment_type_of(segment)
        changes = {}
        for back in TREND_DAYS:
            then = as_of - timedelta(days=back)
            changes[back] = int(size) - history.get((then, segment), 0) if then in covered else None
        trends.append(SegmentTrend(segment_type, segment, int(size), changes))
    return trends
