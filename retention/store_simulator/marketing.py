"""Email (SendGrid) and SMS (Twilio) traffic driven by consent and engagement.

Sends come from campaigns and flows; each send produces SendGrid events whose odds follow
the person's engagement (lower once they have silently dropped out). After a bounce,
unsubscribe, group unsubscribe or spam report the store's own program emails that person no
more. Shopify hears of unsubscribes and spam reports only: a group unsubscribe (one ASM group,
numbered as the campaigns' ``unsubscribe_group``) leaves the store's marketing consent as it was. SMS goes
to people with SMS consent; a STOP reply ends it (START, sometimes, resumes it).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .clock import DAY, WEEK
from .people import People

# flows: name, category (string or list), asm group (the ids of campaigns.yml's unsubscribe_group),
# transactional, click url path
FLOWS = [
    ("newsletter", None, 1007, False, "/collections/new"),
    ("welcome", "welcome", 1007, False, "/pages/welcome"),
    ("order_confirmation", "transactional", 0, True, "/account/orders"),
    ("abandoned_checkout", "abandoned_checkout", 1001, False, "/checkouts/recover"),
    ("review_request", "review_request", 1005, False, "/pages/reviews"),
    ("birthday", "birthday", 1003, False, "/collections/gifts"),
    ("winback", "winback", 1002, False, "/collections/bestsellers"),
    ("replenishment", "replenishment", 1002, False, "/collections/refills"),
]
FLOW_GROUPS = np.array([f[2] for f in FLOWS])
F_NEWS, F_WELCOME, F_CONFIRM, F_CART, F_REVIEW, F_BDAY, F_WINBACK, F_REFILL = range(8)
THEMES = ["new_arrivals", "spring_sale", "summer_edit", "fall_favorites", "holiday_gifts", "best_sellers", "restock_alert", "brewing_guide", "self_care", "weekend_sale"]

# event codes
E_PROCESSED, E_DELIVERED, E_DEFERRED, E_BOUNCE, E_DROPPED, E_OPEN, E_CLICK, E_UNSUB, E_GROUP_UNSUB, E_SPAM = range(10)
EVENT_NAMES = ["processed", "delivered", "deferred", "bounce", "dropped", "open", "click", "unsubscribe", "group_unsubscribe", "spamreport"]


def _campaign_times(t0: int, t1: int, per_week: float, weekday: int, hour_utc: int):
    """Regular campaign times (weekday 0 = Monday)."""
    first = t0 - (t0 % DAY) + DAY * ((weekday - ((t0 // DAY) + 3) % 7) % 7) + hour_utc * 3600
    step = WEEK / max(per_week, 1e-9)
    ts = np.arange(first, t1, step).astype(np.int64)
    return ts[ts >= t0]


def build_email(cfg, rng: np.random.Generator, ppl: People, orders, ab_person, ab_t, t0: int, t1: int, dropout):
    P, T, F, STEP, CAMP = [], [], [], [], []

    def add(person, t, flow, step=1, camp=-1):
        m = (t >= t0) & (t < t1)
        P.append(person[m].astype(np.int64))
        T.append(t[m].astype(np.int64))
        F.append(np.full(int(m.sum()), flow, np.int8))
        STEP.append(np.full(int(m.sum()), step, np.int8) if np.isscalar(step) else step[m].astype(np.int8))
        CAMP.append(np.full(int(m.sum()), camp, np.int32) if np.isscalar(camp) else camp[m].astype(np.int32))

    optin = ppl.email_optin
    opt_t = np.where(ppl.signup >= 0, ppl.signup, np.iinfo(np.int64).max)
    # newsletters: weekly, to a share of the list
    camps = _campaign_times(t0, t1, cfg.campaigns_per_week, 1, 15)
    cand = np.flatnonzero(optin)
    for k, c in enumerate(camps):
        m = cand[(opt_t[cand] <= c)]
        m = m[rng.random(len(m)) < cfg.campaign_audience_share]
        add(m, c + rng.integers(0, 3600, len(m)), F_NEWS, 1, np.full(len(m), k))
    # welcome on sign-up
    w = np.flatnonzero(optin & (ppl.signup >= 0))
    add(w, ppl.signup[w] + 300, F_WELCOME)
    # order confirmations (transactional, everyone including guests)
    add(orders.person, orders.t + 40, F_CONFIRM)
    # abandoned checkout reminders: recovered-by-order ones and never-recovered ones
    rec = np.flatnonzero(orders.recovered)
    cp = np.concatenate([orders.person[rec], ab_person])
    ct = np.concatenate([orders.rec_ck_t[rec], ab_t])
    done = np.concatenate([orders.t[rec], np.full(len(ab_t), np.iinfo(np.int64).max)])
    m = optin[cp] & (opt_t[cp] <= ct)
    s1 = ct + 2 * 3600
    s2 = ct + 24 * 3600
    k1 = m & (s1 < done)
    k2 = m & (s2 < done)
    add(cp[k1], s1[k1], F_CART, 1)
    add(cp[k2], s2[k2], F_CART, 2)
    # review requests a week after delivery
    d = np.flatnonzero((orders.deliver >= 0) & orders.modelled)
    add(orders.person[d], orders.deliver[d] + 7 * DAY, F_REVIEW)
    # birthdays, every year, for opted-in people with a birthday tag
    bp = np.flatnonzero(optin & (ppl.birthday >= 0))
    if len(bp):
        from datetime import date

        from .clock import date_of_index
        y0, y1 = date_of_index(t0 // DAY).year, date_of_index(t1 // DAY).year
        for y in range(y0, y1 + 1):
            bd = []
            for i in bp:
                b = date_of_index(ppl.birthday[i])
                try:
                    bd.append((date(y, b.month, b.day) - date(1970, 1, 1)).days)
                except ValueError:
                    bd.append((date(y, 3, 1) - date(1970, 1, 1)).days)
            bt = np.array(bd, dtype=np.int64) * DAY + 13 * 3600
            known = np.where(ppl.birthday_added_later[bp] >= 0, ppl.birthday_added_later[bp], opt_t[bp])
            mm = bt > known
            add(bp[mm], bt[mm], F_BDAY)
    # win-back: 90 days after an order with no order since
    so = np.lexsort((orders.t, orders.person))
    sp, st = orders.person[so], orders.t[so]
    nxt = np.full(len(so), np.iinfo(np.int64).max)
    same = np.zeros(len(so), bool)
    same[:-1] = sp[:-1] == sp[1:]
    nxt[:-1] = np.where(same[:-1], st[1:], np.iinfo(np.int64).max)
    wb = st + 90 * DAY
    mm = optin[sp] & (wb < nxt)
    add(sp[mm], wb[mm], F_WINBACK)
    # replenishment reminders a few days before the cycle comes round
    rf = np.flatnonzero(orders.cons)
    rt = orders.t[rf] + orders.cycle[rf] - 3 * DAY
    mm = optin[orders.person[rf]]
    add(orders.person[rf][mm], rt[mm], F_REFILL)

    person = np.concatenate(P)
    t = np.concatenate(T)
    flow = np.concatenate(F)
    step = np.concatenate(STEP)
    camp = np.concatenate(CAMP)
    o = np.lexsort((flow, t, person))
    person, t, flow, step, camp = person[o], t[o], flow[o], step[o], camp[o]
    n = len(t)

    eng = ppl.engagement[person]
    dead = (dropout[person] >= 0) & (t > dropout[person])
    eng = np.where(dead, eng * 0.35, eng)
    transactional = flow == F_CONFIRM
    eng = np.where(transactional, np.maximum(eng, 0.6), eng)

    # per-person first send bounces for bad addresses
    first_send = np.ones(n, bool)
    first_send[1:] = person[1:] != person[:-1]
    u = rng.random(n)
    bounce = (ppl.bad_email[person] & first_send) | (u < 0.0012)
    bounce_type = np.where(rng.random(n) < 0.75, 0, 1)  # 0 bounce, 1 blocked
    dropped = ~bounce & (u > 0.9988) & (u < 0.9998)
    deferred = ~bounce & ~dropped & (rng.random(n) < 0.02)
    delivered = ~bounce & ~dropped
    t_proc = t
    t_def = t + rng.integers(30, 600, n)
    t_del = np.where(deferred, t_def + rng.integers(300, 7200, n), t + rng.integers(1, 40, n))
    opened = delivered & (rng.random(n) < eng)
    t_open = t_del + rng.lognormal(np.log(3 * 3600), 1.2, n).astype(np.int64)
    clicked = opened & (rng.random(n) < 0.1 + 0.35 * eng)
    t_click = t_open + rng.integers(5, 900, n)
    extra_opens = np.where(opened, rng.poisson(0.35 + eng, n), 0)
    mkt = ~transactional
    base_u = (0.0012 + 0.004 * (1 - eng)) * np.where(dead, 2.0, 1.0)
    v = rng.random(n)
    # the footer's link leaves one group; the global unsubscribe takes a visit to the preference page
    unsub = delivered & mkt & (v < base_u)
    gunsub = delivered & mkt & ~unsub & (v < base_u * 2.5)
    spam = delivered & mkt & ~unsub & ~gunsub & (v < base_u * 2.5 + 0.00025)
    t_unsub = t_del + rng.lognormal(np.log(2 * 3600), 1.0, n).astype(np.int64)
    big = np.iinfo(np.int64).max
    term = np.full(n, big)
    term = np.where(bounce, t_proc + 5, term)
    term = np.where(unsub | gunsub | spam, t_unsub, term)
    # suppression: nothing sent after the first terminal event
    first_term = np.full(ppl.n, big)
    np.minimum.at(first_term, person, term)
    keep = t <= first_term[person]
    keep &= ~((t == first_term[person]) & (term != first_term[person]))

    # flatten events
    ev_s, ev_k, ev_t, ev_x = [], [], [], []

    def ev(mask, kind, times, extra=None):
        idx = np.flatnonzero(mask & keep)
        ev_s.append(idx)
        ev_k.append(np.full(len(idx), kind, np.int8))
        ev_t.append(times[idx])
        ev_x.append(np.zeros(len(idx), np.int8) if extra is None else extra[idx].astype(np.int8))

    ev(np.ones(n, bool), E_PROCESSED, t_proc)
    ev(deferred, E_DEFERRED, t_def)
    ev(delivered, E_DELIVERED, t_del)
    ev(bounce, E_BOUNCE, t_proc + 5, bounce_type)
    ev(dropped, E_DROPPED, t_proc + 1)
    ev(opened, E_OPEN, t_open)
    # repeat opens
    rep = np.flatnonzero(keep & (extra_opens > 0))
    if len(rep):
        rr = np.repeat(rep, extra_opens[rep])
        ev_s.append(rr)
        ev_k.append(np.full(len(rr), E_OPEN, np.int8))
        ev_t.append(t_open[rr] + rng.lognormal(np.log(8 * 3600), 1.3, len(rr)).astype(np.int64))
        ev_x.append(np.ones(len(rr), np.int8))
    ev(clicked, E_CLICK, t_click)
    ev(unsub, E_UNSUB, t_unsub)
    ev(gunsub, E_GROUP_UNSUB, t_unsub)
    ev(spam, E_SPAM, t_unsub)
    es = np.concatenate(ev_s)
    ek = np.concatenate(ev_k)
    et = np.concatenate(ev_t)
    ex = np.concatenate(ev_x)
    m = et < t1
    es, ek, et, ex = es[m], ek[m], et[m], ex[m]
    o = np.lexsort((ek, et))
    es, ek, et, ex = es[o], ek[o], et[o], ex[o]

    # consent changes seen by Shopify: unsubscribes and spam reports; a group unsubscribe stays in SendGrid
    ft = first_term[person]
    last = keep & (t_unsub < t1) & (t_unsub == ft)
    unsub_t = np.full(ppl.n, -1, dtype=np.int64)
    um = (unsub | spam) & last
    unsub_t[person[um]] = t_unsub[um]
    group_unsub_t = np.full(ppl.n, -1, dtype=np.int64)
    group_unsub_id = np.zeros(ppl.n, dtype=np.int64)
    gm = gunsub & last
    group_unsub_t[person[gm]] = t_unsub[gm]
    group_unsub_id[person[gm]] = FLOW_GROUPS[flow[gm]]
    bounced_at = np.full(ppl.n, -1, dtype=np.int64)
    bm = bounce & keep
    bounced_at[person[bm]] = t_proc[bm] + 5

    sends = SimpleNamespace(n=n, person=person, t=t, flow=flow, step=step, camp=camp, keep=keep,
                            n_kept=int(keep.sum()))
    events = SimpleNamespace(n=len(es), send=es, kind=ek, t=et, extra=ex)
    group_unsubscribes = SimpleNamespace(t=group_unsub_t, group=group_unsub_id)
    return sends, events, unsub_t, group_unsubscribes, bounced_at, camps


# Twilio
S_QUEUED, S_SENT, S_DELIVERED, S_UNDELIVERED, S_FAILED = range(5)
STATUS_NAMES = ["queued", "sent", "delivered", "undelivered", "failed"]
UNDELIVERED_CODES = np.array([30003, 30005, 30006, 30008])
FAILED_CODES = np.array([30007, 21610, 30004])
STOP_WORDS = ["STOP", "Stop", "stop", "UNSUBSCRIBE", "STOPALL", "CANCEL", "END", "QUIT", "Stop please"]
START_WORDS = ["START", "Start", "UNSTOP", "YES"]
OTHER_REPLIES = ["Thanks!", "Who is this?", "ok", "Love this", "When does the sale end?", "HELP"]


def build_sms(cfg, rng, ppl: People, orders, ab_person, ab_t, t0: int, t1: int):
    P, T, F = [], [], []
    sub = np.flatnonzero(ppl.sms_optin)
    per_week = cfg.sms_campaigns_per_month * 12 / 52
    camps = _campaign_times(t0, t1, per_week, 3, 21) if per_week > 0 else np.zeros(0, np.int64)
    for c in camps:
        m = sub[ppl.signup[sub] <= c]
        P.append(m)
        T.append(c + rng.integers(0, 1800, len(m)))
        F.append(np.zeros(len(m), np.int8))
    # abandoned-checkout texts
    rec = np.flatnonzero(orders.recovered)
    cp = np.concatenate([orders.person[rec], ab_person])
    ct = np.concatenate([orders.rec_ck_t[rec], ab_t]) + 45 * 60
    done = np.concatenate([orders.t[rec], np.full(len(ab_t), np.iinfo(np.int64).max)])
    m = ppl.sms_optin[cp] & (ppl.signup[cp] <= ct) & (ct < done)
    P.append(cp[m])
    T.append(ct[m])
    F.append(np.ones(int(m.sum()), np.int8))
    person = np.concatenate(P).astype(np.int64) if P else np.zeros(0, np.int64)
    t = np.concatenate(T).astype(np.int64) if T else np.zeros(0, np.int64)
    flow = np.concatenate(F) if F else np.zeros(0, np.int8)
    mm = (t >= t0) & (t < t1)
    person, t, flow = person[mm], t[mm], flow[mm]
    o = np.lexsort((t, person))
    person, t, flow = person[o], t[o], flow[o]
    n = len(t)
    u = rng.random(n)
    final = np.where(u < 0.955, S_DELIVERED, np.where(u < 0.985, S_UNDELIVERED, S_FAILED)).astype(np.int8)
    code = np.where(final == S_UNDELIVERED, UNDELIVERED_CODES[rng.integers(0, 4, n)],
                    np.where(final == S_FAILED, FAILED_CODES[rng.integers(0, 3, n)], 0))
    t_sent = t + rng.integers(1, 4, n)
    t_final = t_sent + rng.integers(2, 40, n)
    stop = (final == S_DELIVERED) & (rng.random(n) < 0.012)
    t_stop = t_final + rng.lognormal(np.log(600), 1.2, n).astype(np.int64)
    big = np.iinfo(np.int64).max
    first_stop = np.full(ppl.n, big)
    np.minimum.at(first_stop, person[stop], t_stop[stop])
    restart = np.where((first_stop < big) & (rng.random(ppl.n) < 0.12),
                       first_stop + rng.uniform(1, 20, ppl.n).astype(np.int64) * DAY, big)
    fs = first_stop[person]
    rs = restart[person]
    keep = (t <= fs) | (t > rs)
    keep &= ~(t == fs)  # never the same second
    stop &= keep & (t_stop == fs)
    reply = (final == S_DELIVERED) & keep & ~stop & (rng.random(n) < 0.004)
    t_reply = t_final + rng.integers(60, 7200, n)
    msgs = SimpleNamespace(n=n, person=person, t=t, flow=flow, final=final, code=code, t_sent=t_sent,
                           t_final=t_final, keep=keep)
    # status callbacks (queued, sent, final) and inbound messages
    idx = np.flatnonzero(keep)
    s_msg = np.concatenate([idx, idx, idx])
    s_kind = np.concatenate([np.full(len(idx), S_QUEUED), np.full(len(idx), S_SENT), final[idx]]).astype(np.int8)
    s_t = np.concatenate([t[idx], t_sent[idx], t_final[idx]])
    mm = s_t < t1
    s_msg, s_kind, s_t = s_msg[mm], s_kind[mm], s_t[mm]
    o = np.lexsort((s_kind, s_t))
    status = SimpleNamespace(n=len(o), msg=s_msg[o], kind=s_kind[o], t=s_t[o])

    stop_people = np.flatnonzero(first_stop < big)
    rs_people = stop_people[restart[stop_people] < t1]
    st_idx = np.flatnonzero(stop & (t_stop < t1))
    rp_idx = np.flatnonzero(reply & (t_reply < t1))
    i_person = np.concatenate([person[st_idx], rs_people, person[rp_idx]])
    i_t = np.concatenate([t_stop[st_idx], restart[rs_people], t_reply[rp_idx]])
    i_kind = np.concatenate([np.zeros(len(st_idx)), np.ones(len(rs_people)), np.full(len(rp_idx), 2)]).astype(np.int8)
    i_word = rng.integers(0, 1000, len(i_t))
    o = np.argsort(i_t, kind="stable")
    inbound = SimpleNamespace(n=len(o), person=i_person[o], t=i_t[o], kind=i_kind[o], word=i_word[o])
    sms_stop_t = np.where(first_stop < t1, first_stop, -1)
    sms_start_t = np.where(restart < t1, restart, -1)
    return msgs, status, inbound, sms_stop_t, sms_start_t
