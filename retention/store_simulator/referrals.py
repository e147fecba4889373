"""Referrals planted in the simulated store, and the truth the warehouse's `referrals` must find.

Some account holders refer friends: a friend's first order quotes the advocate's referral code
(``retention.referrals``). Some uses are fraud the warehouse must refuse, one kind each: a new
account with the advocate's email, one with the advocate's phone, one shipping to the advocate's
street address, an existing customer quoting a code, and a code used past its limit. The people
and orders come from the simulated population; the fraudulent accounts take the advocate's email,
phone or address before anything is written, so every file says the same.

Off unless ``SimConfig.referral_rate`` > 0, and drawn from its own random stream, so stores without
referrals are unchanged. The truth goes to ``simulation/referrals.jsonl``, one line per order that
quotes a code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from retention.referrals import customer_key, referral_code

from .clock import DAY
from .people import ACCOUNT

FRAUD = ("self_referral_email", "self_referral_phone", "self_referral_address", "existing_customer")


def _street(ppl, pools, p: int) -> tuple:
    a1, _city, _prov, _pcode, zip_code, _country, ccode = pools.addr[ppl.addr[p]]
    return a1.lower(), str(zip_code).replace(" ", ""), ccode


def plant_referrals(cfg, ppl, pools, orders, t1: int) -> list[dict]:
    """Sets ``orders.referral_code`` (None or a code per order), changes the fraudulent accounts'
    email, phone or address, and returns the truth rows."""
    orders.referral_code = np.full(orders.n, None, dtype=object)
    if cfg.referral_rate <= 0:
        return []
    rng = np.random.default_rng([cfg.seed, 7919])
    live = np.flatnonzero(orders.modelled & (orders.t < t1))  # modelled orders are never cancelled
    placed: dict[int, list[int]] = {}
    for k in live[np.argsort(orders.t[live], kind="stable")]:
        p = int(orders.person[k])
        if ppl.kind[p] == ACCOUNT:
            placed.setdefault(p, []).append(int(k))
    buyers = sorted(placed, key=lambda p: (orders.t[placed[p][0]], p))
    if len(buyers) < 20:
        return []
    first_at = {p: int(orders.t[placed[p][0]]) for p in buyers}
    used: set[int] = set()

    def distinct(a: int, p: int) -> bool:
        return (ppl.email[p] != ppl.email[a] and (ppl.phone[p] is None or ppl.phone[p] != ppl.phone[a])
                and _street(ppl, pools, p) != _street(ppl, pools, a))

    def pick(a: int, need=lambda p: True) -> int | None:
        # someone not yet involved, unrelated to the advocate, whose first order comes a day after theirs
        pool = [p for p in buyers if p not in used and p != a and first_at[p] > first_at[a] + DAY
                and distinct(a, p) and need(p)]
        if not pool:
            return None
        p = int(pool[rng.integers(len(pool))])
        used.add(p)
        return p

    n_advocates = max(2, int(round(cfg.referral_rate * len(buyers))))
    advocates = [int(p) for p in rng.permutation(buyers[: len(buyers) // 2])[:n_advocates]]
    used.update(advocates)
    truth: list[dict] = []

    def quote(k: int, a: int, reason: str | None, friend: int) -> None:
        code = referral_code(customer_key(f"shopify:{int(ppl.customer_id[a])}"))
        orders.referral_code[k] = code
        truth.append({"order_id": int(orders.order_id[k]), "code": code,
                      "advocate_customer_id": int(ppl.customer_id[a]), "friend_customer_id": int(ppl.customer_id[friend]),
                      "reason": reason})

    # honest friends: the first advocate's code is used one time past its limit
    for n, a in enumerate(advocates):
        wanted = cfg.referral_code_limit + 1 if n == 0 else int(rng.integers(1, 4))
        friends = [f for f in (pick(a) for _ in range(wanted)) if f is not None]
        for number, f in enumerate(sorted(friends, key=lambda f: (orders.t[placed[f][0]], orders.order_id[placed[f][0]])), 1):
            quote(placed[f][0], a, None if number <= cfg.referral_code_limit else "code_limit_reached", f)

    # one of each fraud, on advocates in turn
    for n, reason in enumerate(FRAUD):
        a = advocates[n % len(advocates)]
        if reason == "self_referral_email":
            # a later account (a larger customer id, so the advocate's stays the anchor) with their email
            j = pick(a, lambda p, a=a: ppl.customer_id[p] > ppl.customer_id[a])
            if j is not None:
                ppl.email[j] = ppl.email[a]
        elif reason == "self_referral_phone":
            a = next((x for x in advocates if ppl.phone[x] is not None), None)
            j = pick(a) if a is not None else None
            if j is not None:
                ppl.phone[j] = ppl.phone[a]
                ppl.has_phone[j] = True
        elif reason == "self_referral_address":
            j = pick(a)
            if j is not None:
                ppl.addr[j] = ppl.addr[a]
        else:
            j = pick(a, lambda p: len(placed[p]) > 1)
        if j is None:
            continue
        quote(placed[j][1] if reason == "existing_customer" else placed[j][0], a, reason, j)
    return truth


def write_referral_truth(truth: list[dict], sim_dir: Path) -> None:
    lines = [json.dumps({**row, "status": "rejected" if row["reason"] else "accepted"}, sort_keys=True)
             for row in sorted(truth, key=lambda r: r["order_id"])]
    (sim_dir / "referrals.jsonl").write_text("".join(line + "\n" for line in lines))
