"""Discounted customer lifetime value from a BG/NBD and a Gamma-Gamma model."""

from __future__ import annotations

import numpy as np

from retention.clv.bgnbd import BetaGeoFit
from retention.clv.gamma_gamma import GammaGammaFit, _check_fm
from retention.clv.inputs import DAYS_PER_MONTH, _check_rft, _check_time_unit, _like


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
