"""Per-customer P(alive), expected purchases, spend, 12-month CLV and churn band, from clv_fits."""


from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.predictions import PredictionSettings, models_from_runs, predict


def model(dbt, session):
    dbt.config(materialized="table")
    summary = model_frame(dbt.ref("int_clv_summary"))
    bg, gg = models_from_runs(model_frame(dbt.ref("clv_fits")))
    settings = PredictionSettings.from_mapping(dbt.config.get("settings"))
    out = predict(summary, bg, gg, settings)
    out["as_of"] = model_as_of(dbt.config.get("as_of"))
    return out
