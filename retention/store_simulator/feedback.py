"""Browsing sessions, product reviews and NPS answers (as arrays)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from .clock import DAY, WEEK
from .people import SUBSCRIBER, People

EV_PAGE, EV_PRODUCT, EV_CART, EV_SEARCH, EV_SHARE = range(5)
EVENT_TYPES = ["page_view", "product_view", "add_to_cart", "search", "share"]
LANDING = ["/", "/collections/all", "/collections/coffee", "/collections/skincare", "/collections/new", "/pages/about", "/blogs/journal", "/collections/sale"]
REFERRERS = ["", "https://www.google.com/", "https://www.instagram.com/", "https://www.facebook.com/", "https://www.bing.com/",
             "https://www.pinterest.com/", "https://l.messenger.com/", "https://www.tiktok.com/"]
REF_P = [0.33, 0.33, 0.12, 0.09, 0.04, 0.04, 0.03, 0.02]
SOCIAL_REFERRERS = {2, 3, 5, 6, 7}  # planted truth: these sessions arrive from social networks (30%)
# A session's events sit on numbered slots (landing page 0, search 1, each product view then its cart
# or share), one gap apart plus 0-9 s of jitter; the gap is lognormal with median SESSION_GAP_MEDIAN s
# (planted truth: simulation/web_sessions.parquet has every session's span).
SESSION_GAP_MEDIAN, SESSION_GAP_SIGMA = 45.0, 0.5
SEARCHES = ["coffee", "decaf", "gift", "serum", "candle", "hoodie", "tea", "mug", "sale", "vitamin d", "refill", "espresso", "tote", "blanket", "cleanser"]


def build_web(cfg, rng, ppl: People, cat, orders, ab_person, ab_t, ab_lines, dropout, t0: int, t1: int):
    """Sessions and their events. Returns a namespace of flat event arrays sorted by time."""
    # sessions: (person or -1, start, kind, n_products)
    # 1) purchase sessions for web/app orders
    online = orders.source <= 2
    po = np.flatnonzero(online)
    # 2) abandoned checkouts (never recovered)
    # 3) browse sessions while active
    start = np.where(ppl.kind == SUBSCRIBER, ppl.arrival, np.maximum(ppl.arrival - 30 * DAY, t0))
    stop = np.where(dropout >= 0, np.minimum(dropout + 45 * DAY, t1), t1)
    stop = np.maximum(stop, start)
    k = rng.poisson(cfg.browse_sessions_per_week * (stop - start) / WEEK)
    b_person = np.repeat(np.arange(ppl.n), k)
    b_t = np.repeat(start, k) + (rng.random(int(k.sum())) * np.repeat(stop - start, k)).astype(np.int64)
    # 4) anonymous visitors
    n_anon = rng.poisson(cfg.anonymous_sessions_per_customer * ppl.n)
    a_t = t0 + (rng.random(n_anon) * (t1 - t0)).astype(np.int64)

    # product lists per session: purchase -> order lines (no add-ons), abandoned -> cart lines
    lo, lv = orders.line_order, orders.line_variant
    keep_l = ~cat.is_addon[cat.v_product[lv]] & online[lo]
    # map order index -> session index
    s_of_order = np.full(orders.n, -1, dtype=np.int64)
    s_of_order[po] = np.arange(len(po))
    n_po = len(po)
    ab_owner, ab_v = ab_lines
    n_ab = len(ab_t)
    n_b = len(b_t)
    n_s = n_po + n_ab + n_b + n_anon
    s_person = np.concatenate([orders.person[po], ab_person, b_person, np.full(n_anon, -1)]).astype(np.int64)

    pv_s = [s_of_order[lo[keep_l]], n_po + ab_owner]
    pv_v = [lv[keep_l], ab_v]
    pv_cart = [np.ones(int(keep_l.sum()), bool), np.ones(len(ab_owner), bool)]
    # browsing: random products, occasionally into the cart; a bounce sees the landing page only
    bounce = rng.random(n_b + n_anon) < cfg.bounce_rate
    kb = np.where(bounce, 0, 1 + rng.poisson(1.0, n_b + n_anon))
    owner = np.repeat(np.arange(n_po + n_ab, n_s), kb)
    pv_s.append(owner)
    pv_v.append(cat.main_variants[rng.choice(len(cat.main_variants), len(owner), p=cat.main_p)])
    pv_cart.append(rng.random(len(owner)) < 0.1)
    pv_s = np.concatenate(pv_s)
    pv_v = np.concatenate(pv_v)
    pv_cart = np.concatenate(pv_cart)

    # events: landing page_view, optional search, product_view (+ add_to_cart)
    search = rng.random(n_s) < 0.22
    search[n_po + n_ab:] &= ~bounce
    e_s = [np.arange(n_s), np.flatnonzero(search), pv_s, pv_s[pv_cart]]
    e_k = [np.full(n_s, EV_PAGE), np.full(int(search.sum()), EV_SEARCH), np.full(len(pv_s), EV_PRODUCT), np.full(int(pv_cart.sum()), EV_CART)]
    e_v = [np.full(n_s, -1), np.full(int(search.sum()), -1), pv_v, pv_v[pv_cart]]
    e_seq = [np.zeros(n_s), np.ones(int(search.sum())), None, None]
    # sequence within session: product views in order, cart right after the view
    o = np.argsort(pv_s, kind="stable")
    rank = np.empty(len(pv_s), dtype=np.int64)
    cnt = np.bincount(pv_s, minlength=n_s)
    st = np.cumsum(cnt) - cnt
    rank[o] = np.arange(len(pv_s)) - st[pv_s[o]]
    e_seq[2] = 2 + 2 * rank
    e_seq[3] = 3 + 2 * rank[pv_cart]
    # shares: a product viewed in the session is shared, in the last product's slot
    share = (cnt > 0) & (rng.random(n_s) < cfg.share_session_rate)
    lv_of = np.zeros(n_s, dtype=np.int64)
    is_last = rank == cnt[pv_s] - 1
    lv_of[pv_s[is_last]] = pv_v[is_last]
    n_sh = int(share.sum())
    e_s.append(np.flatnonzero(share))
    e_k.append(np.full(n_sh, EV_SHARE))
    e_v.append(lv_of[share])
    e_seq.append(1 + 2 * cnt[share])
    es = np.concatenate(e_s).astype(np.int64)
    ek = np.concatenate(e_k).astype(np.int8)
    ev = np.concatenate(e_v).astype(np.int64)
    eq = np.concatenate(e_seq).astype(np.int64)
    gap = np.clip(rng.lognormal(np.log(SESSION_GAP_MEDIAN), SESSION_GAP_SIGMA, n_s), 5, 600).astype(np.int64)
    # session starts: purchase/abandon sessions end just before the order/checkout
    s_end = np.concatenate([orders.t[po] - 60, ab_t - 60, np.zeros(n_b + n_anon, np.int64)])
    s_start = np.concatenate([np.zeros(n_po + n_ab, np.int64), b_t, a_t])
    span = (2 + 2 * cnt) * gap
    s_start[: n_po + n_ab] = s_end[: n_po + n_ab] - span[: n_po + n_ab]
    et = s_start[es] + eq * gap[es] + rng.integers(0, 10, len(es))
    m = (et >= t0) & (et < t1)
    es, ek, ev, et = es[m], ek[m], ev[m], et[m]
    o = np.lexsort((es, et))
    es, ek, ev, et = es[o], ek[o], ev[o], et[o]

    # logged in? account holders after sign-up, about half the time
    sp = s_person
    has_acc = (sp >= 0)
    spc = np.clip(sp, 0, None)
    logged = has_acc & (ppl.kind[spc] != 1) & (ppl.signup[spc] >= 0) & (ppl.signup[spc] <= s_start) & (rng.random(n_s) < 0.55)
    s_ref = rng.choice(len(REFERRERS), n_s, p=REF_P)
    s_ua = rng.integers(0, 8, n_s)
    s_land = rng.integers(0, len(LANDING), n_s)
    s_query = rng.integers(0, len(SEARCHES), n_s)
    s_id = 9_100_000 + np.arange(n_s) * 3 + rng.integers(0, 3, n_s)
    sessions = SimpleNamespace(n=n_s, person=s_person, logged=logged, ref=s_ref, ua=s_ua, land=s_land,
                               query=s_query, sid=s_id)
    events = SimpleNamespace(n=len(es), session=es, kind=ek, variant=ev, t=et)
    return sessions, events


# Review texts by planted sentiment (VADER labels each title + body as its key; tests/test_metrics_planting.py
# checks every pair). High ratings mostly write positive text, low ratings negative, 3 stars neutral.
REVIEW_SENTIMENTS = ["positive", "neutral", "negative"]
REVIEW_TITLES = {
    "positive": ["Love it!", "Perfect", "Great quality", "Exactly what I wanted"],
    "neutral": ["As described", "Arrived Tuesday", "Second order"],
    "negative": ["Disappointed", "Not good", "Would not buy again"],
}
REVIEW_BODIES = {
    "positive": ["Absolutely love it, already ordered more.", "Best purchase this year.", "Great quality and fast delivery.",
                 "My new favourite, highly recommend."],
    "neutral": ["It came in a box.", "Ordered the medium size.", "Arrived on Tuesday."],
    "negative": ["Arrived damaged and support was terrible.", "Poor quality, the photos are awful.",
                 "Broke after a week, very disappointed."],
}
# P(positive, neutral, negative) of a review's text by its rating (1..5)
REVIEW_SENTIMENT_P = {1: (0.0, 0.15, 0.85), 2: (0.05, 0.15, 0.8), 3: (0.1, 0.8, 0.1), 4: (0.85, 0.15, 0.0), 5: (0.9, 0.1, 0.0)}
NPS_COMMENTS = {
    "detractor": ["Delivery was late.", "Item arrived broken.", "Too expensive for what it is.", "Customer service never replied."],
    "passive": ["Good but shipping is slow.", "Fine overall.", "Would like more choice."],
    "promoter": ["Love the products!", "Fast shipping, great quality.", "Always a pleasure to order here.", "Recommended it to friends."],
}


def build_reviews(cfg, rng, cat, orders, t1: int):
    d = np.flatnonzero(orders.modelled & (orders.deliver >= 0) & (orders.deliver < t1))
    pick = d[rng.random(len(d)) < cfg.share_review]
    # one non-add-on line of the order (first one)
    li = orders.line_start[pick]
    t = orders.deliver[pick] + (rng.uniform(2, 25, len(pick)) * DAY).astype(np.int64)
    refunded = orders.refund_kind[pick] > 0
    base = np.array([0.04, 0.05, 0.11, 0.27, 0.53])
    bad = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
    u = rng.random(len(pick))
    rating = np.where(refunded, np.searchsorted(np.cumsum(bad), u), np.searchsorted(np.cumsum(base), u)) + 1
    rating = np.clip(rating, 1, 5)
    cum = np.cumsum(np.array([REVIEW_SENTIMENT_P[r] for r in range(1, 6)]), axis=1)[rating - 1]
    sentiment = (rng.random(len(pick))[:, None] >= cum[:, :2]).sum(axis=1)
    sentiment = np.where(rng.random(len(pick)) < cfg.share_review_no_text, -1, sentiment)  # -1: no text
    ok = t < t1
    return SimpleNamespace(n=int(ok.sum()), order=pick[ok], line=li[ok], t=t[ok], rating=rating[ok], sentiment=sentiment[ok],
                           pick=rng.integers(0, 100, len(pick))[ok],
                           review_id=(3_300_000 + np.arange(len(pick)) * 7)[ok])


def web_session_truth(web, sessions) -> pd.DataFrame:
    """Every session with an event in the window: its span, pages, shares and whether it came from social."""
    t = pd.DataFrame({"s": web.session, "t": web.t, "page": np.isin(web.kind, (EV_PAGE, EV_PRODUCT)),
                      "share": web.kind == EV_SHARE})
    g = t.groupby("s").agg(started=("t", "min"), ended=("t", "max"), events=("t", "size"), pages=("page", "sum"),
                           shares=("share", "sum"))
    s = g.index.to_numpy()
    return pd.DataFrame({
        "session_id": [f"s_{int(x)}" for x in sessions.sid[s]],
        "started_at": pd.to_datetime(g["started"].to_numpy(), unit="s", utc=True),
        "duration_seconds": (g["ended"] - g["started"]).to_numpy(),
        "events": g["events"].to_numpy(), "pages": g["pages"].to_numpy(), "shares": g["shares"].to_numpy(),
        "social": np.isin(sessions.ref[s], list(SOCIAL_REFERRERS)),
    })


def review_truth(rv) -> pd.DataFrame:
    """Every review written in the window with its rating and the sentiment its text was planted with."""
    return pd.DataFrame({
        "review_id": [f"rev_{int(x)}" for x in rv.review_id],
        "created_at": pd.to_datetime(rv.t, unit="s", utc=True),
        "rating": rv.rating,
        "sentiment": np.array([*REVIEW_SENTIMENTS, None], dtype=object)[rv.sentiment],
    })


def build_nps(cfg, rng, ppl, orders, t1: int):
    d = np.flatnonzero(orders.modelled & (orders.deliver >= 0) & (orders.deliver < t1))
    pick = d[rng.random(len(d)) < cfg.share_nps]
    t = orders.deliver[pick] + (rng.uniform(1, 14, len(pick)) * DAY).astype(np.int64)
    eng = ppl.engagement[orders.person[pick]]
    late = orders.delayed[pick]
    refunded = orders.refund_kind[pick] > 0
    mu = 8.2 + 2.0 * (eng - 0.3) - 2.5 * late - 3.0 * refunded
    score = np.clip(np.round(rng.normal(mu, 1.8)), 0, 10).astype(np.int64)
    m = t < t1
    return SimpleNamespace(n=int(m.sum()), order=pick[m], t=t[m], score=score[m],
                           comment=(rng.random(len(pick)) < 0.45)[m], pick=rng.integers(0, 100, len(pick))[m],
                           response_id=(7_700_000 + np.arange(len(pick)) * 3)[m])
