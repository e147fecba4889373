"""Per-customer predictions from the CLV models: what the warehouse's prediction models run.

Input is the customer summary in weeks (``frequency``, ``recency``, ``t``, ``monetary_value``,
as the warehouse's ``int_clv_summary`` builds it). A store too young to fit (no repeat buyer
yet) gets a failed fit row with the reason and predictions left empty, never an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention import clv

WEEKS_PER_DAY = 1 / 7


@dataclass(frozen=True)
class PredictionSettings:
    horizon_days: int = 90  # expected purchases over this many days
    clv_months: int = 12
    discount_rate: float = 0.01  # monthly
    falling_window_days: int = 30  # P(alive) now against this many days ago
    churn_high_below: float = 0.3  # P(alive) under this = high churn risk
    churn_medium_below: float = 0.7
    one_time_at_risk_days: int = 90  # one-time buyers (P(alive) is 1 by the model's construction)
    one_time_lapsed_days: int = 180

    @classmethod
    def from_mapping(cls, values: dict) -> PredictionSettings:
        """From configuration (dbt vars arrive as text or numbers), each cast to its field's type."""
        defaults = cls()
        unknown = sorted(set(values) - set(vars(defaults)))
        if unknown:
            raise ValueError(f"unknown prediction setting(s) {unknown}; known: {sorted(vars(defaults))}")
        return cls(**{k: type(getattr(defaults, k))(v) for k, v in values.items()})


@dataclass(frozen=True)
class ModelFits:
    bg_nbd: clv.BetaGeoFit | None
    gamma_gamma: clv.GammaGammaFit | None
    runs: pd.DataFrame  # one row per model: model, status, parameters (JSON), log-likelihood, …


def _summary_arrays(summary: pd.DataFrame):
    return (
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["t"].to_numpy(float),
    )


def fit_models(summary: pd.DataFrame) -> ModelFits:
    """Fit BG/NBD on everyone and Gamma-Gamma on repeat buyers; failures become rows, not errors."""
    x, tx, T = _summary_arrays(summary)
    rows, bg, gg = [], None, None
    try:
        bg = clv.fit_bg_nbd(x, tx, T)
        rows.append(_run_row("bg_nbd", bg.params, bg.log_likelihood, bg.n_customers, bg.seconds))
    except (ValueError, clv.ConvergenceError) as exc:
        rows.append(_run_row("bg_nbd", {}, None, len(x), 0.0, error=str(exc)))
    repeat = x > 0
    try:
        gg = clv.fit_gamma_gamma(x[repeat], summary["monetary_value"].to_numpy(float)[repeat])
        rows.append(_run_row("gamma_gamma", gg.params, gg.log_likelihood, gg.n_customers, gg.seconds))
    except (ValueError, clv.ConvergenceError) as exc:
        rows.append(_run_row("gamma_gamma", {}, None, int(repeat.sum()), 0.0, error=str(exc)))
    # Typed, so a day whose fits all succeed (no error text) stores the same column types as one that fails.
    return ModelFits(bg, gg, pd.DataFrame(rows).astype(RUN_TYPES))


RUN_TYPES = {"model": "string", "status": "string", "parameters": "string", "log_likelihood": "float64",
             "customers": "int64", "seconds": "float64", "error": "string"}


def _run_row(model, params, log_likelihood, customers, seconds, error=None) -> dict:
    return {
        "model": model,
        "status": "failed" if error else "fitted",
        "parameters": json.dumps({k: round(float(v), 6) for k, v in params.items()}),
        "log_likelihood": None if log_likelihood is None else float(log_likelihood),
        "customers": int(customers),
        "seconds": round(float(seconds), 4),
        "error": error,
    }


def models_from_runs(runs: pd.DataFrame) -> tuple[clv.BetaGeoFit | None, clv.GammaGammaFit | None]:
    """The fitted models back from their stored parameters (None where the fit failed)."""
    fitted = {r.model: json.loads(r.parameters) for r in runs.itertuples() if r.status == "fitted"}
    bg = clv.BetaGeoFit.from_params(**fitted["bg_nbd"]) if "bg_nbd" in fitted else None
    gg = clv.GammaGammaFit.from_params(**fitted["gamma_gamma"]) if "gamma_gamma" in fitted else None
    return bg, gg


