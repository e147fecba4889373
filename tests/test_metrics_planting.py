"""Review sentiment (retention/sentiment.py) against VADER's published examples; what the simulator
plants for the web and review metrics (session spans, social arrivals, shares, review sentiment by
rating) against the distributions it declares; the report's window figures for those metrics.
tests/test_metrics_web_reviews.py checks that the warehouse recovers the planted values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from retention.reports.metrics import headline_metrics
from retention.sentiment import compound_score, review_text, score_reviews, sentiment_label
from retention.store_simulator.config import SimConfig
from retention.store_simulator.core import build_world
from retention.store_simulator.feedback import (
    EV_PAGE,
    EV_PRODUCT,
    EV_SHARE,
    REF_P,
    REVIEW_BODIES,
    REVIEW_SENTIMENT_P,
    REVIEW_SENTIMENTS,
    REVIEW_TITLES,
    SESSION_GAP_MEDIAN,
    SESSION_GAP_SIGMA,
    SOCIAL_REFERRERS,
)

# The compound scores vaderSentiment's README prints for its example sentences.
README_EXAMPLES = {
    "VADER is smart, handsome, and funny.": 0.8316,
    "VADER is not smart, handsome, nor funny.": -0.7424,
    "The book was good.": 0.4404,
    "Today sux!": -0.4199,
    "Make sure you :) or :D today!": 0.8633,
}


@pytest.mark.parametrize("text, compound", README_EXAMPLES.items())
def test_compound_scores_are_vaders_published_ones(text, compound):
    assert round(compound_score(text), 4) == compound


def test_labels_use_vaders_thresholds_and_a_review_without_text_has_none():
    assert [sentiment_label(v) for v in (0.05, 0.0499, -0.0499, -0.05, None)] == [
        "positive", "neutral", "neutral", "negative", None]
    assert review_text("Love it!", "Works well") == "Love it! Works well."
    assert review_text(None, "  ") is None and compound_score(None) is None and compound_score(" ") is None
    scored = score_reviews(pd.DataFrame({"review_id": ["a", "b"], "created_at": pd.to_datetime(["2025-01-01"] * 2),
                                         "rating": [5, 3], "title": ["Love it!", None], "body": [None, None]}))
    assert scored.has_text.tolist() == [True, False] and scored.sentiment.tolist()[0] == "positive"
    assert pd.isna(scored.sentiment_score[1]) and pd.isna(scored.sentiment[1])


def test_every_planted_review_text_reads_as_its_planted_sentiment():
    for label in REVIEW_SENTIMENTS:
        for title in REVIEW_TITLES[label]:
            for body in REVIEW_BODIES[label]:
                assert sentiment_label(compound_score(review_text(title, body))) == label, (title, body)


@pytest.fixture(scope="module")
def world():
    return build_world(SimConfig(customers=1500, start=date(2024, 1, 1), end=date(2024, 9, 30), seed=2).resolved())


def _within(observed: float, p: float, n: int) -> bool:
    return n > 0 and abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n)  # four standard errors


def test_the_simulator_plants_review_sentiment_by_rating_with_known_shares(world):
    rv, cfg = world.reviews, world.cfg
    assert _within(float((rv.sentiment < 0).mean()), cfg.share_review_no_text, rv.n)
    high = (rv.rating >= 4) & (rv.sentiment >= 0)
    p_positive = np.mean([REVIEW_SENTIMENT_P[r][0] for r in rv.rating[high]])
    assert _within(float((rv.sentiment[high] == 0).mean()), p_positive, int(high.sum()))
    low = (rv.rating <= 2) & (rv.sentiment >= 0)
    assert (rv.sentiment[low] != 0).mean() > 0.8  # mostly negative, hardly ever positive


def test_the_simulator_plants_social_arrivals_bounces_and_shares(world):
    ss, web, cfg = world.sessions, world.web, world.cfg
    social = float(np.isin(ss.ref, list(SOCIAL_REFERRERS)).mean())
    assert _within(social, sum(REF_P[i] for i in SOCIAL_REFERRERS), ss.n)
    events = np.bincount(web.session, minlength=ss.n)
    seen = events > 0
    shared = np.bincount(web.session[web.kind == EV_SHARE], minlength=ss.n) > 0
    browsed = seen & (events > 1)  # sessions past the landing page, nearly all with a product view
    assert _within(float(shared[browsed].mean()), cfg.share_session_rate, int(browsed.sum()))
    assert not shared[events == 1].any()  # a bounce shares nothing


def test_session_spans_follow_the_planted_gap(world):
    """A session of a landing page and k product views (nothing else) spans 2k gaps (slots 0 to 2k),
    give or take the 0-9 s of jitter on each event: its span / 2k recovers the lognormal gap's quantiles."""
    web = world.web
    kinds = pd.DataFrame({"s": web.session, "k": web.kind, "t": web.t})
    g = kinds.groupby("s").agg(n=("k", "size"), pages=("k", lambda k: int((k == EV_PAGE).sum())),
                               products=("k", lambda k: int((k == EV_PRODUCT).sum())), span=("t", lambda t: t.max() - t.min()))
    plain = g[(g.pages == 1) & (g.products >= 1) & (g.n == 1 + g.products)]
    assert len(plain) > 400
    gap = plain.span / (2 * plain.products)
    assert gap.median() == pytest.approx(SESSION_GAP_MEDIAN, abs=3)  # about 2.5 standard errors
    p90 = SESSION_GAP_MEDIAN * np.exp(1.2816 * SESSION_GAP_SIGMA)  # the lognormal's 90th percentile, 85 s
    assert gap.quantile(0.9) == pytest.approx(p90, abs=8)


