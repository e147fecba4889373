"""The prediction models in the warehouse (models/predictions) on a small simulated store: the SQL
customer summary equals the pandas one from retention.clv, predictions reach `customers` and the
segments, each day's fit is kept once, and the holdout check counts the purchases it should."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from retention import clv
from retention.predictions import PredictionSettings, models_from_runs, predict
from tests.warehouse_fixtures import build_store, run_dbt

AS_OF = date(2025, 9, 20)
SELECT = ["--indirect-selection", "cautious", "--select",
          "+customers", "+clv_model_runs", "+clv_calibration", "+int_segment_triggers"]


def _df(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("predictions_store")
    data_dir = build_store(root, customers=900, start=date(2024, 10, 1), end=date(2025, 9, 30), seed=21)
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF - timedelta(days=1))
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    return data_dir.warehouse


def _orders(db: Path) -> pd.DataFrame:
    return _df(db, "select customer_key, order_date, subtotal_price from int_orders_enriched "
                   "where not is_cancelled and customer_key is not null")


def test_sql_summary_equals_the_pandas_summary(store):
    sql = _df(store, "select * from int_clv_summary").set_index("customer_key").sort_index()
    pandas = clv.summarize_transactions(_orders(store), "customer_key", "order_date", "subtotal_price", AS_OF).sort_index()
    assert list(sql.index) == list(pandas.index)
    np.testing.assert_array_equal(sql["frequency"], pandas["frequency"])
    np.testing.assert_allclose(sql["recency"], pandas["recency"])
    np.testing.assert_allclose(sql["t"], pandas["T"])
    np.testing.assert_allclose(sql["monetary_value"].astype(float), pandas["monetary_value"], rtol=1e-9)


def test_each_day_fit_is_kept_once(store):
    runs = _df(store, "select * from clv_model_runs order by as_of, model")
    before = AS_OF - timedelta(days=1)
    assert [(pd.Timestamp(r.as_of).date(), r.model) for r in runs.itertuples()] == [
        (before, "bg_nbd"), (before, "gamma_gamma"), (AS_OF, "bg_nbd"), (AS_OF, "gamma_gamma")]
    assert set(runs["status"]) == {"fitted"}
    run_dbt(store.parent, "build", "--select", "clv_fits", "clv_model_runs", as_of=AS_OF)  # a re-run of the day
    assert len(_df(store, "select * from clv_model_runs")) == 4


def test_predictions_reach_customers_and_match_the_library(store):
    summary = _df(store, "select * from int_clv_summary order by customer_key")
    bg, gg = models_from_runs(_df(store, "select * from clv_fits"))
    expected = predict(summary, bg, gg, PredictionSettings()).set_index("customer_key")
    customers = _df(store, "select * from customers").set_index("customer_key")
    buyers = customers.loc[expected.index]
    np.testing.assert_allclose(buyers["p_alive"], expected["p_alive"])
    np.testing.assert_allclose(buyers["predicted_clv_12m"].astype(float), expected["predicted_clv_12m"], atol=0.006)
    assert (buyers["churn_risk"] == expected["churn_risk"]).all()
    assert buyers["predicted_clv_percentile"].between(0, 1).all()
    without_orders = customers[customers["order_count"] == 0]
    assert len(without_orders) and without_orders["p_alive"].isna().all() and without_orders["churn_risk"].isna().all()


def test_segments_use_the_predictions(store):
    triggers = _df(store, "select t.segment, c.* from int_segment_triggers t join customers c using (customer_key)")
    win_back = triggers[triggers["segment"] == "win_back"]
    assert len(win_back) and (win_back["churn_risk"] != "low").all()
    at_risk = triggers[triggers["segment"] == "high_value_at_risk"]
    assert (at_risk["predicted_clv_percentile"] >= 0.8).all() and (at_risk["p_alive"] < 0.5).all()
    assert ((at_risk["p_alive_previous"] - at_risk["p_alive"]) >= 0.1).all()


def test_holdout_check_counts_the_purchases_made(store):
    table = _df(store, "select * from clv_calibration order by frequency_cal")
    orders = _orders(store)
    start = pd.Timestamp(AS_OF - timedelta(days=90))
    days = orders.assign(order_date=pd.to_datetime(orders["order_date"]))[["customer_key", "order_date"]].drop_duplicates()
    first = days.groupby("customer_key")["order_date"].min()
    known = first[first <= start].index
    holdout = days[(days["order_date"] > start) & (days["order_date"] <= pd.Timestamp(AS_OF)) & days["customer_key"].isin(known)]
    total = table[table["frequency_cal"] == -1].iloc[0]
    assert total["actual_total"] == len(holdout)
    assert total["n_customers"] == len(known)
    assert total["predicted_total"] == pytest.approx(len(holdout), rel=0.35)
