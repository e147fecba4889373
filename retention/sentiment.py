"""Sentiment of short review texts with VADER (Hutto & Gilbert 2014), a lexicon and rule model made
for short social texts: no training, deterministic, fast enough for every review on every build.

A review's text is its title and body joined; a review with neither has no sentiment (null), so
it counts toward review volume but not toward the sentiment shares. Labels use VADER's published
thresholds on the compound score: >= 0.05 positive, <= -0.05 negative, else neutral."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()  # loads the lexicon once per process


def compound_score(text: str | None) -> float | None:
    """VADER's compound score in [-1, 1], or None for a missing or blank text."""
    if text is None or not str(text).strip():
        return None
    return float(_analyzer().polarity_scores(str(text))["compound"])


def sentiment_label(compound: float | None) -> str | None:
    if compound is None or pd.isna(compound):
        return None
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def review_text(title: str | None, body: str | None) -> str | None:
    """Title and body as one text ('Love it! Works well.'), or None when both are missing or blank.
    The title keeps its own punctuation: VADER reads '!' as emphasis."""
    parts = [str(p).strip() for p in (title, body) if p is not None and not pd.isna(p) and str(p).strip()]
    return " ".join(p if p[-1] in ".!?" else p + "." for p in parts) or None


def score_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per review: review_id, created_at, rating, has_text, sentiment_score, sentiment."""
    texts = [review_text(t, b) for t, b in zip(reviews["title"], reviews["body"])]
    scores = [compound_score(t) for t in texts]
    return pd.DataFrame({
        "review_id": reviews["review_id"].astype(str).to_numpy(),
        "created_at": reviews["created_at"].to_numpy(),
        "rating": reviews["rating"].to_numpy(),
        "has_text": [t is not None for t in texts],
        "sentiment_score": pd.array(scores, dtype="Float64"),
        "sentiment": pd.array([sentiment_label(s) for s in scores], dtype="string"),
    })
