"""Customer lifetime value: BG/NBD purchase counts and Gamma-Gamma spend.

Pure numpy/scipy (pandas only for the transaction summaries); no Dagster import.

Models
------
* BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"):
  while alive a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate alpha)``;
  after each repeat purchase they drop out for good with probability ``p ~ Beta(a, b)``.
  Data per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time from first to last
  purchase) and ``T`` (time from first purchase to the end of observation).
* Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a customer's
  purchase amounts are ``Gamma(p, rate nu)`` with ``nu ~ Gamma(q, rate gamma)``; fitted on the
  mean repeat spend of customers with ``frequency > 0``.

Both fits are maximum likelihood on log-parameters (L-BFGS-B with analytic gradients, then a
few Newton steps on a finite-difference Hessian of the analytic gradient). Customers with
identical data are grouped and the log-likelihood is weighted by the group sizes, and every
term that depends on ``frequency`` only is computed once per distinct frequency, so a million
customers fit in seconds.

Time units: ``"D"`` (days) or ``"W"`` (weeks = days / 7). A fitted model is in the unit of the
data it was fitted on; every horizon you give it (``t``, ``months`` via ``time_unit``) must be
in the same unit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "BetaGeoFit",
    "ConvergenceError",
    "GammaGammaFit",
    "bg_nbd_log_likelihood",
    "calibration_holdout",
    "customer_lifetime_value",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "predicted_vs_actual_by_frequency",
    "summarize_transactions",
]

TIME_UNITS = {"D": 1.0, "W": 7.0}  # days per unit
DAYS_PER_MONTH = 30.0

_LOG_BOUND = 25.0  # |log parameter| bound for the optimiser
# a fitted parameter outside [1e-6, 1e6] means the likelihood has no interior maximum
_DEGENERATE = math.log(1e6)


class ConvergenceError(RuntimeError):
    """The maximum-likelihood fit did not converge (or ran to a parameter bound)."""


# --------------------------------------------------------------------------------------------
# input checking
# --------------------------------------------------------------------------------------------


def _check_time_unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        )
    return TIME_UNITS[time_unit]


def _as_float_array(values: Any, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name} has {bad} missing or non-finite value(s)")
    return arr


def _check_rft(frequency: Any, recency: Any, T: Any, *, allow_empty: bool = False):
    """Validate (frequency, recency, T); return float arrays of a common length."""
    x = _as_float_array(frequency, "frequency")
    tx = _as_float_array(recency, "recency")
    TT = _as_float_array(T, "T")
    # scalars broadcast; arrays must have one value per customer
    sizes = {
        a.size for a, v in ((x, frequency), (tx, recency), (TT, T)) if np.ndim(v) > 0
    }
    if len(sizes) > 1:
        raise ValueError(
            f"frequency, recency and T must have the same length, got {x.size}, {tx.size}, {TT.size}"
        )
    n = sizes.pop() if sizes else 1
    x, tx, TT = (np.broadcast_to(a, (n,)) for a in (x, tx, TT))
    if n == 0 and not allow_empty:
        raise ValueError("no customers: frequency, recency and T are empty")
    if np.any(x < 0):
        raise ValueError(
            f"frequency must be >= 0 ({int(np.sum(x < 0))} negative value(s))"
        )
    if np.any(x != np.round(x)):
        raise ValueError("frequency must be a whole number of repeat purchases")
    if np.any(tx < 0):
        raise ValueError(
            f"recency must be >= 0 ({int(np.sum(tx < 0))} negative value(s))"
        )
    if np.any(TT < 0):
        raise ValueError(f"T must be >= 0 ({int(np.sum(TT < 0))} negative value(s))")
    tol = 1e-9 * np.maximum(1.0, TT)
    if np.any(tx > TT + tol):
        raise ValueError(
            f"recency must be <= T ({int(np.sum(tx > TT + tol))} customer(s) with recency > T); "
            "are the columns swapped, or T measured to a date before the last purchase?"
        )
    if np.any((x == 0) & (tx > 0)):
        raise ValueError("customers with frequency 0 must have recency 0")
    return x, np.minimum(tx, TT), TT


def _check_horizon(t: Any) -> np.ndarray:
    arr = _as_float_array(t, "t")
    if np.any(arr < 0):
        raise ValueError("the horizon t must be >= 0")
    return arr


def _like(result: np.ndarray, *inputs: Any):
    """Return a pandas Series (with the input's index) when any input was a Series."""
    for value in inputs:
        if isinstance(value, pd.Series) and len(value) == result.size:
            return pd.Series(result, index=value.index)
    if result.size == 1 and all(np.ndim(v) == 0 for v in inputs):
        return float(result[0])
    return result


def _group_rows(*columns: np.ndarray):
    """Distinct rows of the given columns: (list of unique columns, counts, inverse)."""
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for col in columns:
        s = col[order]
        changed[1:] |= s[1:] != s[:-1]
    starts = np.flatnonzero(changed)
    counts = np.diff(np.append(starts, n)).astype(float)
    uniq = [col[order][starts] for col in columns]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(changed) - 1
    return uniq, counts, inverse


# --------------------------------------------------------------------------------------------
# optimisation (shared)
# --------------------------------------------------------------------------------------------


def _maximise(
    fun_grad, x0: np.ndarray, names: tuple[str, ...], n: float, penalizer: float
):
    """Maximise sum log-likelihood over log-parameters.

    ``fun_grad(theta)`` returns (LL, dLL/dtheta) in natural parameters. Works on the mean
    log-likelihood per customer so tolerances do not depend on the number of customers.
    Returns (theta, LL, info dict).
    """

    def objective(u):
        theta = np.exp(u)
        ll, g = fun_grad(theta)
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(u)
        f = -ll / n + penalizer * np.sum(theta**2)
        gu = -(g * theta) / n + 2.0 * penalizer * theta**2
        return f, gu

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
    best = None
    starts = [np.asarray(x0, dtype=float)]
    tried = []
    for start in starts + [None]:
        if (
            start is None
        ):  # fallback: Nelder-Mead from the best point so far, then L-BFGS-B again
            if best is None:
                break
            nm = optimize.minimize(
                lambda u: objective(u)[0],
                best.x,
                method="Nelder-Mead",
                options={
                    "xatol": 1e-10,
                    "fatol": 1e-14,
                    "maxiter": 20000,
                    "maxfev": 40000,
                },
            )
            start = np.clip(nm.x, -_LOG_BOUND, _LOG_BOUND)
        res = optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )
        tried.append(res)
        if best is None or res.fun < best.fun:
            best = res
        if np.isfinite(best.fun) and np.max(np.abs(best.jac)) < 1e-6:
            break

    u = best.x.copy()
    f = best.fun
    if not np.isfinite(f):
        raise ConvergenceError(
            "the log-likelihood is not finite at any point the optimiser tried"
        )

    # polish: Newton steps with a central-difference Hessian of the analytic gradient
    hess = None
    for _ in range(8):
        hess = _fd_hessian(lambda v: objective(v)[1], u)
        g = objective(u)[1]
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        improved = False
        for scale in (1.0, 0.5, 0.25):
            cand = np.clip(u + scale * step, -_LOG_BOUND, _LOG_BOUND)
            fc = objective(cand)[0]
            if fc <= f:
                u, f, improved = cand, fc, True
                break
        if not improved or np.max(np.abs(step)) < 1e-12:
            break
    grad = objective(u)[1]
    hess = _fd_hessian(lambda v: objective(v)[1], u)

    theta = np.exp(u)
    at_bound = np.abs(u) > _DEGENERATE
    if np.any(at_bound):
        which = ", ".join(
            f"{nm}={th:.4g}" for nm, th, b in zip(names, theta, at_bound) if b
        )
        raise ConvergenceError(
            f"maximum likelihood ran off to a parameter bound ({which}): the data do not identify "
            "the model (too few customers or repeat purchases, no sign of dropout or of spend "
            "heterogeneity?); try a penalizer > 0"
        )
    gmax = float(np.max(np.abs(grad)))
    if not np.isfinite(gmax) or gmax > 1e-4:
        raise ConvergenceError(
            f"the optimiser did not converge (max |gradient| of the mean log-likelihood = {gmax:.3g}, "
            f"message: {best.message!r}, parameters {dict(zip(names, np.round(theta, 6)))})"
        )
    ll = -(f - penalizer * np.sum(theta**2)) * n
    info = {
        "iterations": int(sum(r.nit for r in tried)),
        "function_evaluations": int(sum(r.nfev for r in tried)),
        "max_abs_gradient": gmax,
        "hessian_log": hess,
    }
    return theta, float(ll), info


