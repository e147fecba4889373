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

from retention.clv.bgnbd import BetaGeoFit, bg_nbd_log_likelihood, fit_bg_nbd
from retention.clv.errors import ConvergenceError
from retention.clv.gamma_gamma import GammaGammaFit, fit_gamma_gamma, gamma_gamma_log_likelihood
from retention.clv.holdout import calibration_holdout, predicted_vs_actual_by_frequency
from retention.clv.inputs import DAYS_PER_MONTH as DAYS_PER_MONTH
from retention.clv.inputs import TIME_UNITS as TIME_UNITS
from retention.clv.lifetime_value import customer_lifetime_value
from retention.clv.summaries import summarize_transactions

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