def predict(
    summary: pd.DataFrame,
    bg: clv.BetaGeoFit | None,
    gg: clv.GammaGammaFit | None,
    settings: PredictionSettings = PredictionSettings(),
) -> pd.DataFrame:
    """One row per customer: p_alive (now and a window ago), expected purchases, spend, CLV, churn band."""
    x, tx, T = _summary_arrays(summary)
    n = len(summary)
    out = pd.DataFrame({"customer_key": summary["customer_key"].to_numpy()})
    nan = np.full(n, np.nan)
    if bg is not None and n:
        p_alive = np.asarray(bg.p_alive(x, tx, T), float)
        # Someone who bought within the window had another history then; only compare quiet spells.
        window = settings.falling_window_days * WEEKS_PER_DAY
        quiet = (T - tx) >= window
        earlier = np.where(quiet, np.asarray(bg.p_alive(x, tx, np.maximum(T - window, tx)), float), np.nan)
        purchases = np.asarray(bg.expected_purchases(settings.horizon_days * WEEKS_PER_DAY, x, tx, T), float)
    else:
        p_alive, earlier, purchases = nan, nan, nan
    if gg is not None and gg.q <= 1:
        gg = None  # expected spend is undefined for q <= 1: leave spend and value empty
    if gg is not None and n:
        spend = np.asarray(gg.expected_spend(x, summary["monetary_value"].to_numpy(float)), float)
    else:
        spend = nan
    if bg is not None and gg is not None and n:
        value = np.asarray(
            clv.customer_lifetime_value(
                bg, gg, x, tx, T, summary["monetary_value"].to_numpy(float),
                months=settings.clv_months, discount_rate=settings.discount_rate,
            ),
            float,
        )
    else:
        value = nan
    out["frequency"] = x.astype(int)
    out["p_alive"] = p_alive
    out["p_alive_previous"] = earlier
    out["expected_purchases_90d"] = purchases
    out["expected_spend"] = spend
    out["predicted_clv_12m"] = value
    out["churn_risk"] = churn_band(x, p_alive, (T - tx) / WEEKS_PER_DAY, settings)
    return out


def churn_band(frequency, p_alive, days_since_last, settings: PredictionSettings) -> np.ndarray:
    """high / medium / low; 'unknown' without a model.

    BG/NBD puts P(alive) at 1 for anyone without a repeat purchase (nobody can drop out before
    their first repeat), so one-time buyers are banded by days since their purchase instead.
    """
    frequency = np.asarray(frequency, float)
    p_alive = np.asarray(p_alive, float)
    days = np.asarray(days_since_last, float)
    by_model = np.select(
        [np.isnan(p_alive), p_alive < settings.churn_high_below, p_alive < settings.churn_medium_below],
        ["unknown", "high", "medium"],
        "low",
    )
    by_age = np.select(
        [days > settings.one_time_lapsed_days, days > settings.one_time_at_risk_days], ["high", "medium"], "low"
    )
    return np.where(frequency > 0, by_model, by_age)


def calibration_by_frequency(calibration: pd.DataFrame, max_frequency: int = 7) -> tuple[pd.DataFrame, dict]:
    """Holdout check: fit on the calibration summary, predicted against actual holdout purchases.

    Returns the by-frequency table (label, customers, actual and predicted means and totals) and
    the calibration fit's parameters; an empty table when the calibration period cannot be fitted.
    """
    frame = calibration.rename(columns={"t_cal": "T_cal"})
    try:
        bg = clv.fit_bg_nbd(frame["frequency_cal"], frame["recency_cal"], frame["T_cal"])
    except (ValueError, clv.ConvergenceError) as exc:
        return pd.DataFrame(), {"error": str(exc)}
    table = clv.predicted_vs_actual_by_frequency(bg, frame, max_frequency=max_frequency).reset_index()
    return table, bg.params
