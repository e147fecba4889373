"""Stock by location: the catalogue's stock split over the store's two locations, as Shopify's
inventory levels, one record each time a variant's quantity at a location changes.

Every variant is stocked at the warehouse; some also at the shop floor, which holds a fixed share of
its stock. The quantities always add up to the catalogue's ``stock`` (the ``inventory_quantity``
the product pages show), so stock-outs and restocks appear in both, on the same day and instant.
The split draws from a stream of its own: the rest of the store is the same with or without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalog import Catalog
from .clock import DAY

# id, name, address1, city, zip, province, province_code, country, country_code, phone
LOCATIONS = [
    (68_211_000_101, "Northwind Warehouse", "410 Terminal Ave", "Newark", "07114", "New Jersey", "NJ",
     "United States", "US", "+19735550142"),
    (68_211_000_202, "Northwind Shop Floor", "88 Orchard St", "New York", "10002", "New York", "NY",
     "United States", "US", "+12125550187"),
]
LOCATION_IDS = np.array([loc[0] for loc in LOCATIONS], dtype=np.int64)
SHARE_AT_SHOP = 0.35  # variants also stocked at the shop floor
LOCATIONS_CREATED_DAYS_BEFORE = 900


@dataclass
class Inventory:
    item_id: np.ndarray  # inventory_item_id per variant
    # one row per level record, sorted by (time, item, location)
    variant: np.ndarray
    location: np.ndarray  # index into LOCATIONS
    available: np.ndarray
    t: np.ndarray
    day: np.ndarray  # day index from the start day
    bounds: np.ndarray  # the records of day d are [bounds[d], bounds[d + 1])


def inventory_item_ids(n_variants: int) -> np.ndarray:
    """Shopify gives every variant an inventory item of its own; a fixed formula, no random draw."""
    return 45_310_000_000_000 + np.arange(n_variants, dtype=np.int64) * 1_117 + 31


def build_inventory(cat: Catalog, seed: int, t0: int, n_days: int) -> Inventory:
    rng = np.random.default_rng([seed, 23])
    n_v = cat.n_variants
    at_shop = rng.random(n_v) < SHARE_AT_SHOP
    shop_share = np.where(at_shop, rng.uniform(0.2, 0.5, n_v), 0.0)
    stock = cat.stock.astype(np.int64)
    shop = np.floor(stock * shop_share[:, None]).astype(np.int64)
    by_location = np.stack([stock - shop, shop])  # location x variant x day

    launch = np.maximum((cat.created_t[cat.v_product] - t0) // DAY, 0)  # first day a level exists
    days = np.arange(n_days)
    changed = np.zeros_like(by_location, dtype=bool)
    changed[:, :, 1:] = by_location[:, :, 1:] != by_location[:, :, :-1]
    emit = (changed & (days > launch[:, None])) | (days == launch[:, None])
    emit[1] &= at_shop[:, None]
    loc, var, day = np.nonzero(emit)

    product = cat.v_product[var]
    # the same instant as the product version showing the change (catalog and core agree on it)
    t = t0 + day * DAY + 14 * 3600 + product * 7
    t = np.where(day == 0, t0 + 6 * 3600 + var * 7, t)
    launched_now = (day > 0) & (day == launch[var])
    t = np.where(launched_now, cat.created_t[product], t)
    order = np.lexsort((loc, var, t))  # times stay inside their day, so days are in order too
    return Inventory(
        item_id=inventory_item_ids(n_v), variant=var[order], location=loc[order],
        available=by_location[loc, var, day][order], t=t[order].astype(np.int64), day=day[order],
        bounds=np.searchsorted(day[order], np.arange(n_days + 1)),
    )


def truth_frame(inv: Inventory, cat: Catalog) -> pd.DataFrame:
    """Every level the store had: what ``simulation/inventory_levels.parquet`` holds."""
    return pd.DataFrame({
        "variant_id": cat.variant_id[inv.variant], "product_id": cat.product_id[cat.v_product[inv.variant]],
        "inventory_item_id": inv.item_id[inv.variant], "location_id": LOCATION_IDS[inv.location],
        "available": inv.available, "updated_at": pd.to_datetime(inv.t, unit="s", utc=True),
    })


def location_record(k: int, created_t: int, ts) -> dict:
    lid, name, address1, city, zip_, province, pcode, country, ccode, phone = LOCATIONS[k]
    return {
        "id": lid, "name": name, "address1": address1, "address2": "", "city": city, "zip": zip_,
        "province": province, "country": ccode, "phone": phone, "created_at": ts(created_t),
        "updated_at": ts(created_t), "country_code": ccode, "country_name": country, "province_code": pcode,
        "legacy": False, "active": True, "admin_graphql_api_id": f"gid://shopify/Location/{lid}",
        "localized_country_name": country, "localized_province_name": province,
    }


def level_record(inv: Inventory, j: int, ts) -> dict:
    item, lid = int(inv.item_id[inv.variant[j]]), int(LOCATION_IDS[inv.location[j]])
    return {
        "inventory_item_id": item, "location_id": lid, "available": int(inv.available[j]),
        "updated_at": ts(int(inv.t[j])),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{lid}?inventory_item_id={item}",
    }
