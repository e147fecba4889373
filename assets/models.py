"""Metadata for the prediction models, which dbt builds (models/predictions) with retention.clv.

The fitted parameters go on `clv_fits` and the holdout calibration plot on `clv_calibration`, so
the asset pages show parameter drift and fit quality at a glance. Read-only, after dbt exits.
"""

import json
from pathlib import Path

import dagster as dg
import duckdb

from retention.charts import calibration_plot, png_markdown
from retention.duckdb_config import connect

CLV_FITS = dg.AssetKey("clv_fits")
CLV_CALIBRATION = dg.AssetKey("clv_calibration")


def prediction_metadata(warehouse: Path) -> dict[dg.AssetKey, dict]:
    if not warehouse.exists():
        return {}
    with connect(warehouse, read_only=True) as con:
        try:
            fits = con.sql("select * from clv_fits").df()
            calibration = con.sql("select * from clv_calibration order by frequency_cal").df()
        except duckdb.Error:
            return {}  # not built in this run (a partial selection)
    metadata: dict[dg.AssetKey, dict] = {CLV_FITS: {}, CLV_CALIBRATION: {}}
    for fit in fits.itertuples():
        if fit.status == "fitted":
            for name, value in json.loads(fit.parameters).items():
                metadata[CLV_FITS][f"{fit.model}/{name}"] = dg.MetadataValue.float(value)
            metadata[CLV_FITS][f"{fit.model}/log_likelihood"] = dg.MetadataValue.float(fit.log_likelihood)
        else:
            metadata[CLV_FITS][f"{fit.model}/error"] = dg.MetadataValue.text(str(fit.error))
    if len(calibration):
        total = calibration[calibration["frequency_cal"] < 0].iloc[0]
        metadata[CLV_CALIBRATION] = {
            "holdout_purchases_actual": dg.MetadataValue.float(float(total["actual_total"])),
            "holdout_purchases_predicted": dg.MetadataValue.float(float(total["predicted_total"])),
            "calibration_plot": dg.MetadataValue.md(png_markdown(calibration_plot(calibration), "calibration plot")),
        }
    return metadata