def _fd_hessian(grad, u: np.ndarray) -> np.ndarray:
    k = u.size
    h = np.empty((k, k))
    for i in range(k):
        eps = 1e-5 * max(1.0, abs(u[i]))
        e = np.zeros(k)
        e[i] = eps
        h[:, i] = (grad(u + e) - grad(u - e)) / (2 * eps)
    return 0.5 * (h + h.T)


def _standard_errors(
    theta: np.ndarray, hess_log: np.ndarray, n: float, names
) -> dict[str, float]:
    """Asymptotic standard errors from the Hessian of the mean negative LL in log-parameters."""
    try:
        cov_log = np.linalg.inv(hess_log * n)
    except np.linalg.LinAlgError:
        return {nm: float("nan") for nm in names}
    var = np.diag(cov_log) * theta**2  # delta method: d theta / d log theta = theta
    return {
        nm: float(np.sqrt(v)) if v >= 0 else float("nan") for nm, v in zip(names, var)
    }


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


@dataclass
class _BGData:
    x: np.ndarray  # per group
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    ux: np.ndarray  # distinct frequencies
    W: np.ndarray  # total weight per distinct frequency
    xi: np.ndarray  # group -> index into ux
    pos: np.ndarray  # x > 0 per group
    n: float


def _bg_data(x, tx, T, weights=None, group=True) -> _BGData:
    if weights is None:
        weights = np.ones_like(x)
    if group:
        (gx, gtx, gT), _, inv = _group_rows(x, tx, T)
        w = np.bincount(inv, weights=weights, minlength=gx.size)
        keep = w > 0
        x, tx, T, w = gx[keep], gtx[keep], gT[keep], w[keep]
    else:
        w = np.asarray(weights, dtype=float)
    ux, xi = np.unique(x, return_inverse=True)
    W = np.bincount(xi, weights=w, minlength=ux.size)
    return _BGData(x, tx, T, w, ux, W, xi, x > 0, float(w.sum()))


