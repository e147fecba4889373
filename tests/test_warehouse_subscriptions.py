"""Explicit product subscriptions against a small simulated store that plants them (back-in-stock
and wish-list sign-ups while variants are sold out, price-drop sign-ups before sales, a few
withdrawn): `audience_back_in_stock` is exactly the people the simulator's truth and its stock
levels say should hear of a restock, and `audience_price_drop` holds only people who asked."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from tests.warehouse_fixtures import build_store, run_dbt

START, AS_OF = date(2025, 1, 1), date(2025, 4, 30)
END = pd.Timestamp(AS_OF + timedelta(days=1), tz="UTC")  # the first instant after as_of
WINDOW = pd.Timedelta(days=7)  # var back_in_stock_window_days


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    layout = build_store(tmp_path_factory.mktemp("subscription_store"), customers=300, start=START, end=AS_OF,
                         seed=13, dirt_rate=0.0, subscription_rate=0.6)
    run_dbt(layout, "build", "--select", "+audience_back_in_stock", "+audience_price_drop",
            "--exclude", "resource_type:test", as_of=AS_OF)
    return layout


def audience(store, name: str) -> set[tuple[str, int]]:
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        rows = con.sql(f"select email, cast(json_extract_string(payload, '$.product_id') as bigint) as product_id "
                       f"from {name}").fetchall()
    return {(email, int(product)) for email, product in rows}


def stock_history(store) -> pd.DataFrame:
    """Each variant's total stock over both locations after every level change (the simulator's levels)."""
    levels = pd.read_parquet(store.root / "simulation" / "inventory_levels.parquet")
    wide = (levels.pivot_table(index=["variant_id", "updated_at"], columns="location_id", values="available",
                               aggfunc="last")
            .groupby(level="variant_id").ffill().fillna(0))
    total = wide.sum(axis=1).rename("stock").reset_index()
    total["previous"] = total.groupby("variant_id")["stock"].shift()
    return total[total["updated_at"] < END]


def test_back_in_stock_is_exactly_who_asked_before_a_recent_restock_of_what_is_in_stock(store):
    subs = pd.read_parquet(store.root / "simulation" / "subscriptions.parquet")
    assert {"back_in_stock", "wishlist", "price_drop"} <= set(subs["kind"]) and subs["cancelled_at"].notna().any()
    history = stock_history(store)
    restocks = history[(history["previous"] == 0) & (history["stock"] > 0)].groupby("variant_id")["updated_at"].max()
    in_stock = history.groupby("variant_id")["stock"].last() > 0
    active = subs[subs["kind"].isin(["back_in_stock", "wishlist"]) & (subs["created_at"] < END)
                  & ~(subs["cancelled_at"] < END)]
    restocked = active["variant_id"].map(restocks)
    due = active[(restocked >= END - WINDOW) & (restocked > active["created_at"])
                 & active["variant_id"].map(in_stock).fillna(False).astype(bool)]
    expected = set(zip(due["email"], due["product_id"].astype(int)))
    assert expected, "the planted store has no recent restock anyone waits for"
    assert audience(store, "audience_back_in_stock") == expected
    # someone who withdrew their sign-up is not told
    withdrawn = subs[(subs["cancelled_at"] < END) & subs["kind"].isin(["back_in_stock", "wishlist"])]
    asked_again = set(zip(active["email"], active["product_id"].astype(int)))
    assert not (set(zip(withdrawn["email"], withdrawn["product_id"].astype(int))) - asked_again) & expected


def test_price_drop_goes_only_to_people_who_asked_for_that_product(store):
    subs = pd.read_parquet(store.root / "simulation" / "subscriptions.parquet")
    asked = subs[subs["kind"].isin(["price_drop", "wishlist"]) & (subs["created_at"] < END)]
    got = audience(store, "audience_price_drop")
    assert got, "the planted store has no recent price cut anyone waits for"
    assert got <= set(zip(asked["email"], asked["product_id"].astype(int)))
