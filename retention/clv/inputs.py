"""Input checking shared by the models and summaries, and the Series-or-array output shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TIME_UNITS = {"D": 1.0, "W": 7.0}  # days per unit
DAYS_PER_MONTH = 30.0


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