def _bg_loglik(theta, d: _BGData, need_grad: bool = True):
    r, alpha, a, b = theta
    ux, W, xi, x, w = d.ux, d.W, d.xi, d.x, d.w
    # terms depending on frequency only (one per distinct frequency)
    blab = special.betaln(a, b)
    c_x = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha)
    b1_x = special.betaln(a, b + ux) - blab
    upos = ux > 0
    b2_x = np.full(ux.shape, -np.inf)
    b2_x[upos] = special.betaln(a + 1, b + ux[upos] - 1) - blab
    # per-group terms
    lT = np.log(alpha + d.T)
    ltx = np.log(alpha + d.tx)
    rx = r + x
    A1 = b1_x[xi] - rx * lT
    A2 = b2_x[xi] - rx * ltx
    lse = np.logaddexp(A1, A2)
    ll = float(np.dot(W, c_x) + np.dot(w, lse))
    if not need_grad:
        return ll, None
    pi2 = np.exp(A2 - lse)  # posterior weight of "dropped out after the last purchase"
    pi1 = 1.0 - pi2
    wpi2 = w * pi2
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + ux)
    g_r = np.dot(
        W, special.digamma(r + ux) - special.digamma(r) + np.log(alpha)
    ) - np.dot(w, pi1 * lT + pi2 * ltx)
    g_alpha = d.n * r / alpha - np.dot(
        w * rx, pi1 / (alpha + d.T) + pi2 / (alpha + d.tx)
    )
    g_a = np.dot(W, psi_ab - psi_abx) + wpi2.sum() / a
    bx1 = np.where(d.pos, b + x - 1, 1.0)
    g_b = np.dot(
        W, special.digamma(b + ux) - special.digamma(b) + psi_ab - psi_abx
    ) - np.sum(wpi2[d.pos] / bx1[d.pos])
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def bg_nbd_log_likelihood(
    params, frequency, recency, T, *, group: bool = True
) -> float:
    """Total BG/NBD log-likelihood (FHL 2005 eq. 6) at ``params`` = dict or (r, alpha, a, b)."""
    theta = _bg_theta(params)
    x, tx, TT = _check_rft(frequency, recency, T)
    return _bg_loglik(theta, _bg_data(x, tx, TT, group=group), need_grad=False)[0]


