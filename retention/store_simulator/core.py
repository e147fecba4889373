"""Runs the simulation: latent processes (vectorised), then one delivery day at a time."""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from . import writer as writer_mod
from .catalog import make_catalog
from .clock import DAY, Clock, date_of_index, day_index, utc_times
from .commerce import (
    D_BDAY,
    D_CART,
    D_COMEBACK,
    D_FREESHIP,
    D_REFILL,
    D_SEASON,
    D_TENOFF,
    D_WELCOME,
    DISCOUNTS,
    build_abandoned,
    build_orders,
    finish_orders,
    random_cart,
)
from .config import SimConfig
from .feedback import build_nps, build_reviews, build_web, review_truth, web_session_truth
from .inventory import build_inventory, truth_frame
from .marketing import F_BDAY, F_CART, F_REFILL, F_WINBACK, build_email, build_sms
from .people import ACCOUNT, GUEST, SUBSCRIBER, make_people, make_pools, simulate_purchases
from .referrals import plant_referrals, write_referral_truth
from .render import h
from .subscriptions import build_subscriptions, write_subscription_truth
from .writer import SOURCES, DayWriter


class ForeignInboxError(RuntimeError):
    """The output directory holds an inbox that the simulator did not write."""


def _table(rng, key, t, day0: int, day_end: int, rate: float, aux=None):
    key = np.asarray(key, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    nat = np.maximum(t // DAY, day0)
    late = rng.random(len(t)) < rate * 0.15
    dday = nat + np.where(late, rng.integers(1, 5, len(t)), 0)
    late &= dday <= day_end
    dday = np.where(late, dday, nat)
    perm = np.lexsort((t, dday))
    bounds = np.searchsorted(dday[perm], np.arange(day0, day_end + 2))
    return SimpleNamespace(key=key, t=t, late=late, dday=dday, perm=perm, bounds=bounds,
                           aux=None if aux is None else np.asarray(aux, dtype=np.int64))


def _latest_send_before(sends, flow: int, person, t):
    """Time of the latest kept send of `flow` to `person` strictly before t (-1 if none)."""
    m = sends.keep & (sends.flow == flow)
    sp, st = sends.person[m], sends.t[m]
    base = int(st.min()) - 1 if len(st) else 0
    key = sp * (1 << 33) + (st - base)
    o = np.argsort(key)
    key = key[o]
    q = person * (1 << 33) + (t - base)
    j = np.searchsorted(key, q, side="left") - 1
    ok = j >= 0
    jj = np.clip(j, 0, None)
    found = ok & (key[jj] >> 33 == person) if len(key) else np.zeros(len(t), bool)
    out = np.full(len(t), -1, dtype=np.int64)
    if len(key):
        out[found] = (key[jj][found] & ((1 << 33) - 1)) + base
    return out


def build_world(cfg: SimConfig) -> SimpleNamespace:
    ss = np.random.SeedSequence(cfg.seed)
    rngs = [np.random.default_rng(s) for s in ss.spawn(12)]
    day0, day_end = day_index(cfg.start), day_index(cfg.end)
    t0, t1 = day0 * DAY, (day_end + 1) * DAY
    n_days = day_end - day0 + 1
    clock = Clock(cfg.timezone)

    pools = make_pools(cfg.seed)
    cat = make_catalog(rngs[0], t0, n_days)
    ppl = make_people(cfg, rngs[1], pools, t0, t1, len(cat.consumables))
    p_person, p_time, dropout = simulate_purchases(cfg, rngs[2], ppl, t1)
    orders = build_orders(cfg, rngs[3], ppl, cat, p_person, p_time, t0, t1)
    ab_person, ab_t = build_abandoned(cfg, rngs[4], ppl, cat, orders, dropout, t0, t1)

    sends, events, unsub_t, group_unsubs, bounced_at, camps = build_email(cfg, rngs[5], ppl, orders, ab_person, ab_t, t0, t1, dropout)

    # discount codes follow the emails people actually received
    r = rngs[6]
    n = orders.n
    u = r.random(n)
    disc = np.full(n, -1, dtype=np.int8)
    holder = ppl.kind[orders.person] == ACCOUNT
    first = orders.prev_t < 0
    disc[(first & holder & (u < 0.25))] = D_WELCOME
    seas = (disc < 0) & (u > 0.95)
    disc[seas] = r.choice([D_TENOFF, D_SEASON, D_FREESHIP], int(seas.sum()))
    for flow, code, window, prob in ((F_REFILL, D_REFILL, 7, 0.3), (F_CART, D_CART, 3, 0.35),
                                     (F_WINBACK, D_COMEBACK, 14, 0.5), (F_BDAY, D_BDAY, 10, 0.6)):
        last = _latest_send_before(sends, flow, orders.person, orders.t)
        m = (last >= 0) & (orders.t - last <= window * DAY) & (r.random(n) < prob)
        disc[m] = code
    orders.discount = disc
    finish_orders(cfg, rngs[7], cat, orders)
    referrals = plant_referrals(cfg, ppl, pools, orders, t1)

    # checkouts: one per order (index = order index), then never-recovered abandoned ones
    n_ab = len(ab_t)
    ab_day = np.clip((ab_t - t0) // DAY, 0, n_days - 1)
    a_own, a_v, a_q, a_p = random_cart(rngs[8], cat, ab_day)
    ck_created = np.concatenate([np.where(orders.recovered, orders.rec_ck_t, orders.t - r.integers(60, 900, n)), ab_t])
    ck = SimpleNamespace(
        n=n + n_ab,
        person=np.concatenate([orders.person, ab_person]).astype(np.int64),
        created=ck_created.astype(np.int64),
        order=np.concatenate([np.arange(n), np.full(n_ab, -1)]).astype(np.int64),
        abandoned=np.concatenate([orders.recovered, np.ones(n_ab, bool)]),
        checkout_id=(31_400_000_000_000 + np.arange(n + n_ab) * 17 + 3).astype(np.int64),
        line_start=np.concatenate([np.zeros(n, np.int64), np.searchsorted(a_own, np.arange(n_ab))]),
        n_lines=np.concatenate([np.zeros(n, np.int64), np.bincount(a_own, minlength=n_ab)]),
    )
    ck.updated = ck.created + r.integers(60, 1200, ck.n)

    msgs, status, inbound, sms_stop_t, sms_start_t = build_sms(cfg, rngs[9], ppl, orders, ab_person, ab_t, t0, t1)
    sessions, web = build_web(cfg, rngs[10], ppl, cat, orders, ab_person, ab_t, (a_own, a_v), dropout, t0, t1)
    reviews = build_reviews(cfg, rngs[11], cat, orders, t1)
    nps = build_nps(cfg, rngs[11], ppl, orders, t1)

    w = SimpleNamespace(
        cfg=cfg, seed=cfg.seed, clock=clock, pools=pools, cat=cat, ppl=ppl, orders=orders, dropout=dropout,
        ck=ck, ab_lines_v=a_v, ab_lines_q=a_q, ab_lines_p=a_p, order_ck_idx=np.arange(n),
        order_ck_id=ck.checkout_id[:n], email_unsub_t=unsub_t, email_group_unsubs=group_unsubs, bounced_at=bounced_at, sms_stop_t=sms_stop_t,
        sms_start_t=sms_start_t, sends=sends, events=events, camp_dates=[clock._date(int(c) // DAY) for c in camps],
        msgs=msgs, status=status, inbound=inbound, web=web, sessions=sessions, reviews=reviews, nps=nps,
        t0=t0, t1=t1, day0=day0, day_end=day_end, t_mid=(t0 + t1) // 2, dirt_rate=cfg.dirt_rate,
        account_sid="AC" + h(cfg.seed, "account", 0),
        v_first=np.searchsorted(cat.v_product, np.arange(cat.n_products)),
        v_count=np.bincount(cat.v_product, minlength=cat.n_products),
        inventory=build_inventory(cat, cfg.seed, t0, n_days), referrals=referrals,
        subscriptions=build_subscriptions(cat, ppl, cfg.seed, cfg.subscription_rate, t0, n_days),
    )
    lr = np.random.default_rng([cfg.seed, 17])
    rate = cfg.dirt_rate

    # customers: created, birthday tag added, e-mail unsubscribed, SMS stopped / restarted
    hold = np.flatnonzero(ppl.kind != GUEST)
    parts_k, parts_t = [hold], [ppl.signup[hold]]
    for arr in (ppl.birthday_added_later, unsub_t, sms_stop_t, sms_start_t):
        m = hold[(arr[hold] >= 0) & (arr[hold] < t1)]
        parts_k.append(m)
        parts_t.append(arr[m])
    ck_ = np.concatenate(parts_k)
    ct_ = np.concatenate(parts_t)
    mm = ct_ < t1
    o = np.lexsort((ck_[mm], ct_[mm]))
    w.em_cust = _table(lr, ck_[mm][o], ct_[mm][o], day0, day_end, rate)

    # orders: a version per day with a change (created, fulfilled, delay, delivered, refunded, cancelled)
    parts = [orders.t, orders.fulfil, np.where(orders.delayed, orders.expected, -1), orders.deliver, orders.refund_t, orders.cancel_t]
    ok_, ot_ = [], []
    for p in parts:
        m = (p >= 0) & (p < t1)
        ok_.append(np.flatnonzero(m))
        ot_.append(p[m])
    ok_ = np.concatenate(ok_)
    ot_ = np.concatenate(ot_)
    o = np.lexsort((ot_, ok_))
    ok_, ot_ = ok_[o], ot_[o]
    od = np.maximum(ot_ // DAY, day0)
    last = np.ones(len(ok_), bool)
    last[:-1] = (ok_[1:] != ok_[:-1]) | (od[1:] != od[:-1])
    ok_, ot_ = ok_[last], ot_[last]
    o = np.lexsort((ok_, ot_))
    w.em_order = _table(lr, ok_[o], ot_[o], day0, day_end, rate)

    # abandoned checkouts (and the completion of recovered ones)
    ab = np.flatnonzero(ck.abandoned & (ck.updated < t1))
    rec = np.flatnonzero(ck.abandoned & (ck.order >= 0))
    rec = rec[orders.t[ck.order[rec]] < t1]
    kk = np.concatenate([ab, rec])
    tt = np.concatenate([ck.updated[ab], orders.t[ck.order[rec]]])
    o = np.lexsort((kk, tt))
    w.em_ck = _table(lr, kk[o], tt[o], day0, day_end, rate)

    # products: full sync on the first day, then whenever price or stock changes
    ed, ep = cat.emit_day, cat.emit_product
    pt = np.where(ed == 0, np.minimum(cat.created_t[ep], t0 + 6 * 3600), t0 + ed * DAY + 14 * 3600 + ep * 7)
    pt = np.where((ed > 0) & ((cat.created_t[ep] - t0) // DAY == ed), cat.created_t[ep], pt)
    w.em_prod = _table(lr, ep, pt, day0, day_end, 0.0, aux=ed)

    w.em_sg = _table(lr, np.arange(events.n), events.t, day0, day_end, rate)
    w.em_status = _table(lr, np.arange(status.n), status.t, day0, day_end, rate)
    w.em_inbound = _table(lr, np.arange(inbound.n), inbound.t, day0, day_end, rate)
    w.em_web = _table(lr, np.arange(web.n), web.t, day0, day_end, rate)
    w.em_reviews = _table(lr, np.arange(reviews.n), reviews.t, day0, day_end, rate)
    w.em_nps = _table(lr, np.arange(nps.n), nps.t, day0, day_end, rate)
    return w


def _nint(values, mask) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=np.int64), dtype="Int64").mask(~np.asarray(mask, dtype=bool))


def write_ground_truth(w, sim_dir: Path, dirt_rows, summary) -> None:
    cfg, ppl, o, cat, ck = w.cfg, w.ppl, w.orders, w.cat, w.ck
    t1 = w.t1
    modelled = o.modelled
    n_orders = np.bincount(o.person[modelled], minlength=ppl.n)
    holder = ppl.kind != GUEST
    bday = [None if b < 0 else (date_of_index(int(b)).isoformat()[5:] if ny else date_of_index(int(b)).isoformat())
            for b, ny in zip(ppl.birthday, ppl.birthday_no_year)]
    cust = pd.DataFrame({
        "person": np.arange(ppl.n),
        "customer_id": _nint(np.where(holder, ppl.customer_id, 0), holder),
        "email": ppl.email,
        "phone": ppl.phone,
        "kind": np.array(["account", "guest", "subscriber"])[ppl.kind],
        "guest": ppl.kind == GUEST,
        "subscriber_only": ppl.kind == SUBSCRIBER,
        "signup_at": utc_times(ppl.signup),
        "arrival_at": utc_times(ppl.arrival),
        "first_purchase_at": utc_times(np.where(ppl.kind != SUBSCRIBER, ppl.arrival, -1)),
        "lambda_per_week": ppl.lam,
        "p_dropout": ppl.p_drop,
        "nu": ppl.nu,
        "expected_spend": cfg.p_spend / ppl.nu,
        "dropout_at": utc_times(w.dropout),
        "alive_at_end": (ppl.kind != SUBSCRIBER) & (w.dropout < 0),
        "n_orders": n_orders,
        "n_repeat_orders": np.maximum(n_orders - 1, 0),
        "T_weeks": np.where(ppl.kind != SUBSCRIBER, (t1 - ppl.arrival) / (7 * DAY), np.nan),
        "birthday": bday,
        "birthday_tag_added_at": utc_times(np.where(ppl.birthday >= 0, np.where(ppl.birthday_added_later >= 0, ppl.birthday_added_later, ppl.signup), -1)),
        "email_consent": ppl.email_optin,
        "email_unsubscribed_at": utc_times(w.email_unsub_t),
        "email_group_unsubscribed_at": utc_times(w.email_group_unsubs.t),
        "email_unsubscribed_group": _nint(w.email_group_unsubs.group, w.email_group_unsubs.t >= 0),
        "email_bounced_at": utc_times(w.bounced_at),
        "sms_consent": ppl.sms_optin,
        "sms_stopped_at": utc_times(w.sms_stop_t),
        "sms_restarted_at": utc_times(w.sms_start_t),
        "engagement": ppl.engagement,
        "bad_email": ppl.bad_email,
        "country": np.array([c for c in ("US", "CA", "GB", "AU", "DE")])[ppl.country],
        "favourite_consumable_product_id": _nint(np.where(ppl.fav_consumable >= 0, cat.product_id[cat.consumables[np.clip(ppl.fav_consumable, 0, None)]], 0), ppl.fav_consumable >= 0),
        "anonymous_id": ppl.anon_id,
    })
    cust.to_parquet(sim_dir / "customers.parquet", index=False)

    delivered = np.where((o.deliver >= 0) & (o.deliver < t1), o.deliver, -1)
    fulfilled = np.where((o.fulfil >= 0) & (o.fulfil < t1), o.fulfil, -1)
    refunded_at = np.where((o.refund_t >= 0) & (o.refund_t < t1), o.refund_t, -1)
    cancelled_at = np.where((o.cancel_t >= 0) & (o.cancel_t < t1), o.cancel_t, -1)
    pc = o.person
    ords = pd.DataFrame({
        "order_id": o.order_id,
        "name": [f"#{1001 + k}" for k in range(o.n)],
        "person": pc,
        "customer_id": _nint(np.where(holder[pc], ppl.customer_id[pc], 0), holder[pc]),
        "email": [ppl.email[i] for i in pc],
        "guest": ppl.kind[pc] == GUEST,
        "created_at": utc_times(o.t),
        "modelled": modelled,
        "modelled_spend": o.spend,
        "subtotal_price": o.subtotal / 100,
        "total_line_items_price": o.line_total / 100,
        "total_discounts": o.disc / 100,
        "discount_code": [DISCOUNTS[d][0] if d >= 0 else None for d in o.discount],
        "total_tax": o.tax / 100,
        "shipping": o.shipping / 100,
        "total_price": o.total / 100,
        "refunded_amount": np.where(refunded_at >= 0, o.refund_amt, 0) / 100,
        "refund_kind": np.array([None, "full", "partial"], dtype=object)[np.where(refunded_at >= 0, o.refund_kind, 0)],
        "refunded_at": utc_times(refunded_at),
        "cancelled_at": utc_times(cancelled_at),
        "fulfilled_at": utc_times(fulfilled),
        "delivered_at": utc_times(delivered),
        "shipment_delayed": o.delayed,
        "n_line_items": o.n_lines,
        "includes_favourite_consumable": o.cons,
        "recovered_checkout": o.recovered,
        "checkout_id": w.order_ck_id,
        "checkout_token": [h(w.seed, "ck", int(c)) for c in w.order_ck_idx],
        "source_name": np.array(["web", "iphone", "android", "pos", "shopify_draft_order"])[o.source],
    })
    ords.to_parquet(sim_dir / "orders.parquet", index=False)

    ckp = ck.person
    abandoned_at = np.where(ck.abandoned, ck.created + 3600, -1)
    rec_at = np.where(ck.abandoned & (ck.order >= 0), o.t[np.clip(ck.order, 0, None)], -1)
    keep = ck.created < t1
    cks = pd.DataFrame({
        "checkout_id": ck.checkout_id,
        "token": [h(w.seed, "ck", c) for c in range(ck.n)],
        "cart_token": [h(w.seed, "cart", c) for c in range(ck.n)],
        "person": ckp,
        "customer_id": _nint(np.where(holder[ckp] & (ppl.signup[ckp] <= ck.created), ppl.customer_id[ckp], 0), holder[ckp] & (ppl.signup[ckp] <= ck.created)),
        "email": [ppl.email[i] for i in ckp],
        "created_at": utc_times(ck.created),
        "abandoned": ck.abandoned,
        "abandoned_at": utc_times(abandoned_at),
        "recovered_at": utc_times(np.where(rec_at < t1, rec_at, -1)),
        "order_id": _nint(np.where(ck.order >= 0, o.order_id[np.clip(ck.order, 0, None)], 0), ck.order >= 0),
        "in_inbox": ck.abandoned & (ck.updated < t1),
    })[keep]
    cks.to_parquet(sim_dir / "checkouts.parquet", index=False)

    prods = pd.DataFrame({
        "product_id": cat.product_id, "title": cat.title, "product_type": cat.product_type,
        "category": cat.category, "replenish_days": cat.replenish_days, "created_at": utc_times(cat.created_t),
        "is_addon": cat.is_addon,
    })
    prods.to_parquet(sim_dir / "products.parquet", index=False)
    truth_frame(w.inventory, cat).to_parquet(sim_dir / "inventory_levels.parquet", index=False)

    if cfg.referral_rate > 0:
        write_referral_truth(w.referrals, sim_dir)
    if cfg.subscription_rate > 0:
        write_subscription_truth(w.subscriptions, sim_dir)
    web_session_truth(w.web, w.sessions).to_parquet(sim_dir / "web_sessions.parquet", index=False)
    review_truth(w.reviews).to_parquet(sim_dir / "reviews.parquet", index=False)

    dirt = pd.DataFrame(dirt_rows, columns=["source", "table", "day", "file", "kind", "malformed", "record_id", "locator"])
    dirt.to_parquet(sim_dir / "dirt.parquet", index=False)

    params = {
        "time_unit": "week",
        "bgnbd": {"r": cfg.r, "alpha": cfg.alpha, "a": cfg.a, "b": cfg.b},
        "gamma_gamma": {"p": cfg.p_spend, "q": cfg.q_spend, "gamma": cfg.gamma_spend,
                        "spend_field": "orders.subtotal_price (= total_line_items_price - total_discounts)"},
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        "end": cfg.end.isoformat(),
        "observation_end": pd.Timestamp(t1, unit="s", tz="UTC").isoformat(),
        "timezone": cfg.timezone,
        "dirt_rate": cfg.dirt_rate,
        "config": cfg.to_json(),
        "counts": summary["counts"],
        "inbox": {k: v for k, v in summary["sources"].items()},
        "dirt": {"records": int(len(dirt)), "malformed": int(dirt["malformed"].sum()) if len(dirt) else 0},
        "notes": {
            "folder_day": "inbox/<source>/<YYYY-MM-DD> is the UTC day the data arrived (late records land 1-4 days later)",
            "modelled_orders": "orders.parquet modelled=True are the BG/NBD purchases; modelled=False are extra orders cancelled soon after",
            "first_purchase": "BG/NBD clock starts at each buyer's first purchase (arrival); repeat purchases follow",
        },
    }
    (sim_dir / "params.json").write_text(json.dumps(params, indent=2, default=str))


def simulate(config: SimConfig, out_dir) -> dict:
    """Simulate the store into ``out_dir`` (the data directory); returns a summary dict."""
    started = time.perf_counter()
    cfg = config.resolved()
    out = Path(out_dir)
    inbox, sim_dir = out / "inbox", out / "simulation"
    if inbox.exists() and not (sim_dir / "params.json").exists():
        raise ForeignInboxError(
            f"{inbox} exists but {sim_dir / 'params.json'} does not: the inbox holds data the simulator "
            "did not write; refusing to replace it. Use another --out or move the inbox away.")
    for d in (inbox, sim_dir):
        if d.exists():
            shutil.rmtree(d)
    sim_dir.mkdir(parents=True, exist_ok=True)
    # claim the inbox first, so an interrupted run can be replaced by the next one
    (sim_dir / "params.json").write_text(json.dumps({"status": "incomplete", "seed": cfg.seed}))
    inbox.mkdir(parents=True, exist_ok=True)

    w = build_world(cfg)
    t_latent = time.perf_counter() - started
    dw = DayWriter(w, inbox)
    days = list(range(w.day0, w.day_end + 1))
    stats = {s: {"files": 0, "records": 0, "bytes": 0} for s in SOURCES}
    dirt_rows: list = []
    workers = max(1, min(int(cfg.workers), mp.cpu_count()))
    if workers > 1 and len(days) > 4:
        writer_mod._init(dw)
        ctx = mp.get_context("fork")
        with ctx.Pool(workers) as pool:
            results = pool.imap(writer_mod._run, days, chunksize=2)
            for _day, (st, dr) in results:
                _merge(stats, st)
                dirt_rows.extend(dr)
            # let the workers exit on their own: leaving the block terminates them with SIGTERM,
            # and one that ignores it (inherited from whatever started us) would hang the join
            pool.close()
            pool.join()
        writer_mod._init(None)
    else:
        for day in days:
            st, dr = dw.write_day(day)
            _merge(stats, st)
            dirt_rows.extend(dr)

    o = w.orders
    counts = {
        "people": int(w.ppl.n),
        "customers_with_account": int((w.ppl.kind != GUEST).sum()),
        "guests": int((w.ppl.kind == GUEST).sum()),
        "subscribers_only": int((w.ppl.kind == SUBSCRIBER).sum()),
        "orders": int(o.n),
        "modelled_orders": int(o.modelled.sum()),
        "cancelled_orders": int((~o.modelled).sum()),
        "abandoned_checkouts": int((w.ck.abandoned & (w.ck.updated < w.t1)).sum()),
        "recovered_checkouts": int((w.ck.abandoned & (w.ck.order >= 0)).sum()),
        "email_sends": int(w.sends.n_kept),
        "email_events": int(w.events.n),
        "sms_messages": int(w.msgs.keep.sum()),
        "web_events": int(w.web.n),
        "reviews": int(w.reviews.n),
        "nps_answers": int(w.nps.n),
    }
    summary = {
        "out": str(out),
        "start": cfg.start.isoformat(),
        "end": cfg.end.isoformat(),
        "seed": cfg.seed,
        "sources": stats,
        "files": sum(s["files"] for s in stats.values()),
        "records": sum(s["records"] for s in stats.values()),
        "bytes": sum(s["bytes"] for s in stats.values()),
        "counts": counts,
        "dirt": {"records": len(dirt_rows), "malformed": sum(1 for r in dirt_rows if r[5])},
    }
    write_ground_truth(w, sim_dir, dirt_rows, summary)
    summary["seconds_latent"] = round(t_latent, 2)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _merge(total, st):
    for s, v in st.items():
        for k in v:
            total[s][k] += v[k]


def format_summary(s: dict) -> str:
    lines = [f"simulated {s['counts']['people']} people, {s['start']}..{s['end']} (seed {s['seed']}) into {s['out']}"]
    lines.append(f"{'source':<10}{'files':>10}{'records':>14}{'MB':>12}")
    for src, v in s["sources"].items():
        lines.append(f"{src:<10}{v['files']:>10}{v['records']:>14}{v['bytes'] / 1e6:>12.1f}")
    lines.append(f"{'total':<10}{s['files']:>10}{s['records']:>14}{s['bytes'] / 1e6:>12.1f}")
    c = s["counts"]
    lines.append(f"orders {c['orders']} ({c['modelled_orders']} modelled, {c['cancelled_orders']} cancelled), "
                 f"abandoned checkouts {c['abandoned_checkouts']} ({c['recovered_checkouts']} recovered), "
                 f"email events {c['email_events']}, web events {c['web_events']}")
    lines.append(f"dirt: {s['dirt']['records']} defects, {s['dirt']['malformed']} malformed")
    lines.append(f"{s['seconds']:.1f} s")
    return "\n".join(lines)
