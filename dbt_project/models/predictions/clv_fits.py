"""BG/NBD and Gamma-Gamma fitted on the customer summary as of as_of: one row per model."""


from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.predictions import fit_models


def model(dbt, session):
    dbt.config(materialized="table")
    summary = model_frame(dbt.ref("int_clv_summary"), order_by=["customer_key"])
    runs = fit_models(summary).runs
    runs.insert(0, "as_of", model_as_of(dbt.config.get("as_of")))
    return runs