def _bg_theta(params) -> np.ndarray:
    if isinstance(params, dict):
        params = [params[k] for k in ("r", "alpha", "a", "b")]
    theta = np.asarray(params, dtype=float)
    if theta.shape != (4,) or not np.all(np.isfinite(theta)) or np.any(theta <= 0):
        raise ValueError(
            f"BG/NBD parameters (r, alpha, a, b) must be 4 positive numbers, got {params!r}"
        )
    return theta


def _hyp2f1_bracket(a, A, C, z):
    """(1 - (1-z)^(a-1) * 2F1(A, a-1; C; z)) / (a-1), continuous through a = 1."""

    def at(aa):
        B = aa - 1.0
        f = special.hyp2f1(A, B, C, z)
        lead = B * np.log1p(-z)
        with np.errstate(invalid="ignore", divide="ignore"):
            # 1 - (1-z)^B f, via expm1 where f > 0 (2F1 can be negative when C < 0)
            one_minus = np.where(
                f > 0,
                -np.expm1(lead + np.log(np.where(f > 0, f, 1.0))),
                1.0 - np.exp(lead) * f,
            )
        return one_minus / B

    if abs(a - 1.0) < 1e-6:
        h = 1e-4
        return 0.5 * (at(1.0 + h) + at(1.0 - h))
    return at(a)


@dataclass
class BetaGeoFit:
    """A fitted BG/NBD model (parameters in the time unit of the data it was fitted on)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int = 0
    n_groups: int = 0
    seconds: float = 0.0
    iterations: int = 0
    penalizer: float = 0.0
    standard_errors: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> BetaGeoFit:
        """A model at given parameters (e.g. published ones), without fitting."""
        theta = _bg_theta([r, alpha, a, b])
        return cls(*map(float, theta), log_likelihood=float("nan"))

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def _theta(self):
        return self.r, self.alpha, self.a, self.b

    def log_likelihood_of(self, frequency, recency, T) -> float:
        """Total log-likelihood of other data at these parameters."""
        return bg_nbd_log_likelihood(self.params, frequency, recency, T)

    def _log_odds_dead(self, x, tx, TT):
        r, alpha, a, b = self._theta()
        out = np.full(x.shape, -np.inf)
        pos = x > 0
        xp = x[pos]
        out[pos] = (
            np.log(a)
            - np.log(b + xp - 1)
            + (r + xp) * (np.log(alpha + TT[pos]) - np.log(alpha + tx[pos]))
        )
        return out

    def p_alive(self, frequency, recency, T):
        """P(still active at T | x, t_x, T); 1 for customers with no repeat purchase."""
        x, tx, TT = _check_rft(frequency, recency, T, allow_empty=True)
        return _like(
            special.expit(-self._log_odds_dead(x, tx, TT)), frequency, recency, T
        )

    def expected_purchases(self, t, frequency, recency, T):
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005 eq. 10).

        Evaluated in the Euler-transformed form
        (a+b+x-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)] * P(alive),
        z = t / (alpha + T + t), which equals eq. 10 and stays finite for frequent buyers.
        """
        x, tx, TT = _check_rft(frequency, recency, T, allow_empty=True)
        tt = _check_horizon(t)
        try:
            x, tx, TT, tt = np.broadcast_arrays(x, tx, TT, tt)
        except ValueError:
            raise ValueError(
                "t must be a scalar or have one value per customer"
            ) from None
        r, alpha, a, b = self._theta()
        z = tt / (alpha + TT + tt)
        bracket = _hyp2f1_bracket(a, a + b - 1 - r, a + b + x - 1, z)
        e = (a + b + x - 1) * bracket * special.expit(-self._log_odds_dead(x, tx, TT))
        e = np.where(tt == 0, 0.0, e)
        return _like(np.asarray(e, dtype=float), frequency, recency, T, t)

    def expected_purchases_new(self, t):
        """E[X(t)]: expected repeat purchases of a new customer in (0, t] (FHL 2005 eq. 9)."""
        tt = _check_horizon(t)
        r, alpha, a, b = self._theta()
        z = tt / (alpha + tt)
        # (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))], Euler-transformed
        e = (a + b - 1) * _hyp2f1_bracket(a, a + b - 1 - r, a + b - 1, z)
        e = np.where(tt == 0, 0.0, e)
        return _like(np.asarray(e, dtype=float), t)


