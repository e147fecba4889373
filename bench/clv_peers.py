"""The project's CLV fits and customer summary beside the peers' (bench/peer_env.py), on the
same files: the checks that say whether the two agree, and the project's side of the fit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

# Maximum relative difference allowed between the project's parameters and a peer's. lifetimes
# maximises the same likelihood with another optimiser; pymc-marketing's MAP adds the models'
# default priors, which pull a little on a small store, so it is held to a looser bound.
PARAM_TOLERANCE = {"lifetimes": 1e-3, "pymc_marketing": 5e-2}
MODELS = {"bg_nbd": ("r", "alpha", "a", "b"), "gamma_gamma": ("p", "q", "gamma")}


def fit_project(summary: pd.DataFrame) -> dict:
    """BG/NBD and Gamma-Gamma by maximum likelihood, timed as the peers time theirs (the fits alone)."""
    from bench.stages import _fit_with_fallback
    from retention.clv import fit_bg_nbd, fit_gamma_gamma

    started, cpu_started = time.perf_counter(), time.process_time()
    bg, bg_penalizer = _fit_with_fallback(fit_bg_nbd, summary["frequency"], summary["recency"], summary["T"])
    bg_done = time.perf_counter()
    repeat = summary[summary["frequency"] > 0]
    gg, gg_penalizer = _fit_with_fallback(fit_gamma_gamma, repeat["frequency"], repeat["monetary_value"])
    done = time.perf_counter()
    return {"bg_nbd": bg.params, "gamma_gamma": gg.params, "penalizer": {"bg_nbd": bg_penalizer,
                                                                          "gamma_gamma": gg_penalizer},
            "bg_nbd_s": bg_done - started, "gamma_gamma_s": done - bg_done, "fit_s": done - started,
            "fit_cpu_s": time.process_time() - cpu_started,
            "customers": len(summary), "repeat_customers": len(repeat)}


def relative_differences(reference: dict, other: dict) -> dict[str, float]:
    """|other - reference| / reference for every parameter of both models."""
    return {name: abs(other[model][name] - reference[model][name]) / abs(reference[model][name])
            for model, names in MODELS.items() for name in names}


def log_likelihood_gap(summary: pd.DataFrame, reference: dict, other: dict) -> dict[str, float]:
    """How much less likely the data are at ``other``'s parameters than at ``reference``'s, per
    customer, by the project's own likelihoods: 0 when both found the same maximum."""
    from retention.clv import bg_nbd_log_likelihood, gamma_gamma_log_likelihood

    repeat = summary[summary["frequency"] > 0]
    bg = [bg_nbd_log_likelihood(p["bg_nbd"], summary["frequency"], summary["recency"], summary["T"])
          for p in (reference, other)]
    gg = [gamma_gamma_log_likelihood(p["gamma_gamma"], repeat["frequency"], repeat["monetary_value"])
          for p in (reference, other)]
    return {"bg_nbd": (bg[0] - bg[1]) / len(summary), "gamma_gamma": (gg[0] - gg[1]) / max(len(repeat), 1)}


def compare_fits(summary: pd.DataFrame, project: dict, peer: str, result: dict) -> dict:
    """The peer's parameters against the project's: the largest relative difference, the
    log-likelihood given up, and whether it is within the peer's stated tolerance."""
    diffs = relative_differences(project, result)
    worst = max(diffs, key=diffs.get)
    return {"max_relative_difference": diffs[worst], "worst_parameter": worst, "tolerance": PARAM_TOLERANCE[peer],
            "agrees": bool(diffs[worst] <= PARAM_TOLERANCE[peer]),
            "log_likelihood_gap_per_customer": log_likelihood_gap(summary, project, result),
            "relative_differences": diffs}


def recovery(fitted: dict, truth: dict) -> dict[str, float]:
    """Relative error of each fitted parameter against the generating one (synthetic data)."""
    return relative_differences(truth, fitted)


def read_summary(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def summary_to_parquet(summary: pd.DataFrame, path: Path) -> Path:
    """The customer summary every side fits on, columns as lifetimes names them."""
    frame = summary[["frequency", "recency", "T", "monetary_value"]].copy()
    frame["frequency"] = frame["frequency"].astype(np.int64)
    frame.to_parquet(path)
    return path
