"""Calibration/holdout split of a transaction log and the predicted-vs-actual check by frequency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention.clv.bgnbd import BetaGeoFit
from retention.clv.inputs import _check_time_unit
from retention.clv.summaries import _daily, _summarize_daily, _to_day


def calibration_holdout(
    transactions: pd.DataFrame,
    customer_col: str,
    datetime_col: str,
    monetary_col: str | None,
    calibration_end,
    observation_end,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Split a transaction log for a holdout check.

    One row per customer who purchased on or before ``calibration_end``: ``frequency_cal``,
    ``recency_cal``, ``T_cal`` (and ``monetary_value_cal``) as summarize_transactions at
    calibration_end, plus ``frequency_holdout`` (purchase days in (calibration_end,
    observation_end]), ``monetary_value_holdout`` (mean spend per holdout purchase day, 0 when
    none) and ``duration_holdout`` (observation_end - calibration_end in time_unit).
    """
    unit_days = _check_time_unit(time_unit)
    daily, tz = _daily(transactions, customer_col, datetime_col, monetary_col)
    cal_day, _ = _to_day(calibration_end, "calibration_end", tz)
    obs_day, _ = _to_day(observation_end, "observation_end", tz)
    if obs_day <= cal_day:
        raise ValueError("observation_end must be after calibration_end")
    monetary = monetary_col is not None
    cal = _summarize_daily(daily, cal_day, unit_days, monetary, customer_col)
    if cal.empty:
        raise ValueError("no transactions on or before calibration_end")
    cal.columns = [f"{c}_cal" for c in cal.columns]
    hold = daily[(daily["day"] > cal_day) & (daily["day"] <= obs_day)]
    hg = hold.groupby("customer")
    counts = hg["day"].size().reindex(cal.index, fill_value=0)
    cal["frequency_holdout"] = counts.astype("int64").to_numpy()
    if monetary:
        spend = hg["spend"].mean().reindex(cal.index, fill_value=0.0)
        cal["monetary_value_holdout"] = spend.to_numpy()
    cal["duration_holdout"] = (obs_day - cal_day).days / unit_days
    return cal


def predicted_vs_actual_by_frequency(
    bg_nbd: BetaGeoFit, cal_holdout: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Holdout purchases predicted by ``bg_nbd`` against actual, by calibration frequency.

    ``cal_holdout`` is calibration_holdout's frame. Rows are calibration frequencies 0 ..
    max_frequency, the last bin holding every customer with frequency >= max_frequency (label
    "7+"), then a final "total" row. Columns: ``label``, ``n_customers``, ``actual_mean``,
    ``predicted_mean``, ``actual_total``, ``predicted_total``. Index ``frequency_cal`` (the
    bin's lower frequency; -1 for the total row).
    """
    need = [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "frequency_holdout",
        "duration_holdout",
    ]
    missing = [c for c in need if c not in cal_holdout.columns]
    if missing:
        raise ValueError(
            f"cal_holdout has no column(s) {missing}; use calibration_holdout()"
        )
    if max_frequency < 1:
        raise ValueError("max_frequency must be >= 1")
    if len(cal_holdout) == 0:
        raise ValueError("cal_holdout is empty")
    predicted = np.asarray(
        bg_nbd.expected_purchases(
            cal_holdout["duration_holdout"].to_numpy(float),
            cal_holdout["frequency_cal"].to_numpy(float),
            cal_holdout["recency_cal"].to_numpy(float),
            cal_holdout["T_cal"].to_numpy(float),
        ),
        dtype=float,
    )
    frame = pd.DataFrame(
        {
            "bin": np.minimum(
                cal_holdout["frequency_cal"].to_numpy(), max_frequency
            ).astype(int),
            "actual": cal_holdout["frequency_holdout"].to_numpy(float),
            "predicted": predicted,
        }
    )
    # sorted by value, so the float sums (and their last digits) do not depend on row order:
    # the same customers read in another order give the same table
    frame = frame.sort_values(["bin", "predicted", "actual"], ignore_index=True)
    g = frame.groupby("bin")
    out = pd.DataFrame(
        {
            "n_customers": g.size(),
            "actual_total": g["actual"].sum(),
            "predicted_total": g["predicted"].sum(),
        }
    ).reindex(range(max_frequency + 1), fill_value=0)
    out.loc[-1] = [len(frame), frame["actual"].sum(), frame["predicted"].sum()]
    n = out["n_customers"].replace(0, np.nan)
    out["actual_mean"] = out["actual_total"] / n
    out["predicted_mean"] = out["predicted_total"] / n
    out["n_customers"] = out["n_customers"].astype("int64")
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+", "total"]
    out.insert(0, "label", labels)
    out.index.name = "frequency_cal"
    return out[
        [
            "label",
            "n_customers",
            "actual_mean",
            "predicted_mean",
            "actual_total",
            "predicted_total",
        ]
    ]