def fit_bg_nbd(
    frequency, recency, T, *, penalizer: float = 0.0, weights=None
) -> BetaGeoFit:
    """Maximum-likelihood BG/NBD fit.

    ``frequency`` (repeat purchases), ``recency`` and ``T`` (same time unit) are array-likes of
    one value per customer (or per group with ``weights`` = group sizes). ``penalizer`` adds
    ``penalizer * sum(params**2)`` to the mean negative log-likelihood (as lifetimes does);
    0 = plain maximum likelihood. Raises ValueError on invalid data and ConvergenceError if
    the optimiser does not converge to an interior maximum.
    """
    t0 = time.perf_counter()
    x, tx, TT = _check_rft(frequency, recency, T)
    if weights is not None:
        weights = _as_float_array(weights, "weights")
        if weights.size != x.size or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("weights must be >= 0, one per row, not all 0")
    if penalizer < 0:
        raise ValueError("penalizer must be >= 0")
    if not np.any(x > 0):
        raise ValueError("no customer has a repeat purchase: BG/NBD cannot be fitted")
    data = _bg_data(x, tx, TT, weights)
    # start: a rough purchase rate for r/alpha, a = b = 1
    rate = max(float(np.dot(data.w, data.x) / max(np.dot(data.w, data.T), 1e-12)), 1e-6)
    x0 = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    names = ("r", "alpha", "a", "b")
    theta, ll, info = _maximise(
        lambda th: _bg_loglik(th, data), x0, names, data.n, penalizer
    )
    return BetaGeoFit(
        *map(float, theta),
        log_likelihood=ll,
        n_customers=round(data.n),
        n_groups=int(data.x.size),
        seconds=time.perf_counter() - t0,
        iterations=info["iterations"],
        penalizer=float(penalizer),
        standard_errors=_standard_errors(theta, info["hessian_log"], data.n, names)
        if penalizer == 0
        else {},
    )


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def _check_fm(frequency, monetary_value, *, allow_empty=False):
    x = _as_float_array(frequency, "frequency")
    m = _as_float_array(monetary_value, "monetary_value")
    if np.ndim(frequency) == 0 and m.size != 1:
        x = np.broadcast_to(x, m.shape)
    if np.ndim(monetary_value) == 0 and x.size != 1:
        m = np.broadcast_to(m, x.shape)
    if x.size != m.size:
        raise ValueError(
            f"frequency and monetary_value must have the same length, got {x.size}, {m.size}"
        )
    if x.size == 0 and not allow_empty:
        raise ValueError("no customers: frequency and monetary_value are empty")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a whole number >= 0")
    if np.any(m < 0):
        raise ValueError("monetary_value must be >= 0")
    bad = (x > 0) & (m <= 0)
    if np.any(bad):
        raise ValueError(
            f"{int(bad.sum())} customer(s) with frequency > 0 have monetary_value <= 0; the "
            "Gamma-Gamma model needs a positive mean spend (drop or fix zero-value orders)"
        )
    return x, m


