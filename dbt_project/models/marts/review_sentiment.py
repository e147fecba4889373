"""One row per review (as of as_of) with its VADER sentiment (retention/sentiment.py); metrics_daily
aggregates it per day."""


from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.sentiment import score_reviews


def model(dbt, session):
    dbt.config(materialized="table")
    reviews = model_frame(dbt.ref("stg_reviews__reviews"), columns=["review_id", "created_at", "rating", "title", "body"])
    out = score_reviews(reviews)
    out["as_of"] = model_as_of(dbt.config.get("as_of"))
    return out
