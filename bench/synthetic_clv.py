"""Customer summaries drawn from the BG/NBD and Gamma-Gamma generative processes themselves, for
the CLV fit comparison at sizes no simulated store reaches cheaply (a million customers): the
true parameters are known, so every fit is also judged on recovering them.

Times are whole days expressed in weeks (days / 7), as the warehouse summary has them, so
identical customers repeat as they do in real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# CDNOW's published estimates (Fader, Hardie & Lee 2005; Fader & Hardie 2013), in weeks
TRUE_BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HISTORY_DAYS = 730


def synthetic_summary(customers: int, seed: int = 42) -> pd.DataFrame:
    """frequency, recency, T (weeks) and monetary_value per customer, first purchases spread
    evenly over two years of history."""
    rng = np.random.default_rng(seed)
    bg, gg = TRUE_BG_NBD, TRUE_GAMMA_GAMMA
    T_days = rng.integers(0, HISTORY_DAYS + 1, customers)
    rate = rng.gamma(bg["r"], 1.0 / bg["alpha"], customers) / 7.0  # purchases per day
    drop = rng.beta(bg["a"], bg["b"], customers)
    x = np.zeros(customers, dtype=np.int64)
    t_last = np.zeros(customers)
    clock = np.zeros(customers)
    active = np.flatnonzero(rate > 0)
    while active.size:  # one repeat purchase per step for every customer still buying
        clock[active] += rng.exponential(1.0 / rate[active])
        bought = clock[active] <= T_days[active]
        buyers = active[bought]
        x[buyers] += 1
        t_last[buyers] = clock[buyers]
        active = buyers[rng.random(buyers.size) >= drop[buyers]]  # drops out after this purchase
    # whole days (a repeat purchase falls on a later day than the first), as the warehouse counts them
    recency_days = np.where(x > 0, np.ceil(t_last), 0.0)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], customers)
    spend_sum = rng.gamma(np.maximum(x, 1) * gg["p"], 1.0 / nu)  # sum of x Gamma(p, nu) spends
    monetary = np.where(x > 0, spend_sum / np.maximum(x, 1), 0.0)
    return pd.DataFrame({"frequency": x, "recency": recency_days / 7.0, "T": T_days / 7.0,
                         "monetary_value": monetary},
                        index=pd.RangeIndex(customers, name="customer_key"))