@dataclass
class _GGData:
    x: np.ndarray
    logm: np.ndarray
    xm: np.ndarray
    w: np.ndarray
    ux: np.ndarray
    W: np.ndarray
    xi: np.ndarray
    n: float


def _gg_data(x, m, group=True) -> _GGData:
    keep = x > 0
    x, m = x[keep], m[keep]
    if group:
        (x, m), w, _ = _group_rows(x, m)
    else:
        w = np.ones_like(x)
    ux, xi = np.unique(x, return_inverse=True)
    W = np.bincount(xi, weights=w, minlength=ux.size)
    return _GGData(x, np.log(m), x * m, w, ux, W, xi, float(w.sum()))


def _gg_loglik(theta, d: _GGData, need_grad: bool = True):
    p, q, g = theta
    ux, W = d.ux, d.W
    px_u = p * ux
    lux = np.log(ux)
    c_x = special.gammaln(px_u + q) - special.gammaln(px_u) + px_u * lux
    px = p * d.x
    lgx = np.log(g + d.xm)
    ll = float(
        np.dot(W, c_x)
        - d.n * special.gammaln(q)
        + d.n * q * np.log(g)
        + np.dot(d.w, (px - 1) * d.logm - (px + q) * lgx)
    )
    if not need_grad:
        return ll, None
    psi_pxq = special.digamma(px_u + q)
    g_p = np.dot(W * ux, psi_pxq - special.digamma(px_u) + lux) + np.dot(
        d.w * d.x, d.logm - lgx
    )
    g_q = (
        np.dot(W, psi_pxq)
        - d.n * special.digamma(q)
        + d.n * np.log(g)
        - np.dot(d.w, lgx)
    )
    g_g = d.n * q / g - np.dot(d.w, (px + q) / (g + d.xm))
    return ll, np.array([g_p, g_q, g_g])


def gamma_gamma_log_likelihood(
    params, frequency, monetary_value, *, group: bool = True
) -> float:
    """Gamma-Gamma log-likelihood of the mean repeat spends (customers with frequency > 0)."""
    theta = _gg_theta(params)
    x, m = _check_fm(frequency, monetary_value)
    return _gg_loglik(theta, _gg_data(x, m, group=group), need_grad=False)[0]


def _gg_theta(params) -> np.ndarray:
    if isinstance(params, dict):
        params = [params[k] for k in ("p", "q", "gamma")]
    theta = np.asarray(params, dtype=float)
    if theta.shape != (3,) or not np.all(np.isfinite(theta)) or np.any(theta <= 0):
        raise ValueError(
            f"Gamma-Gamma parameters (p, q, gamma) must be 3 positive numbers, got {params!r}"
        )
    return theta


