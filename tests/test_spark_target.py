"""The pieces of the Spark target that run without Spark: seed cells as Spark SQL literals, and a
Python model's input frame. The Spark side of both is proven by make spark-check, which builds
every model on Spark and compares each table with DuckDB's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import duckdb

from retention.engines.frames import model_frame
from retention.engines.spark_dbt import sql_literal


def test_an_empty_seed_cell_is_a_null_not_the_text_none():
    assert sql_literal(None) == "null"


def test_quotes_and_backslashes_in_a_seed_cell_are_escaped():
    assert sql_literal("Fla. Stat. 501.059(4): 8 a.m.") == "'Fla. Stat. 501.059(4): 8 a.m.'"
    assert sql_literal("O'Brien's rule") == "'O\\'Brien\\'s rule'"
    assert sql_literal("C:\\path") == "'C:\\\\path'"


def test_numbers_booleans_and_times_keep_their_kind():
    assert sql_literal(3) == 3.0 and sql_literal(Decimal("2.50")) == 2.5 and sql_literal(0.25) == 0.25
    assert sql_literal(True) == "true" and sql_literal(False) == "false"
    assert sql_literal(datetime(2025, 3, 31, 8, 0, 5, 123000)) == "'2025-03-31 08:00:05.123000'"


def test_a_duckdb_relation_becomes_its_dataframe_sorted_when_asked():
    con = duckdb.connect()
    relation = con.sql("select * from (values ('c', 3, date '2025-01-03'), ('a', 1, date '2025-01-01'), "
                       "('b', 2, null)) t(customer_key, frequency, first_day)")
    frame = model_frame(relation, order_by=["customer_key"])
    assert list(frame["customer_key"]) == ["a", "b", "c"]
    assert list(frame.index) == [0, 1, 2]
    assert str(frame["first_day"].dtype).startswith("datetime64")
    assert list(model_frame(relation)["customer_key"]) == ["c", "a", "b"]  # unsorted: the engine's order


def test_a_model_reads_only_the_columns_it_names_and_in_that_order():
    con = duckdb.connect()
    relation = con.sql("select * from (values ('a', 'Europe/Paris', 'wide text', 7)) t(customer_key, time_zone, "
                       "\"note, with a comma\", n)")
    frame = model_frame(relation, columns=["time_zone", "customer_key"])
    assert list(frame.columns) == ["time_zone", "customer_key"]
    assert frame.to_dict("records") == [{"time_zone": "Europe/Paris", "customer_key": "a"}]
    assert list(model_frame(relation, columns=["note, with a comma"]).columns) == ["note, with a comma"]
