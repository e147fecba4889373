"""Inventory levels in the warehouse: a product's available quantity is the simulator's true stock
(summed over locations) on the day, and a store without level data keeps the variants' stock."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.warehouse_fixtures import build_store, run_dbt

AS_OF = date(2025, 3, 20)
BUILD_PRODUCTS = ("build", "--select", "+products", "--indirect-selection", "cautious")


def products(data_dir) -> pd.DataFrame:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.sql("select product_id, available_quantity, inventory_quantity, in_stock from products").df()


def true_stock(data_dir, day: date) -> pd.Series:
    """Per product: the latest level of each item at each location before the end of ``day``, summed."""
    levels = pd.read_parquet(data_dir.root / "simulation" / "inventory_levels.parquet")
    levels = levels[levels["updated_at"] < pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)]
    latest = levels.sort_values("updated_at").groupby(["inventory_item_id", "location_id"]).tail(1)
    return latest.groupby("product_id")["available"].sum()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data_dir = build_store(tmp_path_factory.mktemp("inventory"), customers=150, start=date(2025, 2, 1), end=AS_OF)
    run_dbt(data_dir, *BUILD_PRODUCTS, as_of=AS_OF)
    return data_dir


def test_available_quantity_is_the_true_stock_on_the_day(store):
    dirt = pd.read_parquet(store.root / "simulation" / "dirt.parquet")
    spoiled = dirt[dirt["malformed"] & (dirt["table"] == "inventory_levels")]["record_id"]
    levels = pd.read_parquet(store.root / "simulation" / "inventory_levels.parquet")
    # a level quarantined for being malformed leaves the previous one in place: not the truth any more
    spoiled_products = set(levels[levels["inventory_item_id"].isin({int(r.split("@")[0]) for r in spoiled})]["product_id"])

    got = products(store).set_index("product_id")
    truth = true_stock(store, AS_OF)
    checked = truth[~truth.index.isin(spoiled_products)]
    assert len(checked) > 100 and (checked == 0).any()  # stock-outs are among them
    assert got.loc[checked.index, "available_quantity"].astype(int).to_dict() == checked.astype(int).to_dict()
    assert (got.loc[checked.index, "in_stock"] == (checked > 0)).all()
    # the product pages tell the same story: levels add up to the variants' inventory_quantity
    assert (got.loc[checked.index, "inventory_quantity"] == checked).all()


def test_without_level_data_the_variants_stock_decides(store):
    # a store whose pulls carry no inventory levels: every partition lands empty
    for part in (store.landing / "shopify" / "inventory_levels").glob("*/part-0.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.schema.empty_table(), part)
    run_dbt(store, "run", "--select", "stg_shopify__inventory_levels", "products", as_of=AS_OF)
    got = products(store)
    assert got["available_quantity"].isna().all()
    assert (got["in_stock"] == (got["inventory_quantity"] > 0)).all() and got["in_stock"].any()
