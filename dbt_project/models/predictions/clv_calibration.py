"""Holdout check as of as_of: fitted on the purchases up to clv_holdout_days ago, the purchases
predicted over the holdout against those made, by calibration frequency."""

import json

import pandas as pd

from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.predictions import calibration_by_frequency


def model(dbt, session):
    dbt.config(materialized="table")
    table, params = calibration_by_frequency(model_frame(dbt.ref("int_clv_calibration"), order_by=["customer_key"]))
    if table.empty:
        table = pd.DataFrame(columns=["frequency_cal", "label", "n_customers", "actual_mean", "predicted_mean",
                                      "actual_total", "predicted_total"])
    table["calibration_parameters"] = json.dumps(params)
    table["as_of"] = model_as_of(dbt.config.get("as_of"))
    return table