@dataclass
class GammaGammaFit:
    """A fitted Gamma-Gamma spend model."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int = 0
    seconds: float = 0.0
    iterations: int = 0
    penalizer: float = 0.0
    standard_errors: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, p: float, q: float, gamma: float) -> GammaGammaFit:
        theta = _gg_theta([p, q, gamma])
        return cls(*map(float, theta), log_likelihood=float("nan"))

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase, p * gamma / (q - 1) (inf when q <= 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def expected_spend(self, frequency, monetary_value):
        """E[spend per purchase | x repeat purchases with mean spend m]
        = (gamma + x m) p / (p x + q - 1), a weighted mean of the population mean and m;
        the population mean for customers with no repeat purchase."""
        if self.q <= 1:
            raise ValueError(
                f"expected spend is undefined for q <= 1 (q = {self.q:.4g})"
            )
        x, m = _check_fm(frequency, monetary_value, allow_empty=True)
        e = (self.gamma + x * m) * self.p / (self.p * x + self.q - 1)
        return _like(e, frequency, monetary_value)


def fit_gamma_gamma(
    frequency, monetary_value, *, penalizer: float = 0.0
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on customers with frequency > 0 (others are ignored).

    ``monetary_value`` is each customer's mean spend over their repeat purchases.
    """
    t0 = time.perf_counter()
    x, m = _check_fm(frequency, monetary_value)
    if penalizer < 0:
        raise ValueError("penalizer must be >= 0")
    if not np.any(x > 0):
        raise ValueError(
            "no customer has a repeat purchase: Gamma-Gamma needs frequency > 0"
        )
    data = _gg_data(x, m)
    # moment-style start: mean spend ~ p*gamma/(q-1) with p = 1, q = 2
    mean = float(np.dot(data.w, np.exp(data.logm)) / data.n)
    x0 = np.log([1.0, 2.0, max(mean, 1e-8)])
    names = ("p", "q", "gamma")
    theta, ll, info = _maximise(
        lambda th: _gg_loglik(th, data), x0, names, data.n, penalizer
    )
    return GammaGammaFit(
        *map(float, theta),
        log_likelihood=ll,
        n_customers=round(data.n),
        seconds=time.perf_counter() - t0,
        iterations=info["iterations"],
        penalizer=float(penalizer),
        standard_errors=_standard_errors(theta, info["hessian_log"], data.n, names)
        if penalizer == 0
        else {},
    )


# --------------------------------------------------------------------------------------------
# CLV
# --------------------------------------------------------------------------------------------


def customer_lifetime_value(
    bg_nbd: BetaGeoFit,
    gamma_gamma: GammaGammaFit,
    frequency,
    recency,
    T,
    monetary_value,
    months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "W",
):
    """Discounted expected spend over the next ``months`` months (a month = 30 days).

    sum_{i=1..months} [E purchases in month i] * E[spend | x, m] / (1 + discount_rate)^i,
    with the purchase expectations conditional on each customer's history. ``time_unit`` must
    be the unit the BG/NBD model was fitted in.
    """
    per_month = DAYS_PER_MONTH / _check_time_unit(time_unit)
    if int(months) != months or months < 0:
        raise ValueError("months must be a whole number >= 0")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError("discount_rate must be > -1")
    x, tx, TT = _check_rft(frequency, recency, T, allow_empty=True)
    _, m = _check_fm(frequency, monetary_value, allow_empty=True)
    spend = np.asarray(gamma_gamma.expected_spend(x, m), dtype=float).reshape(-1)
    value = np.zeros(x.shape)
    previous = np.zeros(x.shape)
    for i in range(1, int(months) + 1):
        cumulative = np.asarray(
            bg_nbd.expected_purchases(i * per_month, x, tx, TT), dtype=float
        )
        value += (cumulative - previous) * spend / (1.0 + discount_rate) ** i
        previous = cumulative
    return _like(value, frequency, recency, T, monetary_value)


# --------------------------------------------------------------------------------------------
# transaction logs
# --------------------------------------------------------------------------------------------


def _to_day(values: pd.Series | Any, name: str, tz=None):
    """Timestamps to naive calendar days (in the data's own time zone when it has one)."""
    if isinstance(values, pd.Series):
        try:
            ts = pd.to_datetime(values)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"column {name!r} is not parseable as datetimes: {exc}"
            ) from None
        if not pd.api.types.is_datetime64_any_dtype(ts):
            raise ValueError(
                f"column {name!r} mixes time zones; convert it to one zone (e.g. utc=True) first"
            )
        if ts.isna().any():
            raise ValueError(
                f"column {name!r} has {int(ts.isna().sum())} missing datetime(s)"
            )
        tz = getattr(ts.dt, "tz", None)
        if tz is not None:
            ts = ts.dt.tz_localize(None)
        return ts.dt.floor("D"), tz
    try:
        ts = pd.Timestamp(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} is not a date: {exc}") from None
    if pd.isna(ts):
        raise ValueError(f"{name} is missing")
    if ts.tzinfo is not None:
        ts = (ts.tz_convert(tz) if tz is not None else ts).tz_localize(None)
    return ts.floor("D"), tz


