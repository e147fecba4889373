"""Gamma-Gamma spend model (Fader & Hardie 2013): likelihood, fit and expected spend."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from retention.clv.grouping import _group_rows
from retention.clv.inputs import _as_float_array, _like
from retention.clv.optimisation import _maximise, _standard_errors


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
