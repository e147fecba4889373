"""Headline metrics from metrics_daily: the last 30 days against the 30 before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

WINDOW_DAYS = 30


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    previous: float | None
    kind: str  # count | money | rate | score | ratio | seconds

    def shown(self, value: float | None = None) -> str:
        value = self.value if value is None else value
        if value is None or pd.isna(value):
            return "n/a"
        if self.kind == "rate":
            return f"{value:.1%}"
        if self.kind == "money":
            return f"{value:,.2f}"
        if self.kind == "score":
            return f"{value:+.0f}"
        if self.kind == "ratio":
            return f"{value:,.2f}"
        if self.kind == "seconds":
            return f"{value:,.0f} s"
        return f"{value:,.0f}"


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return float(top) / float(bottom) if bottom and top is not None and not pd.isna(top) else None


def _total(frame: pd.DataFrame, mean: str, count: str) -> float | None:
    """The window's total behind a daily mean (the day's mean times the day's count), e.g. the sum of ratings."""
    return (frame[mean].fillna(0) * frame[count]).sum() if mean in frame and count in frame else None


def _window(frame: pd.DataFrame) -> dict[str, float | None]:
    """The window's figures: sums for counts, ratios of sums for rates, the last day for running totals."""
    if frame.empty:
        return {}
    s = frame.sum(numeric_only=True)
    last = frame.sort_values("day").iloc[-1]
    return {
        "Orders": s["orders"],
        "Net revenue": s["net_revenue"],
        "Average order value": _ratio(s["gross_revenue"], s["orders"]),
        "New customers": s["new_customers"],
        "Returning customers": s["returning_customers"],
        "Repeat purchase rate (to date)": last["repeat_purchase_rate"],
        "Churn rate (to date)": last["churn_rate"],
        "Email open rate": _ratio(s["emails_opened"], s["emails_delivered"]),
        "Email click rate": _ratio(s["emails_clicked"], s["emails_delivered"]),
        "Email unsubscribe rate": _ratio(s["emails_unsubscribed"], s["emails_delivered"]),
        # people who kept email at a lower frequency: the preference centre's alternative to leaving
        "Chose less email": s.get("email_frequency_lowered"),
        "SMS delivery rate": _ratio(s["sms_delivered"], s["sms_sent"]),
        "SMS opt-out rate": _ratio(s["sms_opt_outs"], s["sms_delivered"]),
        "Cart recovery rate": _ratio(s["checkouts_recovered"], s["checkouts_abandoned"]),
        "NPS": _ratio(100 * (s["nps_promoters"] - s["nps_detractors"]), s["nps_responses"]),
        "Sessions": s.get("sessions"),
        "Mean session duration": _ratio(s.get("session_seconds"), s.get("sessions")),
        "Pages per session": _ratio(s.get("pageviews"), s.get("sessions")),
        "Bounce rate": _ratio(s.get("bounced_sessions"), s.get("sessions")),
        "Sessions from social media": _ratio(s.get("social_sessions"), s.get("sessions")),
        "Product shares": s.get("shares"),
        "Reviews": s.get("reviews"),
        "Average rating": _ratio(_total(frame, "average_rating", "reviews"), s.get("reviews")),
        "Positive reviews": _ratio(s.get("positive_reviews"), s.get("reviews_with_text")),
        "Negative reviews": _ratio(s.get("negative_reviews"), s.get("reviews_with_text")),
        "Realised revenue per customer (to date)": last.get("realised_revenue_per_customer"),
        # the forecast is made as of the report's day: the last day's row holds it
        "Predicted 12-month CLV per active customer": last.get("average_predicted_clv_12m"),
        # recipients are counted per day they were messaged
        "Campaign revenue per recipient": _ratio(s.get("campaign_attributed_revenue"), s.get("campaign_recipients")),
    }


KINDS = {"Net revenue": "money", "Average order value": "money", "NPS": "score", "Mean session duration": "seconds",
         "Pages per session": "ratio", "Average rating": "ratio", "Sessions from social media": "rate",
         "Positive reviews": "rate", "Negative reviews": "rate", "Realised revenue per customer (to date)": "money",
         "Predicted 12-month CLV per active customer": "money", "Campaign revenue per recipient": "money"}


def headline_metrics(metrics: pd.DataFrame, as_of: date) -> list[Metric]:
    """The page's main metrics; empty when metrics_daily has nothing yet."""
    if metrics.empty:
        return []
    days = pd.to_datetime(metrics["day"]).dt.date
    start = as_of - timedelta(days=WINDOW_DAYS)
    now = _window(metrics[(days > start) & (days <= as_of)])
    before = _window(metrics[(days > start - timedelta(days=WINDOW_DAYS)) & (days <= start)])
    kinds = {name: KINDS.get(name, "rate" if "rate" in name else "count") for name in now or before}
    return [Metric(name, _clean(now.get(name)), _clean(before.get(name)), kind) for name, kind in kinds.items()]


def _clean(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
