"""BG/NBD purchase-count model (Fader, Hardie & Lee 2005): likelihood, fit and predictions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from retention.clv.grouping import _group_rows
from retention.clv.inputs import _as_float_array, _check_horizon, _check_rft, _like
from retention.clv.optimisation import _maximise, _standard_errors


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
