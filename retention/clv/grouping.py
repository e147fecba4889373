"""Distinct rows of the data, so the likelihoods are evaluated once per group of identical customers."""

from __future__ import annotations

import numpy as np


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