def _daily(transactions, customer_col, datetime_col, monetary_col):
    """One row per (customer, purchase day) with the day's total spend."""
    if not isinstance(transactions, pd.DataFrame):
        raise ValueError("transactions must be a pandas DataFrame")
    cols = [customer_col, datetime_col] + (
        [monetary_col] if monetary_col is not None else []
    )
    missing = [c for c in cols if c not in transactions.columns]
    if missing:
        raise ValueError(
            f"transactions has no column(s) {missing}; columns are {list(transactions.columns)}"
        )
    if len(transactions) == 0:
        raise ValueError("transactions is empty")
    cust = transactions[customer_col]
    if cust.isna().any():
        raise ValueError(
            f"column {customer_col!r} has {int(cust.isna().sum())} missing customer id(s); "
            "drop guest orders or give them an id first"
        )
    day, tz = _to_day(transactions[datetime_col], datetime_col)
    frame = pd.DataFrame({"customer": cust.to_numpy(), "day": day.to_numpy()})
    if monetary_col is not None:
        raw = transactions[monetary_col]
        if pd.api.types.is_bool_dtype(raw):
            raise ValueError(
                f"column {monetary_col!r} must be numeric spend, not booleans"
            )
        try:
            spend = pd.to_numeric(raw, errors="raise").astype(float)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"column {monetary_col!r} must be numeric spend: {exc}"
            ) from None
        if not np.all(np.isfinite(spend.to_numpy())):
            raise ValueError(f"column {monetary_col!r} has missing or non-finite spend")
        if (spend < 0).any():
            raise ValueError(
                f"column {monetary_col!r} has {int((spend < 0).sum())} negative spend value(s); "
                "net refunds into their orders (or drop them) before summarizing"
            )
        frame["spend"] = spend.to_numpy()
    else:
        frame["spend"] = 0.0
    daily = frame.groupby(["customer", "day"], sort=True, as_index=False)["spend"].sum()
    return daily, tz


def _summarize_daily(daily, as_of_day, unit_days, monetary: bool, index_name):
    daily = daily[daily["day"] <= as_of_day]
    g = daily.groupby("customer", sort=True)
    first = g["day"].min()
    last = g["day"].max()
    count = g["day"].size()
    total = g["spend"].sum()
    first_spend = g["spend"].first()  # rows are sorted by day within customer
    frequency = (count - 1).astype("int64")
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days.astype(float) / unit_days,
            "T": (as_of_day - first).dt.days.astype(float) / unit_days,
        }
    )
    if monetary:
        repeat = (total - first_spend).astype(float)
        out["monetary_value"] = np.where(
            frequency > 0, repeat / frequency.clip(lower=1), 0.0
        )
    out.index.name = index_name
    return out


def summarize_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    datetime_col: str,
    monetary_col: str | None,
    as_of,
    time_unit: str = "W",
) -> pd.DataFrame:
    """One row per customer (indexed by customer) with frequency, recency, T, monetary_value.

    Purchases are counted per calendar day (a day's orders are one purchase, their spend
    summed), only on or before the day of ``as_of`` (inclusive). ``frequency`` = purchase days
    - 1; ``recency`` = last - first purchase day; ``T`` = as_of day - first purchase day, in
    ``time_unit`` ("D" days, "W" weeks = days/7); ``monetary_value`` = mean spend of the repeat
    purchase days, 0 when there is none (omitted when ``monetary_col`` is None). Time-zone-aware
    timestamps are bucketed by their own local date. Customers whose first purchase is after
    ``as_of`` are absent; if none purchased by then the frame is empty.

    Raises ValueError for an unknown time_unit, a missing column, an empty log, missing customer
    ids or datetimes, and non-numeric, missing or negative spend.
    """
    unit_days = _check_time_unit(time_unit)
    daily, tz = _daily(transactions, customer_col, datetime_col, monetary_col)
    as_of_day, _ = _to_day(as_of, "as_of", tz)
    return _summarize_daily(
        daily, as_of_day, unit_days, monetary_col is not None, customer_col
    )


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
