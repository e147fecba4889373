"""metrics_daily, retention_cohorts, product_affinities and product_recommendations against a small
simulated store: figures match independent pandas computations over the simulator's ground truth
and the warehouse's own order lines, recommendations respect their exclusions, nothing after as_of
shows up, and a rebuild for the same as_of gives identical tables."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.warehouse_fixtures import build_store, failing_rows, run_dbt

AS_OF = date(2025, 4, 20)  # the store runs to 2025-04-30: there is data after as_of
END = pd.Timestamp("2025-04-21", tz="UTC")  # first instant after as_of
MODELS = ["metrics_daily", "retention_cohorts", "product_affinities", "product_recommendations"]
SELECT = ["--indirect-selection", "cautious", "--select", "+customers", *[f"+{m}" for m in MODELS]]
N_RECS = 5


def _df(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


def _rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"select * from main.{table} order by all").fetchall()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics_store")
    data_dir = build_store(root, customers=250, start=date(2025, 1, 1), end=date(2025, 4, 30), seed=11)
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    return root


@pytest.fixture(scope="module")
def wh(store) -> Path:
    return store / "warehouse.duckdb"


@pytest.fixture(scope="module")
def sim_orders(store) -> pd.DataFrame:
    o = pd.read_parquet(store / "simulation" / "orders.parquet")
    return o


@pytest.fixture(scope="module")
def kept_orders(sim_orders) -> pd.DataFrame:
    o = sim_orders
    return o[(o.created_at < END) & (o.cancelled_at.isna() | (o.cancelled_at >= END))]


def test_daily_orders_and_revenue_match_the_simulator(wh, kept_orders):
    o = kept_orders
    truth = (o.assign(day=o.created_at.dt.tz_convert("UTC").dt.date)
             .groupby("day").agg(orders=("order_id", "count"), gross=("total_price", "sum")))
    got = _df(wh, "select day, orders, gross_revenue::double as gross from metrics_daily").set_index("day")
    got.index = pd.to_datetime(got.index).date
    j = got.join(truth, rsuffix="_truth").fillna({"orders_truth": 0, "gross_truth": 0.0})
    assert (j.orders == j.orders_truth).all(), j[j.orders != j.orders_truth]
    assert np.allclose(j.gross, j.gross_truth, atol=0.005)
    assert set(truth.index) <= set(got.index)


def test_refunds_count_on_the_refund_date(wh, kept_orders):
    o = kept_orders
    r = o[o.refunded_at.notna() & (o.refunded_at < END)]
    truth = r.groupby(r.refunded_at.dt.tz_convert("UTC").dt.date).refunded_amount.sum()
    got = _df(wh, "select day, refunded_amount::double r, gross_revenue::double g, net_revenue::double n "
                  "from metrics_daily").set_index("day")
    got.index = pd.to_datetime(got.index).date
    assert np.allclose(got.r, truth.reindex(got.index).fillna(0.0), atol=0.005)
    assert np.allclose(got.n, got.g - got.r, atol=0.005)


def test_metrics_stop_at_as_of_and_are_consistent(wh):
    m = _df(wh, "select * from metrics_daily order by day")
    assert pd.Timestamp(m.day.max()).date() == AS_OF
    assert m.day.is_unique and len(m) == (pd.Timestamp(AS_OF) - pd.Timestamp(m.day.min())).days + 1
    assert (m.new_customers + m.returning_customers == m.ordering_customers).all()
    assert m.customers_to_date.iloc[-1] == m.new_customers.sum()
    for c in ("repeat_purchase_rate", "churn_rate", "email_open_rate", "email_delivery_rate", "bounce_rate",
              "cart_abandonment_rate", "cart_recovery_rate"):
        v = m[c].dropna()
        assert ((v >= 0) & (v <= 1)).all(), c


def test_customers_to_date_and_repeat_rate_match_the_simulator(wh, kept_orders):
    per_person = kept_orders.groupby(kept_orders.email.str.strip().str.lower()).size()
    last = _df(wh, "select customers_to_date, repeat_customers_to_date from metrics_daily where day = "
                   f"date '{AS_OF}'").iloc[0]
    assert last.customers_to_date == len(per_person)
    assert last.repeat_customers_to_date == int((per_person >= 2).sum())


def test_cohort_sizes_sum_to_customers_with_orders(wh, kept_orders):
    sizes = _df(wh, "select cohort_month, max(cohort_size) n from retention_cohorts group by 1")
    buyers = _df(wh, "select count(*) n from customers where order_count > 0").n.iloc[0]
    assert sizes.n.sum() == buyers == kept_orders.email.str.strip().str.lower().nunique()
    c = _df(wh, "select * from retention_cohorts")
    assert (pd.to_datetime(c.activity_month) <= pd.Timestamp(AS_OF)).all()
    m0 = c[c.months_since_first_purchase == 0]
    assert (m0.active_customers == m0.cohort_size).all()
    # revenue of all cohort-months = net revenue of all non-cancelled orders
    total = _df(wh, "select sum(net_revenue)::double s from orders where not is_cancelled").s.iloc[0]
    assert abs(c.net_revenue.astype(float).sum() - total) < 0.01


def test_affinity_lift_recomputed_in_pandas(wh):
    lines = _df(wh, f"select order_id, product_id from order_lines where not is_cancelled and quantity > 0 "
                    f"and product_id is not null and order_date <= date '{AS_OF}'").drop_duplicates()
    n = lines.order_id.nunique()
    per_product = lines.groupby("product_id").order_id.nunique()
    pairs = lines.merge(lines, on="order_id")
    pairs = pairs[pairs.product_id_x != pairs.product_id_y]
    both = pairs.groupby(["product_id_x", "product_id_y"]).size()
    got = _df(wh, "select * from product_affinities")
    assert len(got) > 0
    kept = both[(both >= 2) & (both / n >= 0.001)]
    assert len(got) == len(kept)
    for _, row in got.sort_values(["lift", "product_pair_key"], ascending=[False, True]).head(5).iterrows():
        a, b = row.product_id, row.associated_product_id
        k = both[(a, b)]
        assert row.orders_with_both == k and row.total_orders == n
        assert row.support == pytest.approx(k / n)
        assert row.confidence == pytest.approx(k / per_product[a])
        assert row.lift == pytest.approx((k / n) / ((per_product[a] / n) * (per_product[b] / n)))


def test_recommendations_exclude_purchased_and_out_of_stock(wh):
    recs = _df(wh, "select * from product_recommendations")
    assert len(recs) > 0
    assert recs.groupby("customer_key").size().max() <= N_RECS
    ranks = recs.groupby("customer_key").recommendation_rank.apply(lambda s: sorted(s) == list(range(1, len(s) + 1)))
    assert ranks.all()
    bought = _df(wh, "select distinct customer_key, product_id from order_lines where not is_cancelled")
    clash = recs.merge(bought, on=["customer_key", "product_id"])
    assert clash.empty
    products = _df(wh, "select product_id, status, inventory_quantity from products").set_index("product_id")
    p = products.loc[recs.product_id]
    assert (p.status == "active").all() and (p.inventory_quantity > 0).all()
    buyers = _df(wh, "select distinct customer_key from orders where not is_cancelled")
    assert set(recs.customer_key) == set(buyers.customer_key)


def test_rebuild_for_the_same_as_of_is_identical(store, wh):
    before = {m: _rows(wh, m) for m in MODELS}
    run_dbt(store, "run", "--select", *MODELS, as_of=AS_OF)
    after = {m: _rows(wh, m) for m in MODELS}
    for m in MODELS:
        assert before[m] == after[m], m


def test_metrics_daily_row_rules_name_each_day_and_rule_broken(store, wh, tmp_path):
    """metrics_daily's column rules run as one test (macros/row_rules.sql): planted on a copy of the
    warehouse, a negative count, a rate above 1, a frequency below its floor of 1 and a missing count
    each fail it, named by day; a null rate (no denominator that day) and a bound itself pass."""
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(wh, copy)
    with duckdb.connect(str(copy)) as con:
        days = [r[0] for r in con.execute("select day from metrics_daily order by day desc limit 4").fetchall()]
        for day, change in zip(days, ["orders = -1, churn_rate = 1.5", "purchase_frequency = 0.5, sessions = null",
                                      "churn_rate = null, repeat_purchase_rate = 1, purchase_frequency = 1",
                                      "orders = 0"]):
            con.execute(f"update metrics_daily set {change} where day = ?", [day])
    reported, rows = failing_rows(store, copy, "metrics_daily_row_rules", "day, broken_rules", AS_OF)
    failures = dict(rows)
    assert reported == len(rows) == 2
    assert failures == {days[0]: "orders out of range, churn_rate out of range",
                        days[1]: "sessions is null, purchase_frequency out of range"}


def test_a_models_column_rules_run_as_one_test_naming_each_record_and_rule(store, wh, tmp_path):
    """A model's column rules (not_null, accepted values, bounds, a key present in another model) are
    one row_rules test: planted on a copy of the warehouse, customers and product recommendations
    each fail theirs, every record named once with the rules it breaks; a null score passes."""
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(wh, copy)
    with duckdb.connect(str(copy)) as con:
        people = [r[0] for r in con.execute("select customer_key from customers order by 1 limit 3").fetchall()]
        for key, change in zip(people, ["email_frequency = null, recency_score = 7", "loyalty_tier = 'diamond'",
                                        "recency_score = null"]):
            con.execute(f"update customers set {change} where customer_key = ?", [key])
        picks = [r[0] for r in con.execute("select recommendation_key from product_recommendations "
                                           "order by 1 limit 2").fetchall()]
        for key, change in zip(picks, ["recommendation_rank = 6, score = -0.1", "customer_key = 'nobody'"]):
            con.execute(f"update product_recommendations set {change} where recommendation_key = ?", [key])
    reported, rows = failing_rows(store, copy, "customers_row_rules", "customer_key, broken_rules", AS_OF)
    assert reported == 2 and dict(rows) == {
        people[0]: "email_frequency is null, recency_score not an accepted value",
        people[1]: "loyalty_tier not an accepted value"}
    reported, rows = failing_rows(store, copy, "product_recommendations_row_rules",
                                  "recommendation_key, broken_rules", AS_OF)
    assert reported == 2 and dict(rows) == {  # the rank's bound is var('recommendation_count'), 5
        picks[0]: "recommendation_rank out of range, score out of range",
        picks[1]: "customer_key not found in customers"}


def test_a_repeated_key_names_each_of_its_records_and_a_missing_key_repeats_nothing(store, wh, tmp_path):
    """A model's key rules are in its row_rules too: dbt's `unique` (nulls are not compared) and
    `not_null`. Planted on a copy of the warehouse: an order twice is two failing records; two orders
    without an id are each missing their id, not a repeat of each other."""
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(wh, copy)
    with duckdb.connect(str(copy)) as con:
        orders = [r[0] for r in con.execute("select order_id from orders order by 1 limit 3").fetchall()]
        con.execute("insert into orders select * from orders where order_id = ?", [orders[0]])
        con.execute("update orders set order_id = null where order_id in (?, ?)", orders[1:])
    reported, rows = failing_rows(store, copy, "orders_row_rules", "order_id, broken_rules", AS_OF)
    assert reported == 4 and sorted(rows, key=str) == sorted(
        [(orders[0], "order_id not unique")] * 2 + [(None, "order_id is null")] * 2, key=str)
