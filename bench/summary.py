"""The customer summary (frequency, recency, T, monetary per customer) two ways, on the same
transactions: SQL in the warehouse, and pandas the way data scientists do it (pull the orders,
then a groupby as lifetimes' ``summary_data_from_transaction_data``; here
``retention.clv.summarize_transactions``, which is that groupby).

Both follow the same rules: a purchase is a customer's calendar day (UTC) with orders, spend is
the day's ``subtotal_price`` summed (the simulator draws it from Gamma-Gamma), times in weeks,
monetary = mean spend of the repeat days (0 without one).
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd

# Non-cancelled orders of known people; guests without email or phone have no customer_key.
TRANSACTIONS = """
    select customer_key, created_at, subtotal_price
    from orders
    where not is_cancelled and customer_key is not null
"""

SUMMARY_SQL = f"""
    with transactions as ({TRANSACTIONS}),
    daily as (
        select customer_key, cast(created_at as date) as day, sum(subtotal_price) as spend
        from transactions
        where cast(created_at as date) <= $as_of
        group by customer_key, day
    ),
    per_customer as (
        select customer_key, count(*) - 1 as frequency, min(day) as first_day, max(day) as last_day,
               sum(spend) as total_spend, arg_min(spend, day) as first_spend
        from daily
        group by customer_key
    )
    select
        customer_key,
        frequency,
        date_diff('day', first_day, last_day) / 7.0 as recency,
        date_diff('day', first_day, $as_of) / 7.0 as "T",
        case when frequency > 0 then cast((total_spend - first_spend) as double) / frequency else 0.0 end
            as monetary_value
    from per_customer
    order by customer_key
"""

COLUMNS = ["frequency", "recency", "T", "monetary_value"]


def summary_in_warehouse(con, as_of: date) -> tuple[pd.DataFrame, dict]:
    started = time.perf_counter()
    df = con.execute(SUMMARY_SQL, {"as_of": as_of}).df().set_index("customer_key")
    return df, {"work_s": time.perf_counter() - started}


def summary_in_pandas(con, as_of: date) -> tuple[pd.DataFrame, dict]:
    from retention.clv import summarize_transactions

    started = time.perf_counter()
    transactions = con.execute(TRANSACTIONS).df()
    fetched = time.perf_counter()
    df = summarize_transactions(transactions, "customer_key", "created_at", "subtotal_price", as_of, time_unit="W")
    done = time.perf_counter()
    return df, {"work_s": done - started, "fetch_s": fetched - started, "groupby_s": done - fetched,
                "transactions": len(transactions)}


def compare_summaries(warehouse: pd.DataFrame, pandas_: pd.DataFrame, money_tolerance: float = 1e-6) -> dict:
    """Identical = same customers, same frequency, recency and T exactly, monetary to a micro-cent
    (decimal sums in SQL against float sums in pandas)."""
    a, b = warehouse.sort_index(), pandas_.sort_index()
    same_customers = a.index.equals(b.index)
    result = {"customers": len(a), "customers_pandas": len(b), "same_customers": bool(same_customers)}
    if not same_customers:
        return {**result, "identical": False}
    exact = {c: bool(np.array_equal(a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float))) for c in COLUMNS[:3]}
    money_diff = float(np.max(np.abs(a["monetary_value"].to_numpy(float) - b["monetary_value"].to_numpy(float)),
                              initial=0.0))
    return {**result, "exact": exact, "max_monetary_diff": money_diff,
            "identical": all(exact.values()) and money_diff <= money_tolerance}
