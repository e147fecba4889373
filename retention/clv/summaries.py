"""Transaction logs to one row per customer: frequency, recency, T and mean repeat spend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.clv.inputs import _check_time_unit


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
