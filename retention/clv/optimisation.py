"""Maximum likelihood on log-parameters shared by both models: L-BFGS-B with analytic gradients,
then Newton steps on a finite-difference Hessian; standard errors from that Hessian."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from retention.clv.errors import ConvergenceError

_LOG_BOUND = 25.0  # |log parameter| bound for the optimiser
# a fitted parameter outside [1e-6, 1e6] means the likelihood has no interior maximum
_DEGENERATE = math.log(1e6)
# a Newton step smaller than this (in log-parameters: a relative change) is not taken
_NEWTON_STEP_DONE = 1e-9


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

    # polish: Newton steps with a central-difference Hessian of the analytic gradient, until the
    # step is below any precision that matters (the Hessian at the final point gives the errors)
    grad_at = lambda v: objective(v)[1]  # noqa: E731
    hess = _fd_hessian(grad_at, u)
    grad = grad_at(u)
    for _ in range(8):
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) < _NEWTON_STEP_DONE:
            break
        improved = False
        for scale in (1.0, 0.5, 0.25):
            cand = np.clip(u + scale * step, -_LOG_BOUND, _LOG_BOUND)
            fc, gc = objective(cand)
            if fc <= f:
                u, f, grad, improved = cand, fc, gc, True
                break
        if not improved:
            break
        hess = _fd_hessian(grad_at, u)

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
