"""The table comparison that proves the Spark build equal to DuckDB's catches every kind of difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from retention.engines.compare import TableDifference, compare_tables


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_key": ["a1", "b2", "c3"],
        "orders": [3, 1, 2],
        "p_alive": [0.912345678901, 0.5, 1 / 3],
        "first_order_at": pd.to_datetime(["2025-01-02 10:00", "2025-02-03 11:30", None]),
    })


def test_equal_tables_in_another_order_with_float_noise_pass():
    other = customers().iloc[::-1].reset_index(drop=True)
    other["p_alive"] = other["p_alive"] * (1 + 1e-12)
    assert compare_tables("customers", customers(), other) == 3


def test_timestamps_compare_as_utc():
    other = customers()
    other["first_order_at"] = other["first_order_at"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    assert compare_tables("customers", customers(), other) == 3


def test_one_cell_names_the_table_column_and_row():
    other = customers()
    other.loc[1, "orders"] = 4
    with pytest.raises(TableDifference, match=r"customers\.orders: 1 on duckdb, 4 on spark \(row customer_key=sha256:"):
        compare_tables("customers", customers(), other)


def test_a_missing_row_is_named():
    other = customers().iloc[[0, 2]]
    with pytest.raises(TableDifference, match=r"customers: 3 rows on duckdb, 2 on spark; a row only on duckdb: customer_key="):
        compare_tables("customers", customers(), other)


def test_a_type_that_changes_values_fails():
    # x / 7.0: a 6-place decimal on one engine, a double on the other
    other = customers()
    other["p_alive"] = [Decimal(f"{v:.6f}") for v in other["p_alive"]]
    with pytest.raises(TableDifference, match=r"customers\.p_alive"):
        compare_tables("customers", customers(), other)


def test_a_type_that_keeps_values_passes():
    other = customers()
    other["orders"] = other["orders"].astype("int32")
    other["p_alive"] = [Decimal(repr(v)) for v in other["p_alive"]]
    assert compare_tables("customers", customers(), other) == 3


def test_a_string_literal_for_a_column_fails():
    # "timestamp" read as the text 'timestamp' instead of the column
    other = customers()
    other["first_order_at"] = ["timestamp"] * 3
    with pytest.raises(TableDifference, match=r"customers\.first_order_at"):
        compare_tables("customers", customers(), other)


def test_a_null_against_a_value_fails():
    other = customers()
    other.loc[0, "p_alive"] = None
    with pytest.raises(TableDifference, match=r"customers\.p_alive: 0\.912345678901 on duckdb, None on spark"):
        compare_tables("customers", customers(), other)


def test_different_columns_fail():
    other = customers().rename(columns={"orders": "order_count"})
    with pytest.raises(TableDifference, match=r"only on duckdb: \['orders'\], only on spark: \['order_count'\]"):
        compare_tables("customers", customers(), other)


def test_dates_against_timestamps_fail():
    left = pd.DataFrame({"k": ["x"], "day": [dt.date(2025, 1, 1)]})
    right = pd.DataFrame({"k": ["x"], "day": [dt.datetime(2025, 1, 1, 12)]})
    with pytest.raises(TableDifference, match=r"t\.day"):
        compare_tables("t", left, right)


def test_nulls_of_every_kind_are_equal():
    # DuckDB gives a nullable integer column pd.NA, another reader None or NaN
    left = pd.DataFrame({"k": ["x", "y"], "n": pd.array([1, None], dtype="Int64")})
    right = pd.DataFrame({"k": ["x", "y"], "n": [1.0, float("nan")]})
    assert compare_tables("t", left, right) == 2


def test_list_columns_compare_element_by_element():
    left = pd.DataFrame({"k": ["x"], "tags": [["a", "b"]]})
    assert compare_tables("t", left, pd.DataFrame({"k": ["x"], "tags": [("a", "b")]})) == 1
    with pytest.raises(TableDifference, match=r"t\.tags"):
        compare_tables("t", left, pd.DataFrame({"k": ["x"], "tags": [["b", "a"]]}))
