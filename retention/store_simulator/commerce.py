"""Orders, checkouts, line items, fulfilments, refunds, reviews and NPS as arrays.

The modelled spend of an order (its Gamma-Gamma draw) is carried by the order's
``subtotal_price`` = ``total_line_items_price`` - ``total_discounts``: line items are drawn
from the catalogue at that day's prices until the line total reaches the draw (grossed up
for the order's discount), and the last dollars are made up with add-ons; what is left
(within 25 cents) is the only difference between the draw and ``subtotal_price``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .catalog import Catalog
from .clock import DAY, WEEK
from .people import SUBSCRIBER, People

SOURCE_NAMES = np.array(["web", "iphone", "android", "pos", "shopify_draft_order"])
SOURCE_P = np.array([0.85, 0.06, 0.04, 0.03, 0.02])
CANCEL_REASONS = np.array(["customer", "inventory", "fraud", "declined", "other"])
# code, kind ("percentage" | "fixed_amount"), value
DISCOUNTS = [
    ("WELCOME10", "percentage", 10.0),
    ("BDAY20", "percentage", 20.0),
    ("COMEBACK15", "percentage", 15.0),
    ("CARTSAVE10", "percentage", 10.0),
    ("TENOFF", "fixed_amount", 10.0),
    ("SPRING15", "percentage", 15.0),
    ("FREESHIP", "fixed_amount", 5.0),
    ("REFILL10", "percentage", 10.0),
]
D_WELCOME, D_BDAY, D_COMEBACK, D_CART, D_TENOFF, D_SEASON, D_FREESHIP, D_REFILL = range(8)
SHIPPING_CENTS = 599
FREE_SHIPPING_OVER = 5000


def group_prev(keys: np.ndarray, values: np.ndarray, fill) -> np.ndarray:
    """For arrays sorted by (keys, values): the previous value within the same key."""
    prev = np.empty_like(values)
    if len(values) == 0:
        return prev
    prev[0] = fill
    prev[1:] = values[:-1]
    same = np.zeros(len(keys), dtype=bool)
    same[1:] = keys[1:] == keys[:-1]
    prev[~same] = fill
    return prev


def build_orders(cfg, rng: np.random.Generator, ppl: People, cat: Catalog, p_person, p_time, t0: int, t1: int):
    n_mod = len(p_person)
    # extra orders cancelled soon after they are placed (not part of the modelled process)
    buyers = np.flatnonzero(ppl.kind != SUBSCRIBER)
    n_c = rng.binomial(len(buyers), cfg.share_cancelled_extra) if len(buyers) else 0
    c_person = rng.choice(buyers, n_c) if n_c else np.zeros(0, dtype=np.int64)
    c_time = ppl.arrival[c_person] + (rng.random(n_c) * (t1 - ppl.arrival[c_person])).astype(np.int64)
    person = np.concatenate([p_person, c_person]).astype(np.int64)
    t = np.concatenate([p_time, c_time]).astype(np.int64)
    modelled = np.concatenate([np.ones(n_mod, bool), np.zeros(n_c, bool)])
    o = np.lexsort((person, t))
    person, t, modelled = person[o], t[o], modelled[o]
    n = len(t)

    nu = ppl.nu[person]
    spend = np.round(rng.gamma(cfg.p_spend, 1.0 / nu), 2)
    spend = np.maximum(spend, 0.5)

    order_id = 5_901_000_000_000 + np.cumsum(rng.integers(5_000, 400_000, n)).astype(np.int64)
    source = rng.choice(len(SOURCE_NAMES), n, p=SOURCE_P)

    # fulfilment, delivery, delays
    intl = ppl.country[person] != 0
    fulfil = t + (rng.lognormal(np.log(20 * 3600), 0.6, n)).astype(np.int64)
    transit = np.where(intl, rng.uniform(5, 12, n), rng.uniform(1.5, 5.5, n)) * DAY
    delayed = rng.random(n) < 0.06
    expected = fulfil + transit.astype(np.int64)
    deliver = expected + np.where(delayed, rng.uniform(2, 9, n) * DAY, 0).astype(np.int64)

    cancelled = ~modelled
    cancel_t = np.where(cancelled, t + (rng.uniform(0.2, 30, n) * 3600).astype(np.int64), -1)
    cancel_reason = rng.choice(len(CANCEL_REASONS), n, p=[0.5, 0.15, 0.1, 0.15, 0.1])
    fulfil[cancelled] = -1
    deliver[cancelled] = -1
    expected[cancelled] = -1
    delayed &= ~cancelled

    refund_kind = np.zeros(n, dtype=np.int8)  # 1 full, 2 partial (decided after line items)
    r = modelled & (rng.random(n) < cfg.share_refunded)
    refund_kind[r] = np.where(rng.random(int(r.sum())) < 0.4, 1, 2)
    refund_t = np.where(r, deliver + (rng.uniform(2, 30, n) * DAY).astype(np.int64), -1)

    # previous order of the same person (for replenishment and win-back logic)
    so = np.lexsort((t, person))
    prev_sorted = group_prev(person[so], t[so], -1)
    prev_t = np.empty(n, dtype=np.int64)
    prev_t[so] = prev_sorted

    # consumable re-buy: likeliest when the order falls near the product's cycle
    fav = ppl.fav_consumable[person]
    has_fav = fav >= 0
    fav_prod = np.where(has_fav, cat.consumables[np.clip(fav, 0, len(cat.consumables) - 1)], -1)
    cycle = np.where(has_fav, cat.replenish_days[np.clip(fav_prod, 0, None)], 0) * DAY
    gap = np.where(prev_t >= 0, t - prev_t, -1)
    pr = np.where(prev_t < 0, 0.6,
         np.where(gap < 0.75 * cycle, 0.15, np.where(gap <= 1.4 * cycle, 0.85, 0.5)))
    day = np.clip((t - t0) // DAY, 0, cat.price.shape[1] - 1)
    # the variant they buy (first variant of the product, or second for 40%)
    first_v = np.searchsorted(cat.v_product, np.clip(fav_prod, 0, None))
    nvar = np.bincount(cat.v_product, minlength=cat.n_products)[np.clip(fav_prod, 0, None)]
    alt = person % 5 < 2
    fav_v = first_v + np.where(alt & (nvar > 1), 1, 0)
    cons = has_fav & (rng.random(n) < pr) & cat.sellable[fav_v, day] & (cat.price[fav_v, day] <= spend * 100)

    recovered = modelled & (rng.random(n) < cfg.share_recovered)
    rec_lag = (rng.uniform(1.5, 72, n) * 3600).astype(np.int64)
    rec_ck_t = np.where(recovered, np.maximum(t - rec_lag, t0), -1)
    recovered &= rec_ck_t < t - 3600

    return SimpleNamespace(
        n=n, person=person, t=t, modelled=modelled, spend=spend, order_id=order_id, source=source,
        fulfil=fulfil, expected=expected, deliver=deliver, delayed=delayed, cancel_t=cancel_t,
        cancel_reason=cancel_reason, refund_kind=refund_kind, refund_t=refund_t, prev_t=prev_t,
        cons=cons, cons_variant=fav_v, cycle=cycle, recovered=recovered, rec_ck_t=rec_ck_t, day=day,
        discount=np.full(n, -1, dtype=np.int8),
    )


def build_abandoned(cfg, rng, ppl: People, cat: Catalog, orders, dropout, t0: int, t1: int):
    """Abandoned checkouts that were never recovered (recovered ones come from orders)."""
    n = ppl.n
    start = np.where(ppl.kind == SUBSCRIBER, ppl.arrival, np.maximum(ppl.arrival - 30 * DAY, t0))
    stop = np.where(dropout >= 0, np.minimum(dropout + 60 * DAY, t1), t1)
    stop = np.maximum(stop, start)
    rate = np.where(ppl.kind == SUBSCRIBER, cfg.abandoned_rate_per_week * 0.3, cfg.abandoned_rate_per_week)
    k = rng.poisson(rate * (stop - start) / WEEK)
    person = np.repeat(np.arange(n), k)
    ts = np.repeat(start, k) + (rng.random(int(k.sum())) * np.repeat(stop - start, k)).astype(np.int64)
    o = np.argsort(ts, kind="stable")
    return person[o], ts[o]


def assign_lines(rng, cat: Catalog, person, day, target_cents, cons_mask, cons_variant, max_main=30):
    """Fill each order's line total up to target_cents from the catalogue (vectorised).

    Returns flat arrays (order, variant, qty, unit_price_cents) sorted by order.
    """
    n = len(target_cents)
    R = target_cents.astype(np.int64).copy()
    L_o, L_v, L_q = [], [], []

    def add(idx, v, q):
        L_o.append(idx)
        L_v.append(v)
        L_q.append(q)

    # the customer's consumable first
    idx = np.flatnonzero(cons_mask)
    if len(idx):
        v = cons_variant[idx]
        pr = cat.price[v, day[idx]].astype(np.int64)
        q = np.where((rng.random(len(idx)) < 0.18) & (2 * pr <= R[idx]), 2, 1)
        ok = pr * q <= R[idx]
        add(idx[ok], v[ok], q[ok])
        R[idx[ok]] -= (pr * q)[ok]

    min_main = 900
    active = np.flatnonzero(R >= min_main)
    for _ in range(max_main):
        if len(active) == 0:
            break
        v = cat.main_variants[rng.choice(len(cat.main_variants), len(active), p=cat.main_p)]
        d = day[active]
        pr = cat.price[v, d].astype(np.int64)
        ok = cat.sellable[v, d] & (pr <= R[active])
        q = np.where((rng.random(len(active)) < 0.1) & (2 * pr <= R[active]), 2, 1)
        a = active[ok]
        add(a, v[ok], q[ok])
        R[a] -= (pr * q)[ok]
        # orders with nothing yet keep trying; others stop with a probability so baskets vary
        active = active[R[active] >= min_main]
    # add-ons make up the rest
    av = cat.addon_variants
    ap = cat.price[av, 0].astype(np.int64)
    for _ in range(4):
        j = np.searchsorted(ap, R, side="right") - 1
        idx = np.flatnonzero(j >= 0)
        if len(idx) == 0:
            break
        p_ = ap[j[idx]]
        q = np.minimum(R[idx] // p_, 3)
        add(idx, av[j[idx]], q)
        R[idx] -= p_ * q
    # round to the nearest cent-wise: one more 50c add-on when that gets closer to the draw
    idx = np.flatnonzero(R * 2 > ap[0])
    if len(idx):
        add(idx, np.full(len(idx), av[0]), np.ones(len(idx), dtype=np.int64))
        R[idx] -= ap[0]
    # every order has at least one line
    have = np.zeros(n, dtype=bool)
    if L_o:
        have[np.concatenate(L_o)] = True
    none = np.flatnonzero(~have)
    if len(none):
        add(none, np.full(len(none), av[0]), np.ones(len(none), dtype=np.int64))

    lo = np.concatenate(L_o).astype(np.int64)
    lv = np.concatenate(L_v).astype(np.int64)
    lq = np.concatenate(L_q).astype(np.int64)
    # merge repeated variants in one order into one line
    key = lo * (cat.n_variants + 1) + lv
    uk, inv = np.unique(key, return_inverse=True)
    q = np.bincount(inv, weights=lq).astype(np.int64)
    lo = uk // (cat.n_variants + 1)
    lv = uk % (cat.n_variants + 1)
    price = cat.price[lv, day[lo]].astype(np.int64)
    return lo, lv, q, price


def finish_orders(cfg, rng, cat: Catalog, orders):
    """Discounts, line items, totals, refunds (after discounts are known)."""
    o = orders
    pct = np.zeros(o.n)
    fixed = np.zeros(o.n, dtype=np.int64)
    has = o.discount >= 0
    for k, (_code, kind, val) in enumerate(DISCOUNTS):
        m = o.discount == k
        if kind == "percentage":
            pct[m] = val / 100
        else:
            fixed[m] = int(val * 100)
    spend_c = np.round(o.spend * 100).astype(np.int64)
    target = np.where(pct > 0, np.round(spend_c / (1 - pct)), spend_c + fixed).astype(np.int64)
    lo, lv, lq, lp = assign_lines(rng, cat, o.person, o.day, target, o.cons, o.cons_variant)
    line_total = np.bincount(lo, weights=lq * lp, minlength=o.n).astype(np.int64)
    disc = np.where(pct > 0, np.round(line_total * pct), np.minimum(fixed, line_total)).astype(np.int64)
    disc[~has] = 0
    subtotal = line_total - disc
    # per-line discount allocation (proportional, remainder on the first line)
    lt = lq * lp
    alloc = np.floor(lt * np.where(line_total[lo] > 0, disc[lo] / np.maximum(line_total[lo], 1), 0)).astype(np.int64)
    starts = np.searchsorted(lo, np.arange(o.n))
    rem = disc - np.bincount(lo, weights=alloc, minlength=o.n).astype(np.int64)
    alloc[starts[rem != 0]] += rem[rem != 0]

    tax_rate = np.where(o.person % 7 == 0, 0.0, np.where(o.person % 3 == 0, 0.0625, 0.0725))
    tax = np.round(subtotal * tax_rate).astype(np.int64)
    line_tax = np.round(np.maximum(lt - alloc, 0) * tax_rate[lo]).astype(np.int64)
    shipping = np.where((subtotal >= FREE_SHIPPING_OVER) | (o.discount == D_FREESHIP), 0, SHIPPING_CENTS)
    total = subtotal + tax + shipping

    # refunds: full refunds return everything, partial ones one line (with its tax)
    n_lines = np.bincount(lo, minlength=o.n)
    o.refund_kind[(o.refund_kind == 2) & (n_lines < 2)] = 1
    rl = np.full(o.n, -1, dtype=np.int64)
    part = np.flatnonzero(o.refund_kind == 2)
    if len(part):
        rl[part] = starts[part] + (rng.random(len(part)) * n_lines[part]).astype(np.int64)
    refund_amt = np.zeros(o.n, dtype=np.int64)
    refund_sub = np.zeros(o.n, dtype=np.int64)
    full = o.refund_kind == 1
    refund_amt[full] = total[full]
    refund_sub[full] = subtotal[full]
    if len(part):
        li = rl[part]
        refund_sub[part] = lt[li] - alloc[li]
        refund_amt[part] = refund_sub[part] + line_tax[li]
    line_item_id = 14_503_000_000_000 + np.cumsum(rng.integers(1_000, 60_000, len(lo))).astype(np.int64)
    o.__dict__.update(
        line_order=lo, line_variant=lv, line_qty=lq, line_price=lp, line_alloc=alloc, line_tax=line_tax,
        line_start=starts, n_lines=n_lines, line_item_id=line_item_id, line_total=line_total,
        disc=disc, subtotal=subtotal, tax=tax, tax_rate=tax_rate, shipping=shipping, total=total,
        refund_line=rl, refund_amt=refund_amt, refund_sub=refund_sub,
        refund_id=np.where(o.refund_kind > 0, 1_020_000_000_000 + np.arange(o.n) * 7 + 3, -1),
        fulfillment_id=np.where(o.fulfil >= 0, 5_180_000_000_000 + np.arange(o.n) * 11 + 5, -1),
    )
    return o


def random_cart(rng, cat: Catalog, day):
    """1-3 random lines for abandoned checkouts: (owner, variant, qty, price)."""
    n = len(day)
    k = np.minimum(1 + rng.poisson(0.7, n), 3)
    owner = np.repeat(np.arange(n), k)
    v = cat.main_variants[rng.choice(len(cat.main_variants), len(owner), p=cat.main_p)]
    d = day[owner]
    ok = cat.sellable[v, d]
    # unsellable picks fall back to an add-on so every cart has something
    v = np.where(ok, v, cat.addon_variants[-1])
    key = owner * (cat.n_variants + 1) + v
    uk = np.unique(key)
    owner = uk // (cat.n_variants + 1)
    v = uk % (cat.n_variants + 1)
    q = np.ones(len(v), dtype=np.int64)
    return owner, v, q, cat.price[v, day[owner]].astype(np.int64)