def test_the_report_adds_up_the_new_figures_over_the_window():
    days = pd.date_range("2025-06-01", "2025-06-30").date
    base = {c: 0 for c in ("gross_revenue", "net_revenue", "new_customers", "returning_customers", "orders",
                           "emails_delivered", "emails_opened", "emails_clicked", "emails_unsubscribed", "sms_sent",
                           "sms_delivered", "sms_opt_outs", "checkouts_recovered", "checkouts_abandoned",
                           "nps_promoters", "nps_detractors", "nps_responses")}
    frame = pd.DataFrame([{**base, "day": d, "repeat_purchase_rate": 0.2, "churn_rate": 0.1,
                           "sessions": 10 if i == 0 else 30, "session_seconds": 1000 if i == 0 else 0,
                           "pageviews": 20, "bounced_sessions": 5, "social_sessions": 3, "shares": 1,
                           "reviews": 1 if i < 2 else 0, "average_rating": [5.0, 2.0][i] if i < 2 else None,
                           "reviews_with_text": 1 if i < 2 else 0, "positive_reviews": 1 if i == 0 else 0,
                           "negative_reviews": 1 if i == 1 else 0, "campaign_recipients": 4 if i == 0 else 0,
                           "campaign_attributed_revenue": 50.0 if i == 0 else 0.0,
                           "realised_revenue_per_customer": 40.0 + i,
                           "average_predicted_clv_12m": 99.5 if i == 29 else None}
                          for i, d in enumerate(days)])
    m = {x.name: x for x in headline_metrics(frame, date(2025, 6, 30))}
    assert m["Sessions"].value == 880
    assert m["Mean session duration"].value == pytest.approx(1000 / 880) and m["Mean session duration"].shown() == "1 s"
    assert m["Pages per session"].value == pytest.approx(600 / 880) and m["Bounce rate"].value == pytest.approx(150 / 880)
    assert m["Sessions from social media"].value == pytest.approx(90 / 880) and m["Product shares"].value == 30
    assert m["Reviews"].value == 2 and m["Average rating"].value == 3.5  # the mean of the reviews, not of the days
    assert m["Positive reviews"].value == 0.5 and m["Negative reviews"].shown() == "50.0%"
    assert m["Campaign revenue per recipient"].value == 12.5
    assert m["Realised revenue per customer (to date)"].value == 69.0
    assert m["Predicted 12-month CLV per active customer"].shown() == "99.50"
