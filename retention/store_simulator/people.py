"""The population: who arrives when, and each person's latent BG/NBD / Gamma-Gamma state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker
from faker.providers.address.en_US import Provider as _USAddress

from .clock import DAY, WEEK
from .config import SimConfig

ACCOUNT, GUEST, SUBSCRIBER = 0, 1, 2

COUNTRIES = [
    # code, name, share, locale, phone prefix
    ("US", "United States", 0.85, "en_US", "+1"),
    ("CA", "Canada", 0.06, "en_CA", "+1"),
    ("GB", "United Kingdom", 0.05, "en_GB", "+44"),
    ("AU", "Australia", 0.02, "en_AU", "+61"),
    ("DE", "Germany", 0.02, "de_DE", "+49"),
]
_PROVINCES = {
    "CA": [("Ontario", "ON"), ("Quebec", "QC"), ("British Columbia", "BC"), ("Alberta", "AB"), ("Manitoba", "MB"), ("Nova Scotia", "NS")],
    "GB": [("England", "ENG"), ("Scotland", "SCT"), ("Wales", "WLS"), ("Northern Ireland", "NIR")],
    "AU": [("New South Wales", "NSW"), ("Victoria", "VIC"), ("Queensland", "QLD"), ("Western Australia", "WA"), ("South Australia", "SA")],
    "DE": [("Berlin", "BE"), ("Bayern", "BY"), ("Hamburg", "HH"), ("Hessen", "HE"), ("Nordrhein-Westfalen", "NW")],
}
DOMAINS = np.array(["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "proton.me", "comcast.net", "mail.example.com"])
DOMAIN_P = np.array([0.42, 0.12, 0.1, 0.08, 0.12, 0.04, 0.03, 0.04, 0.05])
US_AREA = [201, 202, 203, 205, 206, 212, 213, 214, 215, 216, 225, 248, 267, 281, 303, 305, 310, 312, 313, 314, 323, 347, 404, 407, 410, 412, 415, 425, 469, 480, 502, 503, 504, 512, 602, 612, 614, 617, 626, 646, 702, 713, 718, 720, 732, 773, 786, 801, 818, 832, 857, 904, 917, 919, 925, 929, 949, 972]


@dataclass
class Pools:
    first: list
    last: list
    addr: list  # (address1, city, province, province_code, zip, country, country_code)
    addr_by_country: dict  # code -> np.array of indices into addr


def make_pools(seed: int) -> Pools:
    fk = Faker("en_US")
    fk.seed_instance(seed)
    first = sorted({fk.first_name() for _ in range(1500)})
    last = sorted({fk.last_name() for _ in range(1500)})
    us_states = [(n, a) for n, a in zip(_USAddress.states, [s for s in _USAddress.states_abbr if s != "DC"])]
    addr: list = []
    by: dict = {}
    for code, name, _share, loc, _ in COUNTRIES:
        f = fk if loc == "en_US" else Faker(loc)
        f.seed_instance(seed + len(addr))
        n = 2500 if code == "US" else 250
        idx = []
        for k in range(n):
            if code == "US":
                st, ab = us_states[k % len(us_states)]
                z = f.zipcode_in_state(ab)
            else:
                st, ab = _PROVINCES[code][k % len(_PROVINCES[code])]
                z = f.postcode()
            idx.append(len(addr))
            addr.append((f.street_address(), f.city(), st, ab, z, name, code))
        by[code] = np.array(idx)
    return Pools(first, last, addr, by)


def format_e164(country_code: str, digits: str) -> str:
    return f"{country_code}{digits}"


@dataclass
class People:
    n: int
    kind: np.ndarray  # ACCOUNT / GUEST / SUBSCRIBER
    arrival: np.ndarray  # int64 s: first purchase (buyers) or sign-up (subscribers)
    signup: np.ndarray  # int64 s: customer account created (-1 guests)
    lam: np.ndarray  # per week (nan for subscribers)
    p_drop: np.ndarray
    nu: np.ndarray
    first: np.ndarray  # index into pools.first
    last: np.ndarray
    addr: np.ndarray  # index into pools.addr
    country: np.ndarray  # index into COUNTRIES
    email: list  # canonical lowercase email
    phone: list  # E.164 or None
    has_phone: np.ndarray
    birthday: np.ndarray  # days since epoch of birth date or -1
    birthday_no_year: np.ndarray
    birthday_added_later: np.ndarray  # int64 s when the tag was added (-1 = at sign-up)
    email_optin: np.ndarray
    sms_optin: np.ndarray
    engagement: np.ndarray
    bad_email: np.ndarray
    fav_consumable: np.ndarray  # product index into catalogue consumables (-1 none)
    customer_id: np.ndarray  # int64, 0 = none
    anon_id: list


def make_people(cfg: SimConfig, rng: np.random.Generator, pools: Pools, t0: int, t1: int, n_consumables: int) -> People:
    n = cfg.customers
    u = rng.random(n)
    kind = np.where(u < cfg.share_subscriber_only, SUBSCRIBER, ACCOUNT).astype(np.int8)
    buyers = kind != SUBSCRIBER
    kind[buyers & (rng.random(n) < cfg.share_guest)] = GUEST

    # arrivals: mildly growing store (density rising ~40% over the window)
    span = t1 - t0
    x = rng.random(n)
    g = 0.4
    frac = (np.sqrt(1 + g * (2 + g) * x) - 1) / g  # inverse CDF of density ∝ 1 + g*x on [0,1]
    arrival = (t0 + frac * span).astype(np.int64)
    arrival = np.minimum(arrival, t1 - 1)

    signup = np.full(n, -1, dtype=np.int64)
    acc = kind == ACCOUNT
    early = rng.random(n) < 0.3
    lead = (rng.exponential(20.0, n) * DAY).astype(np.int64)
    signup[acc] = arrival[acc] - rng.integers(60, 900, n)[acc]
    e = acc & early
    signup[e] = arrival[e] - lead[e]
    signup = np.where(acc, np.maximum(signup, t0 - 3 * 365 * DAY), signup)
    sub = kind == SUBSCRIBER
    signup[sub] = arrival[sub]

    lam = rng.gamma(cfg.r, 1.0 / cfg.alpha, n)
    p_drop = rng.beta(cfg.a, cfg.b, n)
    nu = rng.gamma(cfg.q_spend, 1.0 / cfg.gamma_spend, n)
    lam[sub] = np.nan
    p_drop[sub] = np.nan
    nu[sub] = np.nan

    first = rng.integers(0, len(pools.first), n)
    last = rng.integers(0, len(pools.last), n)
    shares = np.array([c[2] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), n, p=shares / shares.sum())
    addr = np.empty(n, dtype=np.int64)
    for ci, c in enumerate(COUNTRIES):
        m = country == ci
        addr[m] = rng.choice(pools.addr_by_country[c[0]], int(m.sum()))

    # unique emails: a unique number per person keeps them distinct
    uniq = rng.permutation(n) + 7
    dom = rng.choice(len(DOMAINS), n, p=DOMAIN_P)
    pat = rng.integers(0, 4, n)
    fl, ll = pools.first, pools.last
    email = []
    for i in range(n):
        f = fl[first[i]].lower()
        l_ = ll[last[i]].lower().replace(" ", "").replace("'", "")
        p = pat[i]
        if p == 0:
            local = f"{f}.{l_}{uniq[i]}"
        elif p == 1:
            local = f"{f}{l_}{uniq[i]}"
        elif p == 2:
            local = f"{f[0]}.{l_}{uniq[i]}"
        else:
            local = f"{f}_{uniq[i]}"
        email.append(f"{local}@{DOMAINS[dom[i]]}")

    has_phone = (rng.random(n) < cfg.share_phone) & (kind != SUBSCRIBER)
    has_phone |= (kind == SUBSCRIBER) & (rng.random(n) < 0.15)
    area = np.array(US_AREA)[rng.integers(0, len(US_AREA), n)]
    exch = rng.integers(201, 999, n)
    line = rng.integers(0, 10000, n)
    phone = []
    for i in range(n):
        if not has_phone[i]:
            phone.append(None)
            continue
        cc = COUNTRIES[country[i]][4]
        if cc == "+1":
            phone.append(f"+1{area[i]}{exch[i]}{line[i]:04d}")
        elif cc == "+44":
            phone.append(f"+447{exch[i]}{line[i]:04d}{area[i] % 100:02d}"[:13])
        elif cc == "+61":
            phone.append(f"+614{exch[i]:03d}{line[i]:04d}{area[i] % 100:02d}"[:12])
        else:
            phone.append(f"+4915{exch[i]}{line[i]:04d}{area[i] % 100:02d}"[:14])

    holder = kind != GUEST
    bday_has = holder & (rng.random(n) < cfg.share_birthday)
    age_years = np.clip(rng.normal(38, 12, n), 18, 80)
    birthday = np.where(bday_has, (arrival // DAY - (age_years * 365.25)).astype(np.int64), -1)
    bday_no_year = bday_has & (rng.random(n) < 0.12)
    later = bday_has & (rng.random(n) < 0.2)
    birthday_added_later = np.where(later, np.maximum(signup, arrival) + (rng.exponential(60, n) * DAY).astype(np.int64), -1)

    email_optin = np.where(kind == SUBSCRIBER, True, (kind == ACCOUNT) & (rng.random(n) < cfg.share_email_optin))
    sms_optin = has_phone & (kind != GUEST) & (rng.random(n) < cfg.share_sms_optin)

    # engagement: correlated with the purchase rate (engaged people buy more), in [0,1]
    rank = np.zeros(n)
    if buyers.any():
        rk = np.argsort(np.argsort(np.where(buyers, lam, -1.0)))
        rank = rk / max(n - 1, 1)
    engagement = np.clip(rng.beta(2.0, 4.5, n) + 0.18 * (rank - 0.5), 0.01, 0.95)
    engagement[sub] = np.clip(rng.beta(2.0, 4.0, int(sub.sum())), 0.01, 0.95)
    bad_email = rng.random(n) < cfg.share_bad_email

    fav = np.where(buyers & (rng.random(n) < 0.45), rng.integers(0, max(n_consumables, 1), n), -1)

    # Shopify customer ids increase with creation time
    customer_id = np.zeros(n, dtype=np.int64)
    hold = np.flatnonzero(kind != GUEST)
    order = hold[np.argsort(signup[hold], kind="stable")]
    gaps = rng.integers(1_000, 90_000, len(order)).astype(np.int64)
    customer_id[order] = 6_812_000_000_000 + np.cumsum(gaps)

    a1 = rng.integers(0, 2**63, n, dtype=np.int64)
    anon_id = [f"{int(v):016x}"[:16] for v in a1]

    return People(
        n=n, kind=kind, arrival=arrival, signup=signup, lam=lam, p_drop=p_drop, nu=nu,
        first=first, last=last, addr=addr, country=country, email=email, phone=phone,
        has_phone=has_phone, birthday=birthday, birthday_no_year=bday_no_year,
        birthday_added_later=birthday_added_later, email_optin=email_optin, sms_optin=sms_optin,
        engagement=engagement, bad_email=bad_email, fav_consumable=fav, customer_id=customer_id,
        anon_id=anon_id,
    )


def simulate_purchases(cfg: SimConfig, rng: np.random.Generator, ppl: People, t1: int):
    """BG/NBD repeat purchases after each buyer's first purchase (the arrival).

    While alive a buyer purchases as a Poisson process with rate lambda (per week); after
    each repeat purchase they drop out with probability p (so the number of repeat purchases
    before dropping out is Geometric(p)). Returns (person, time) of every purchase, sorted,
    plus per-person dropout time (-1 = alive at the end).
    """
    buyers = np.flatnonzero(ppl.kind != SUBSCRIBER)
    T = (t1 - ppl.arrival[buyers]) / WEEK  # weeks of observation after the first purchase
    lam = ppl.lam[buyers]
    n_poisson = rng.poisson(lam * T)
    J = rng.geometric(ppl.p_drop[buyers])  # repeat purchase after which they drop out
    n_rep = np.minimum(n_poisson, J)
    total = int(n_poisson.sum())
    owner = np.repeat(np.arange(len(buyers)), n_poisson)
    times = rng.random(total) * np.repeat(T, n_poisson)
    order = np.lexsort((times, owner))
    owner = owner[order]
    times = times[order]
    starts = np.cumsum(n_poisson) - n_poisson
    rank = np.arange(total) - np.repeat(starts, n_poisson)
    keep = rank < np.repeat(n_rep, n_poisson)
    r_owner = owner[keep]
    r_time = ppl.arrival[buyers][r_owner] + (times[keep] * WEEK).astype(np.int64)

    dropout = np.full(ppl.n, -1, dtype=np.int64)
    dropped = J <= n_poisson
    last_idx = starts + n_rep - 1  # index in sorted poisson arrays of the J-th repeat
    dt = np.where(dropped, times[np.clip(last_idx, 0, max(total - 1, 0))] if total else 0.0, 0.0)
    dropout[buyers[dropped]] = ppl.arrival[buyers[dropped]] + (dt[dropped] * WEEK).astype(np.int64)

    person = np.concatenate([buyers, buyers[r_owner]])
    t = np.concatenate([ppl.arrival[buyers], r_time])
    o = np.lexsort((person, t))
    return person[o], t[o], dropout
