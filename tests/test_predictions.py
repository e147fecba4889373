"""retention.predictions: fits become rows (failures too), predictions and churn bands per customer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retention import clv
from retention.predictions import (
    PredictionSettings,
    calibration_by_frequency,
    churn_band,
    fit_models,
    models_from_runs,
    predict,
)

SETTINGS = PredictionSettings()


def _simulated_summary(n=4000, seed=3):
    """Customers drawn from BG/NBD with known parameters (weeks), spend from Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.75, 13.0, 1.2, 3.2
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 78, n)
    frequency = np.zeros(n)
    recency = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            frequency[i] += 1
            recency[i] = t
            if rng.random() < p[i]:
                break
    nu = rng.gamma(4.0, 1 / 37.5, n)
    spend = np.where(frequency > 0, rng.gamma(6.0 * np.maximum(frequency, 1), 1 / (nu * np.maximum(frequency, 1))), 0)
    return pd.DataFrame({"customer_key": [f"c{i}" for i in range(n)], "frequency": frequency, "recency": recency,
                         "t": T, "monetary_value": spend})


@pytest.fixture(scope="module")
def summary():
    return _simulated_summary()


def test_fit_models_records_both_models_and_recovers_parameters(summary):
    fits = fit_models(summary)
    assert list(fits.runs["model"]) == ["bg_nbd", "gamma_gamma"]
    assert set(fits.runs["status"]) == {"fitted"}
    params = json.loads(fits.runs.loc[0, "parameters"])
    assert params["r"] == pytest.approx(0.75, rel=0.25)
    assert params["alpha"] == pytest.approx(13.0, rel=0.3)
    assert fits.runs.loc[1, "customers"] == int((summary["frequency"] > 0).sum())
    bg, gg = models_from_runs(fits.runs)
    assert bg.params == pytest.approx(fits.bg_nbd.params, rel=1e-5)
    assert gg.params == pytest.approx(fits.gamma_gamma.params, rel=1e-5)


def test_predictions_per_customer(summary):
    fits = fit_models(summary)
    out = predict(summary, fits.bg_nbd, fits.gamma_gamma, SETTINGS)
    assert len(out) == len(summary) and out["customer_key"].is_unique
    assert out["p_alive"].between(0, 1).all()
    assert (out.loc[summary["frequency"] == 0, "p_alive"] == 1).all()  # the model's construction
    assert (out["predicted_clv_12m"] >= 0).all() and (out["expected_purchases_90d"] >= 0).all()
    # the value is the library's formula, not a re-derivation
    expected = clv.customer_lifetime_value(fits.bg_nbd, fits.gamma_gamma, summary["frequency"], summary["recency"],
                                           summary["t"], summary["monetary_value"], months=12, discount_rate=0.01)
    np.testing.assert_allclose(out["predicted_clv_12m"], expected)
    # P(alive) a window ago exists only for quiet spells, and is never below today's
    quiet = (summary["t"] - summary["recency"]) >= 30 / 7
    assert out.loc[~quiet, "p_alive_previous"].isna().all()
    both = out.loc[quiet & (summary["frequency"] > 0)]
    assert (both["p_alive_previous"] >= both["p_alive"] - 1e-12).all()


def test_store_too_young_to_fit_gives_failed_rows_and_empty_predictions():
    summary = pd.DataFrame({"customer_key": ["a", "b"], "frequency": [0.0, 0.0], "recency": [0.0, 0.0],
                            "t": [2.0, 5.0], "monetary_value": [0.0, 0.0]})
    fits = fit_models(summary)
    assert list(fits.runs["status"]) == ["failed", "failed"]
    assert "no customer has a repeat purchase" in fits.runs.loc[0, "error"]
    assert models_from_runs(fits.runs) == (None, None)
    out = predict(summary, None, None, SETTINGS)
    assert out["p_alive"].isna().all() and out["predicted_clv_12m"].isna().all()
    assert list(out["churn_risk"]) == ["low", "low"]  # one-time buyers are banded by age, model or not


def test_fits_that_succeed_and_fits_that_fail_store_the_same_column_types(summary):
    """clv_model_runs keeps every day's rows: a first day with no error text must not type the error
    column so that a later day's failure cannot be stored."""
    import duckdb

    young = pd.DataFrame({"customer_key": ["a"], "frequency": [0.0], "recency": [0.0], "t": [2.0],
                          "monetary_value": [0.0]})
    fitted, failed = fit_models(summary).runs, fit_models(young).runs
    assert set(fitted["status"]) == {"fitted"} and set(failed["status"]) == {"failed"}
    with duckdb.connect() as con:
        types = [con.sql("select * from frame").types for frame in (fitted, failed)]
    assert types[0] == types[1] and "NULL" not in map(str, types[0])


@pytest.mark.parametrize(
    "frequency, p_alive, days, band",
    [
        (2, 0.29, 10, "high"),
        (2, 0.30, 10, "medium"),
        (2, 0.69, 10, "medium"),
        (2, 0.70, 400, "low"),  # repeat buyers follow the model, not the calendar
        (2, np.nan, 10, "unknown"),
        (0, 1.0, 90, "low"),
        (0, 1.0, 91, "medium"),
        (0, 1.0, 181, "high"),
    ],
)
def test_churn_band_edges(frequency, p_alive, days, band):
    assert churn_band([frequency], [p_alive], [days], SETTINGS)[0] == band


def test_settings_from_configuration_text():
    settings = PredictionSettings.from_mapping({"horizon_days": "60", "discount_rate": "0.02"})
    assert settings.horizon_days == 60 and settings.discount_rate == 0.02
    with pytest.raises(ValueError, match="no_such_setting"):
        PredictionSettings.from_mapping({"no_such_setting": 1})


def test_calibration_table_and_unfittable_period(summary):
    holdout = np.random.default_rng(1).poisson(0.4, len(summary))
    cal = pd.DataFrame({"frequency_cal": summary["frequency"], "recency_cal": summary["recency"], "t_cal": summary["t"],
                        "frequency_holdout": holdout, "duration_holdout": 13.0})
    table, params = calibration_by_frequency(cal)
    assert set(params) == {"r", "alpha", "a", "b"}
    assert table.iloc[-1]["label"] == "total" and table.iloc[-1]["actual_total"] == holdout.sum()
    empty, reason = calibration_by_frequency(cal.assign(frequency_cal=0, recency_cal=0))
    assert empty.empty and "repeat purchase" in reason["error"]
