"""The catalogue: products, variants, prices that change, stock that runs out and returns.

Consumables carry their replenishment cycle in the product tags (``replenish_days:28``)
and in ``product_type`` (``Coffee``, ``Tea``, ``Skincare``, ``Supplements``, ``Candles``).
Add-ons (gift wrap, samples, stickers, cards) never change price or run out; orders use
them to make up the last dollars of the modelled spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clock import DAY

# category, product_type, replenish_days (0 = not consumable), price range ($), variants, n products, weight
CATEGORIES = [
    ("coffee", "Coffee", (21, 35), (14, 24), ["Whole Bean", "Ground"], 22, 1.6),
    ("tea", "Tea", (30, 45), (9, 19), ["Loose Leaf", "Sachets"], 16, 1.0),
    ("skincare", "Skincare", (45, 60), (18, 68), ["50 ml", "100 ml"], 20, 1.2),
    ("supplements", "Supplements", (30, 30), (22, 45), ["30 count", "60 count"], 10, 0.7),
    ("candles", "Candles", (60, 75), (22, 34), ["Standard"], 12, 0.6),
    ("apparel", "Apparel", (0, 0), (24, 78), ["S", "M", "L", "XL"], 26, 0.9),
    ("accessories", "Accessories", (0, 0), (16, 85), ["Black", "Sand", "Olive"], 24, 0.9),
    ("home", "Home", (0, 0), (29, 120), ["Default Title"], 14, 0.5),
]
ADDONS = [("Thank-You Note", 50), ("Package Protection", 98), ("Sticker Pack", 150), ("Gift Card Envelope", 250), ("Greeting Card", 350), ("Sample Sachet", 400), ("Gift Wrap", 550), ("Paper Filters", 650), ("Travel Tin", 900)]

ADJ = ["Morning", "Velvet", "Harbor", "Juniper", "Golden", "Cedar", "Midnight", "Coastal", "Wild", "Alpine", "Ember", "Linen", "Sierra", "Maple", "Saffron", "Willow", "Copper", "Meadow", "Nordic", "Sunday"]
NOUN = {
    "coffee": ["Roast", "Espresso Blend", "Single Origin", "Decaf", "Cold Brew Blend"],
    "tea": ["Green Tea", "Earl Grey", "Chai", "Rooibos", "Oolong"],
    "skincare": ["Face Serum", "Gentle Cleanser", "Day Cream", "Night Balm", "Toner"],
    "supplements": ["Magnesium", "Vitamin D3", "Collagen", "Omega-3", "Probiotic"],
    "candles": ["Soy Candle", "Travel Candle", "Pillar Candle"],
    "apparel": ["Crew Tee", "Hoodie", "Beanie", "Socks", "Overshirt"],
    "accessories": ["Mug", "Tumbler", "Tote Bag", "Notebook", "Water Bottle"],
    "home": ["Throw Blanket", "Ceramic Vase", "Pour-Over Set", "Linen Napkins", "Serving Board"],
}


@dataclass
class Catalog:
    n_products: int
    product_id: np.ndarray
    title: list
    handle: list
    product_type: list
    category: list
    tags: list
    vendor: list
    replenish_days: np.ndarray  # per product, 0 = not consumable
    created_t: np.ndarray
    is_addon: np.ndarray
    # variants
    n_variants: int
    v_product: np.ndarray
    variant_id: np.ndarray
    v_title: list
    sku: list
    grams: np.ndarray
    v_weight: np.ndarray  # purchase popularity
    # per variant x day (day 0 = start day)
    price: np.ndarray  # int32 cents
    compare_at: np.ndarray  # int32 cents, 0 = none
    sellable: np.ndarray  # bool
    stock: np.ndarray  # int32 inventory_quantity shown
    # product emission days: sorted arrays of (day, product)
    emit_day: np.ndarray
    emit_product: np.ndarray
    consumables: np.ndarray  # product indices of consumables
    addon_variants: np.ndarray  # variant indices sorted by price
    main_variants: np.ndarray
    main_p: np.ndarray


def _nice(cents: np.ndarray) -> np.ndarray:
    """Round to a shop-like price ending (.00, .50 or .99 → cents)."""
    d = np.maximum(np.round(cents / 100.0), 1)
    return (d * 100 - np.where(d > 10, 1, 0)).astype(np.int64)


def make_catalog(rng: np.random.Generator, t0: int, n_days: int) -> Catalog:
    pid, titles, handles, ptypes, cats, tags, vendors, rep, created, addon = [], [], [], [], [], [], [], [], [], []
    v_prod, v_title, skus, base_price, v_w, grams = [], [], [], [], [], []
    next_pid = 7_402_118_000_000
    seen = set()
    for cat, ptype, (r_lo, r_hi), (p_lo, p_hi), vars_, n_prod, w in CATEGORIES:
        for _ in range(n_prod):
            while True:
                t = f"{ADJ[rng.integers(len(ADJ))]} {NOUN[cat][rng.integers(len(NOUN[cat]))]}"
                if t not in seen:
                    seen.add(t)
                    break
            pi = len(pid)
            next_pid += int(rng.integers(10_000, 3_000_000))
            pid.append(next_pid)
            titles.append(t)
            handles.append(t.lower().replace(" ", "-").replace("/", "-"))
            ptypes.append(ptype)
            cats.append(cat)
            rd = int(rng.integers(r_lo, r_hi + 1)) if r_hi else 0
            rep.append(rd)
            tg = [cat]
            if rd:
                tg += ["consumable", f"replenish_days:{rd}"]
            if rng.random() < 0.2:
                tg.append("bestseller")
            tags.append(", ".join(tg))
            vendors.append("Northwind Goods")
            # 12% of products launch during the window
            if rng.random() < 0.12:
                created.append(t0 + int(rng.integers(20, max(n_days - 20, 21))) * DAY + 15 * 3600)
            else:
                created.append(t0 - int(rng.integers(60, 1000)) * DAY + int(rng.integers(0, DAY)))
            addon.append(False)
            price = _nice(np.array([rng.uniform(p_lo, p_hi) * 100]))[0]
            pop = rng.lognormal(0, 0.7) * w
            for vt in vars_:
                v_prod.append(pi)
                v_title.append(vt)
                skus.append(f"{cat[:3].upper()}-{pi:04d}-{vt[:2].upper().replace(' ', '')}")
                base_price.append(price + (200 if vt == "XL" else 0))
                v_w.append(pop / len(vars_))
                grams.append(int(rng.integers(80, 1200)))
    for name, cents in ADDONS:
        pi = len(pid)
        next_pid += int(rng.integers(10_000, 3_000_000))
        pid.append(next_pid)
        titles.append(name)
        handles.append(name.lower().replace(" ", "-"))
        ptypes.append("Add-ons")
        cats.append("addons")
        rep.append(0)
        tags.append("addons")
        vendors.append("Northwind Goods")
        created.append(t0 - 400 * DAY)
        addon.append(True)
        v_prod.append(pi)
        v_title.append("Default Title")
        skus.append(f"ADD-{pi:04d}")
        base_price.append(cents)
        v_w.append(0.0)
        grams.append(30)

    n_p = len(pid)
    n_v = len(v_prod)
    v_prod_a = np.array(v_prod)
    created_a = np.array(created, dtype=np.int64)
    is_addon = np.array(addon)
    variant_id = 44_120_000_000_000 + np.cumsum(rng.integers(1_000, 900_000, n_v))

    price = np.repeat(np.array(base_price, dtype=np.int64)[:, None], n_days, axis=1)
    compare = np.zeros((n_v, n_days), dtype=np.int64)
    sellable = np.ones((n_v, n_days), dtype=bool)
    stock = np.repeat(rng.integers(40, 400, n_v)[:, None], n_days, axis=1)
    changes = np.zeros((n_p, n_days), dtype=bool)

    for p in range(n_p):
        if is_addon[p]:
            continue
        vs = np.flatnonzero(v_prod_a == p)
        # permanent increases
        for _ in range(rng.poisson(n_days / 300)):
            d = int(rng.integers(1, n_days))
            price[vs, d:] = _nice(price[vs, d:] * rng.uniform(1.04, 1.12))
            changes[p, d] = True
        # sales: price drops with compare_at_price
        for _ in range(rng.poisson(n_days / 110)):
            d = int(rng.integers(1, n_days))
            e = min(n_days, d + int(rng.integers(5, 22)))
            reg = price[vs, d:e].copy()
            sale = _nice(reg * (1 - rng.uniform(0.12, 0.3)))
            compare[vs, d:e] = np.where(compare[vs, d:e] > 0, compare[vs, d:e], reg)
            price[vs, d:e] = np.minimum(sale, price[vs, d:e])
            changes[p, d] = True
            if e < n_days:
                changes[p, e] = True
        # stock-outs per variant
        for v in vs:
            for _ in range(rng.poisson(n_days / 130)):
                d = int(rng.integers(1, n_days))
                e = min(n_days, d + int(rng.integers(2, 26)))
                sellable[v, d:e] = False
                stock[v, d:e] = 0
                changes[p, d] = True
                if e < n_days:
                    stock[v, e:] = int(rng.integers(40, 400))
                    changes[p, e] = True
        # not yet launched
        cd = (created_a[p] - t0) // DAY
        if cd > 0:
            sellable[vs, : min(cd + 1, n_days)] = False
            changes[p, min(cd, n_days - 1)] = True
    # first day: a full sync of every product that exists
    changes[:, 0] |= (created_a - t0) // DAY <= 0
    ed, ep = np.nonzero(changes.T)  # sorted by day then product

    consumables = np.flatnonzero(np.array(rep) > 0)
    addon_v = np.flatnonzero(is_addon[v_prod_a])
    addon_v = addon_v[np.argsort(price[addon_v, 0])]
    main_v = np.flatnonzero(~is_addon[v_prod_a])
    w = np.array(v_w)[main_v]
    return Catalog(
        n_products=n_p, product_id=np.array(pid, dtype=np.int64), title=titles, handle=handles,
        product_type=ptypes, category=cats, tags=tags, vendor=vendors, replenish_days=np.array(rep),
        created_t=created_a, is_addon=is_addon, n_variants=n_v, v_product=v_prod_a,
        variant_id=variant_id.astype(np.int64), v_title=v_title, sku=skus, grams=np.array(grams),
        v_weight=np.array(v_w), price=price.astype(np.int32), compare_at=compare.astype(np.int32),
        sellable=sellable, stock=stock.astype(np.int32), emit_day=ed.astype(np.int64),
        emit_product=ep.astype(np.int64), consumables=consumables, addon_variants=addon_v,
        main_variants=main_v, main_p=w / w.sum(),
    )
