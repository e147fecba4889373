"""Product subscriptions, as a store's back-in-stock and wish-list apps export them.

While a variant is sold out, some known shoppers ask to hear when it returns (``back_in_stock``)
or save it to their wish list (``wishlist``); in the weeks before a sale, some ask to hear of a
lower price (``price_drop``). A sign-up is one JSON line in ``inbox/subscriptions/<day>/`` on the
day it is made, and the same line again, with ``cancelled_at``, on the day it is withdrawn (a few
are, before the restock or the sale). Sign-ups per stock-out and per sale are Poisson with mean
``subscription_rate``; 0 (the default) writes none, and the warehouse then infers interest from
views. The truth, with the restock or price cut each sign-up waits for, is
``simulation/subscriptions.parquet``. Drawn from a stream of its own: the rest of the store is the
same with or without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Catalog
from .clock import DAY, utc_times
from .people import People

CANCELLED_SHARE = 0.1
PRICE_DROP_LEAD_DAYS = 30  # price-drop sign-ups fall in the days before the sale
COLUMNS = ["subscription_id", "person", "customer_id", "email", "product_id", "variant_id", "kind", "created_t",
           "cancelled_t", "awaits_t"]


def change_instant(cat: Catalog, product: np.ndarray, day: np.ndarray, t0: int) -> np.ndarray:
    """When the product version showing a day's change is stamped (core.build_world's products)."""
    return t0 + day * DAY + 14 * 3600 + product * 7


def build_subscriptions(cat: Catalog, ppl: People, seed: int, rate: float, t0: int, n_days: int) -> pd.DataFrame:
    """One row per sign-up; ``awaits_t`` is the restock (back_in_stock, wishlist) or price cut
    (price_drop) it was made before (-1: none came within the simulation)."""
    if rate <= 0:
        return pd.DataFrame(columns=COLUMNS)
    rng = np.random.default_rng([seed, 29])
    main = ~cat.is_addon[cat.v_product]
    rows = []

    def sign_up(variant: int, kind: str, start: int, end: int, awaits: int) -> None:
        """Sign-ups by people already known to the store, at random instants in [start, end)."""
        for _ in range(rng.poisson(rate)):
            t = int(rng.integers(start, end))
            known = np.flatnonzero((ppl.arrival < t) & ~ppl.bad_email)  # bought or signed up by then
            if not len(known):
                return
            person = int(rng.choice(known))
            cancelled = int(rng.integers(t, max(end, t + 1))) if rng.random() < CANCELLED_SHARE else -1
            rows.append((person, variant, kind, t, cancelled, awaits))

    for variant in np.flatnonzero(main):
        product = int(cat.v_product[variant])
        stock = cat.stock[variant]
        out = np.flatnonzero((stock[1:] == 0) & (stock[:-1] > 0)) + 1  # first sold-out days
        for first in out:
            back = first + int(np.argmax(stock[first:] > 0)) if (stock[first:] > 0).any() else n_days
            start = int(change_instant(cat, np.array(product), np.array(first), t0))
            end = int(change_instant(cat, np.array(product), np.array(back), t0)) if back < n_days else t0 + n_days * DAY
            awaits = end if back < n_days else -1
            sign_up(int(variant), "back_in_stock" if rng.random() < 0.7 else "wishlist", start, end, awaits)
        price = cat.price[variant]
        cuts = np.flatnonzero(price[1:] < price[:-1]) + 1
        for day in cuts:
            cut = int(change_instant(cat, np.array(product), np.array(day), t0))
            start = max(t0, cut - PRICE_DROP_LEAD_DAYS * DAY)
            if start < cut:
                sign_up(int(variant), "price_drop", start, cut, cut)

    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    person, variant, kind, created, cancelled, awaits = (np.array(c) for c in zip(*rows))
    order = np.lexsort((variant, created))
    person, variant, kind, created, cancelled, awaits = (
        a[order] for a in (person, variant, kind, created, cancelled, awaits))
    has_account = ppl.customer_id[person] > 0
    return pd.DataFrame({
        "subscription_id": [f"sub-{seed}-{i}" for i in range(len(order))],
        "person": person,
        "customer_id": np.where(has_account, ppl.customer_id[person], 0),
        "email": [ppl.email[p] for p in person],
        "product_id": cat.product_id[cat.v_product[variant]],
        "variant_id": cat.variant_id[variant],
        "kind": kind,
        "created_t": created,
        "cancelled_t": np.where(cancelled >= 0, np.maximum(cancelled, created), -1),
        "awaits_t": awaits,
    })


def subscription_record(row, ts, cancelled: bool) -> dict:
    """The app's export line: Shopify's customer id when the person has an account, else the email."""
    return {
        "subscription_id": row.subscription_id,
        "customer_id": int(row.customer_id) or None,
        "email": row.email,
        "product_id": int(row.product_id),
        "variant_id": int(row.variant_id),
        "kind": row.kind,
        "created_at": ts(int(row.created_t)),
        "cancelled_at": ts(int(row.cancelled_t)) if cancelled else None,
    }


def write_subscription_truth(frame: pd.DataFrame, sim_dir: Path) -> None:
    def at(col):
        return utc_times(frame[col], frame.index)

    truth = frame.drop(columns=["created_t", "cancelled_t", "awaits_t"]).assign(
        created_at=at("created_t"), cancelled_at=at("cancelled_t"), awaits_at=at("awaits_t"))
    truth.to_parquet(sim_dir / "subscriptions.parquet", index=False)
