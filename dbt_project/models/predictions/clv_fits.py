"""BG/NBD and Gamma-Gamma fitted on the customer summary as of as_of: one row per model."""

import pandas as pd

from retention.engines.frames import model_frame
from retention.predictions import fit_models


def model(dbt, session):
    dbt.config(materialized="table")
    summary = model_frame(dbt.ref("int_clv_summary"), order_by=["customer_key"])
    runs = fit_models(summary).runs
    runs.insert(0, "as_of", pd.Timestamp(dbt.config.get("as_of")).date())
    return runs
