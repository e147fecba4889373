"""Two builds of one table, proven equal: same columns, same row count, same rows.

Rows are sorted by every column and compared in order. Floats are equal within a relative
tolerance (two engines sum doubles in different orders); decimals compare as floats, so a column
that is a decimal on one engine and a double on the other passes only when its values agree.
Timestamps compare as naive UTC. Text in a message is hashed (it may be an email or a name);
numbers, dates and booleans are shown as they are.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention.quality.validate import hashed

REL_TOL = 1e-9
# floats are rounded to this many significant digits for sorting only, so noise cannot reorder rows
SORT_DIGITS = 6


class TableDifference(AssertionError):
    """The first difference between two builds of a table."""


@dataclass(frozen=True)
class Engines:
    left: str = "duckdb"
    right: str = "spark"


def _normal(value):
    """One comparable value: null, float, naive UTC timestamp, or the value itself."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list | tuple | np.ndarray):  # list columns
        return tuple(_normal(v) for v in value)
    if isinstance(value, dict):  # struct columns
        return tuple((k, _normal(v)) for k, v in sorted(value.items()))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _normal(value.item())
    return value


def _sort_key(row: tuple) -> tuple:
    key = []
    for value in row:
        if value is None:
            key.append((0, ""))
        elif isinstance(value, float):
            key.append((1, float(f"{value:.{SORT_DIGITS}g}")))
        elif isinstance(value, bool | int):
            key.append((1, float(value)))
        else:
            key.append((2, str(value)))
    return tuple(key)


def _show(value) -> str:
    if isinstance(value, str | bytes):
        return hashed(value)
    return repr(value)


def _equal(a, b, rel_tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and _rows_equal(a, b, rel_tol)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0) or a == b
    if type(a) is not type(b) and not (isinstance(a, dt.date) and isinstance(b, dt.date)):
        return False
    return a == b


def _rows(frame: pd.DataFrame) -> list[tuple]:
    rows = [tuple(_normal(v) for v in row) for row in frame.itertuples(index=False, name=None)]
    return sorted(rows, key=_sort_key)


def compare_tables(table: str, left: pd.DataFrame, right: pd.DataFrame, rel_tol: float = REL_TOL,
                   engines: Engines = Engines()) -> int:
    """Raise TableDifference at the first difference between ``left`` and ``right``; return the row count."""
    left_cols = [c.lower() for c in left.columns]
    right_cols = [c.lower() for c in right.columns]
    if left_cols != right_cols:
        only_left = [c for c in left_cols if c not in right_cols]
        only_right = [c for c in right_cols if c not in left_cols]
        raise TableDifference(f"{table}: columns differ (only on {engines.left}: {only_left}, only on "
                              f"{engines.right}: {only_right}, order {left_cols} vs {right_cols})")
    left_rows, right_rows = _rows(left), _rows(right)
    if len(left_rows) != len(right_rows):
        longer, name = (left_rows, engines.left) if len(left_rows) > len(right_rows) else (right_rows, engines.right)
        shorter = right_rows if longer is left_rows else left_rows
        first = next((i for i, (a, b) in enumerate(zip(longer, shorter)) if not _rows_equal(a, b, rel_tol)), len(shorter))
        raise TableDifference(f"{table}: {len(left_rows)} rows on {engines.left}, {len(right_rows)} on {engines.right}; "
                              f"a row only on {name}: {left_cols[0]}={_show(longer[first][0])}")
    for left_row, right_row in zip(left_rows, right_rows):
        for column, a, b in zip(left_cols, left_row, right_row):
            if not _equal(a, b, rel_tol):
                raise TableDifference(f"{table}.{column}: {_show(a)} on {engines.left}, {_show(b)} on {engines.right} "
                                      f"(row {left_cols[0]}={_show(left_row[0])})")
    return len(left_rows)


def _rows_equal(a: tuple, b: tuple, rel_tol: float) -> bool:
    return all(_equal(x, y, rel_tol) for x, y in zip(a, b))
