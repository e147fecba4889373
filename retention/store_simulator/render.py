"""Records in the providers' own shapes, built from the simulation's arrays.

Every function here is deterministic in its arguments: a record is a pure function of the
simulated state and the time of the version being emitted.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from urllib.parse import quote_plus

from .commerce import CANCEL_REASONS, DISCOUNTS, SOURCE_NAMES
from .feedback import EVENT_TYPES, LANDING, NPS_COMMENTS, REFERRERS, REVIEW_BODIES, REVIEW_SENTIMENTS, REVIEW_TITLES, SEARCHES
from .marketing import EVENT_NAMES, FLOWS, OTHER_REPLIES, START_WORDS, STATUS_NAMES, STOP_WORDS, THEMES
from .people import COUNTRIES, GUEST, SUBSCRIBER

SHOP = "https://northwind-goods.example.com"
STORE_PHONE = "+18885550147"
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
]
IPS = ["73.162.14.201", "98.207.44.12", "24.5.188.77", "172.58.12.9", "67.180.3.140", "108.41.92.6"]


_PROTO: dict = {}


def h(seed: int, ns: str, i: int, n: int = 32) -> str:
    """A random-looking hex id for integer i, deterministic in (seed, namespace, i)."""
    p = _PROTO.get((seed, ns))
    if p is None:
        key = hashlib.blake2b(f"{seed}:{ns}".encode(), digest_size=32).digest()
        p = _PROTO[(seed, ns)] = hashlib.blake2b(digest_size=16, key=key)
    c = p.copy()
    c.update(int(i).to_bytes(8, "little", signed=True))
    return c.hexdigest()[:n]


def _q(v: str) -> str:
    """application/x-www-form-urlencoded value (as Twilio posts them)."""
    return quote_plus(v, safe="")


def money(c) -> str:
    c = int(c)
    if c < 0:
        c = -c
        return f"-{c // 100}.{c % 100:02d}"
    return f"{c // 100}.{c % 100:02d}"


def shipment(fulfillment_id: int, order_id: int, name: str, created_at: str, updated_at: str, status: str,
             tracking: str, line_items: list[dict]) -> dict:
    """An order's one fulfilment as Shopify's order payload carries it (a UPS shipment)."""
    return {
        "id": fulfillment_id,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        "order_id": order_id,
        "name": name,
        "status": "success",
        "service": "manual",
        "created_at": created_at,
        "updated_at": updated_at,
        "shipment_status": status,
        "location_id": 655441491,
        "tracking_company": "UPS",
        "tracking_number": tracking,
        "tracking_numbers": [tracking],
        "tracking_url": f"https://www.ups.com/track?tracknum={tracking}",
        "tracking_urls": [f"https://www.ups.com/track?tracknum={tracking}"],
        "line_items": line_items,
    }


def mset(c) -> dict:
    m = money(c)
    return {"shop_money": {"amount": m, "currency_code": "USD"}, "presentment_money": {"amount": m, "currency_code": "USD"}}


def phone_style(e164: str | None, style: int) -> str | None:
    """The same number written the ways people type it."""
    if not e164:
        return e164
    if e164.startswith("+1") and len(e164) == 12:
        a, b, c = e164[2:5], e164[5:8], e164[8:]
        return [e164, f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a}-{b}-{c}", f"1{a}{b}{c}", f"{a}-{b}-{c}"][style % 6]
    cc = e164[1:3]
    rest = e164[3:]
    return [e164, f"00 {cc} {rest[:4]} {rest[4:]}", f"+{cc} {rest[:3]} {rest[3:]}", f"0{rest}", e164, f"+{cc}{rest}"][style % 6]


class Renderer:
    def __init__(self, w):
        self.w = w  # the World: every array of the simulation
        self.seed = w.seed
        self.clock = w.clock
        self._sends: dict = {}
        self._L = None

    def new_day(self) -> None:
        self._sends = {}

    # -- shared pieces -------------------------------------------------------------
    def ts(self, t: int) -> str:
        return self.clock.local(t)

    def address(self, i: int, style: int | None = None) -> dict:
        w = self.w
        ppl = w.ppl
        a1, city, prov, pcode, z, country, ccode = w.pools.addr[ppl.addr[i]]
        f, l_ = w.pools.first[ppl.first[i]], w.pools.last[ppl.last[i]]
        return {
            "first_name": f, "last_name": l_, "name": f"{f} {l_}", "company": None,
            "address1": a1, "address2": "", "city": city, "province": prov, "province_code": pcode,
            "zip": z, "country": country, "country_code": ccode,
            "phone": phone_style(ppl.phone[i], int(i % 6) if style is None else style),
        }

    def customer(self, i: int, t: int, nested: bool = False) -> dict:
        """Customer object as of time t."""
        w = self.w
        ppl = w.ppl
        cid = int(ppl.customer_id[i])
        signup = int(ppl.signup[i])
        kind = int(ppl.kind[i])
        tags = []
        if kind == SUBSCRIBER:
            tags.append("newsletter")
        b = int(ppl.birthday[i])
        if b >= 0:
            added = int(ppl.birthday_added_later[i])
            if added < 0 or added <= t:
                d = w.clock._date(b)
                tags.append(f"birthday:{d[5:]}" if ppl.birthday_no_year[i] else f"birthday:{d}")
        if ppl.engagement[i] > 0.7 and kind != SUBSCRIBER:
            tags.append("vip")
        # consent as of t
        unsub = int(w.email_unsub_t[i])
        if ppl.email_optin[i]:
            if 0 <= unsub <= t:
                ec = {"state": "unsubscribed", "opt_in_level": "single_opt_in", "consent_updated_at": self.ts(unsub)}
            else:
                ec = {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": self.ts(signup)}
        else:
            ec = {"state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None}
        sc = None
        if ppl.has_phone[i]:
            stop, start = int(w.sms_stop_t[i]), int(w.sms_start_t[i])
            if ppl.sms_optin[i]:
                if 0 <= start <= t:
                    sc = {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": self.ts(start), "consent_collected_from": "OTHER"}
                elif 0 <= stop <= t:
                    sc = {"state": "unsubscribed", "opt_in_level": "single_opt_in", "consent_updated_at": self.ts(stop), "consent_collected_from": "OTHER"}
                else:
                    sc = {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": self.ts(signup), "consent_collected_from": "SHOPIFY"}
            else:
                sc = {"state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None, "consent_collected_from": "OTHER"}
        f, l_ = w.pools.first[ppl.first[i]], w.pools.last[ppl.last[i]]
        c = {
            "id": cid,
            "email": ppl.email[i],
            "created_at": self.ts(signup),
            "updated_at": self.ts(t),
            "first_name": f,
            "last_name": l_,
            "state": "disabled" if kind == SUBSCRIBER or cid % 5 < 2 else "enabled",
            "note": None,
            "verified_email": True,
            "tax_exempt": False,
            "phone": ppl.phone[i],
            "tags": ", ".join(tags),
            "currency": "USD",
            "email_marketing_consent": ec,
            "sms_marketing_consent": sc,
            "admin_graphql_api_id": f"gid://shopify/Customer/{cid}",
        }
        if kind != SUBSCRIBER and not nested:
            addr = self.address(i)
            addr.update({"id": cid + 1_000_000_000, "customer_id": cid, "country_name": addr["country"], "default": True})
            c["default_address"] = addr
            c["addresses"] = [addr]
        elif not nested:
            c["addresses"] = []
        return c

    def _lists(self):
        """Plain Python lists of the per-line arrays (much faster to index than numpy)."""
        if self._L is None:
            o, cat = self.w.orders, self.w.cat
            self._L = SimpleNamespace(
                variant=o.line_variant.tolist(), qty=o.line_qty.tolist(), price=o.line_price.tolist(),
                alloc=o.line_alloc.tolist(), tax=o.line_tax.tolist(), id=o.line_item_id.tolist(),
                order=o.line_order.tolist(), tax_rate=o.tax_rate.tolist(),
                v_product=cat.v_product.tolist(), product_id=cat.product_id.tolist(), variant_id=cat.variant_id.tolist(),
                v_title=[None if t == "Default Title" else t for t in cat.v_title],
            )
        return self._L

    def _short_line(self, li: int) -> dict:
        L = self._lists()
        v = L.variant[li]
        return {"id": L.id[li], "product_id": L.product_id[L.v_product[v]], "variant_id": L.variant_id[v],
                "quantity": L.qty[li], "price": money(L.price[li])}

    def _line(self, li: int, with_tax: bool = True, fulfilled: bool = False, current_qty=None) -> dict:
        L = self._lists()
        cat = self.w.cat
        v = L.variant[li]
        p = L.v_product[v]
        qty = L.qty[li]
        alloc = L.alloc[li]
        d = {
            "id": L.id[li],
            "product_id": L.product_id[p],
            "variant_id": L.variant_id[v],
            "sku": cat.sku[v],
            "title": cat.title[p],
            "variant_title": L.v_title[v],
            "quantity": qty,
            "current_quantity": qty if current_qty is None else current_qty,
            "fulfillable_quantity": 0 if fulfilled else qty,
            "fulfillment_status": "fulfilled" if fulfilled else None,
            "price": money(L.price[li]),
            "discount_allocations": [{"amount": money(alloc), "discount_application_index": 0}] if alloc else [],
        }
        if with_tax:
            tx = L.tax[li]
            d["tax_lines"] = [{"title": "Sales Tax", "rate": L.tax_rate[L.order[li]], "price": money(tx)}] if tx else []
        return d

    # -- orders ---------------------------------------------------------------------
    def order(self, k: int, t: int) -> dict:
        """Order k as of time t (its fulfilments, delivery and refunds up to t)."""
        w = self.w
        o, ppl = w.orders, w.ppl
        i = int(o.person[k])
        oid = int(o.order_id[k])
        created = int(o.t[k])
        guest = ppl.kind[i] == GUEST
        ls = int(o.line_start[k])
        le = ls + int(o.n_lines[k])
        fulfil = int(o.fulfil[k])
        fulfilled = 0 <= fulfil <= t
        cancel = int(o.cancel_t[k])
        cancelled = 0 <= cancel <= t
        refund_t = int(o.refund_t[k])
        refunded = 0 <= refund_t <= t
        rkind = int(o.refund_kind[k]) if refunded else 0
        rline = int(o.refund_line[k])
        lines = []
        for li in range(ls, le):
            cq = None
            if cancelled or rkind == 1 or (rkind == 2 and li == rline):
                cq = 0
            lines.append(self._line(li, fulfilled=fulfilled, current_qty=cq))
        disc_k = int(o.discount[k])
        dcodes, dapps = [], []
        if disc_k >= 0:
            code, dtype, val = DISCOUNTS[disc_k]
            dcodes = [{"code": code, "amount": money(o.disc[k]), "type": dtype}]
            dapps = [{"target_type": "line_item", "type": "discount_code", "value": f"{val:.1f}",
                      "value_type": dtype, "allocation_method": "across", "target_selection": "all", "code": code}]
        referral = o.referral_code[k]
        if referral is not None:  # a friend's first order names the advocate's code (store_simulator/referrals.py)
            dcodes = [*dcodes, {"code": referral, "amount": "0.00", "type": "fixed_amount"}]
        sub, tax, total, disc, ship = int(o.subtotal[k]), int(o.tax[k]), int(o.total[k]), int(o.disc[k]), int(o.shipping[k])
        cur_sub, cur_tax, cur_total, cur_disc = sub, tax, total, disc
        fin = "paid"
        if cancelled:
            fin = "voided"
            cur_sub = cur_tax = cur_total = cur_disc = 0
        elif rkind == 1:
            fin = "refunded"
            cur_sub = cur_tax = cur_total = cur_disc = 0
        elif rkind == 2:
            fin = "partially_refunded"
            cur_sub = sub - int(o.refund_sub[k])
            cur_tax = tax - int(o.line_tax[rline])
            cur_total = total - int(o.refund_amt[k])
            cur_disc = disc - int(o.line_alloc[rline])
        email = ppl.email[i]
        addr = self.address(i)
        cust = None
        if not guest:
            cid = int(ppl.customer_id[i])
            cust = {"id": cid, "email": email, "first_name": addr["first_name"], "last_name": addr["last_name"],
                    "phone": ppl.phone[i], "created_at": self.ts(int(ppl.signup[i])), "state": "enabled" if cid % 5 >= 2 else "disabled",
                    "admin_graphql_api_id": f"gid://shopify/Customer/{cid}"}
        ck = int(w.order_ck_id[k])
        rec = {
            "id": oid,
            "admin_graphql_api_id": f"gid://shopify/Order/{oid}",
            "name": f"#{1001 + k}",
            "number": 1 + k,
            "order_number": 1001 + k,
            "token": h(self.seed, "otok", k),
            "checkout_id": ck,
            "checkout_token": h(self.seed, "ck", int(w.order_ck_idx[k])),
            "cart_token": h(self.seed, "cart", int(w.order_ck_idx[k])),
            "email": email,
            "contact_email": email,
            "phone": ppl.phone[i] if ppl.kind[i] != GUEST else None,
            "created_at": self.ts(created),
            "updated_at": self.ts(t),
            "processed_at": self.ts(created),
            "closed_at": self.ts(cancel) if cancelled else None,
            "cancelled_at": self.ts(cancel) if cancelled else None,
            "cancel_reason": str(CANCEL_REASONS[o.cancel_reason[k]]) if cancelled else None,
            "confirmed": True,
            "test": False,
            "currency": "USD",
            "presentment_currency": "USD",
            "financial_status": fin,
            "fulfillment_status": "fulfilled" if fulfilled else None,
            "source_name": str(SOURCE_NAMES[o.source[k]]),
            "buyer_accepts_marketing": bool(ppl.email_optin[i]),
            "customer_locale": "en",
            "landing_site": LANDING[k % len(LANDING)],
            "referring_site": REFERRERS[k % len(REFERRERS)] or None,
            "browser_ip": IPS[i % len(IPS)],
            "tags": "",
            "note": None,
            "taxes_included": False,
            "total_line_items_price": money(o.line_total[k]),
            "total_discounts": money(disc),
            "subtotal_price": money(sub),
            "total_tax": money(tax),
            "total_price": money(total),
            "total_outstanding": "0.00",
            "current_subtotal_price": money(cur_sub),
            "current_total_discounts": money(cur_disc),
            "current_total_tax": money(cur_tax),
            "current_total_price": money(cur_total),
            "discount_codes": dcodes,
            "discount_applications": dapps,
            "tax_lines": [{"title": "Sales Tax", "rate": float(o.tax_rate[k]), "price": money(tax)}] if tax else [],
            "line_items": lines,
            "shipping_lines": [{"id": oid + 7, "code": "Standard" if ship else "Free Shipping", "title": "Standard Shipping" if ship else "Free Shipping",
                                "price": money(ship), "source": "shopify"}],
            "billing_address": addr,
            "shipping_address": addr,
            "customer": cust,
            "fulfillments": [],
            "refunds": [],
        }
        if fulfilled:
            rec["fulfillments"].append(self.fulfillment(k, t))
        if refunded:
            rec["refunds"].append(self.refund(k))
        return rec

    def fulfillment(self, k: int, t: int) -> dict:
        w = self.w
        o = w.orders
        fid = int(o.fulfillment_id[k])
        fulfil = int(o.fulfil[k])
        deliver = int(o.deliver[k])
        expected = int(o.expected[k])
        if 0 <= deliver <= t:
            status, upd = "delivered", deliver
        elif o.delayed[k] and 0 <= expected <= t:
            status, upd = "attempted_delivery", expected
        else:
            status, upd = "in_transit", fulfil
        ls = int(o.line_start[k])
        return shipment(fid, int(o.order_id[k]), f"#{1001 + k}.1", self.ts(fulfil), self.ts(upd), status,
                        f"1Z{h(self.seed, 'trk', k, 16).upper()}",
                        [self._short_line(li) for li in range(ls, ls + int(o.n_lines[k]))])

    def refund(self, k: int) -> dict:
        w = self.w
        o = w.orders
        rid = int(o.refund_id[k])
        rt = int(o.refund_t[k])
        ls = int(o.line_start[k])
        idx = range(ls, ls + int(o.n_lines[k])) if o.refund_kind[k] == 1 else [int(o.refund_line[k])]
        rli = []
        for n_, li in enumerate(idx):
            sub = int(o.line_qty[li] * o.line_price[li] - o.line_alloc[li])
            rli.append({
                "id": rid + 100 + n_,
                "line_item_id": int(o.line_item_id[li]),
                "location_id": 655441491,
                "quantity": int(o.line_qty[li]),
                "restock_type": "return",
                "subtotal": round(sub / 100, 2),
                "total_tax": round(int(o.line_tax[li]) / 100, 2),
                "line_item": self._short_line(li),
            })
        adj = []
        if o.refund_kind[k] == 1 and o.shipping[k]:
            adj.append({"id": rid + 50, "order_id": int(o.order_id[k]), "refund_id": rid, "kind": "shipping_refund",
                        "reason": "Shipping refund", "amount": money(-int(o.shipping[k])), "tax_amount": "0.00"})
        return {
            "id": rid,
            "admin_graphql_api_id": f"gid://shopify/Refund/{rid}",
            "order_id": int(o.order_id[k]),
            "created_at": self.ts(rt),
            "processed_at": self.ts(rt),
            "note": ["Damaged in transit", "Changed my mind", "Wrong size", "Not as described"][k % 4],
            "restock": True,
            "refund_line_items": rli,
            "order_adjustments": adj,
            "transactions": [{
                "id": rid + 9,
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{rid + 9}",
                "order_id": int(o.order_id[k]),
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "amount": money(o.refund_amt[k]),
                "currency": "USD",
                "created_at": self.ts(rt),
                "processed_at": self.ts(rt),
                "parent_id": int(o.order_id[k]) + 3,
                "source_name": "web",
            }],
        }

    # -- checkouts ------------------------------------------------------------------
    def checkout(self, c: int, t: int) -> dict:
        w = self.w
        ck, ppl, cat, o = w.ck, w.ppl, w.cat, w.orders
        i = int(ck.person[c])
        created = int(ck.created[c])
        k = int(ck.order[c])
        lines = []
        if k >= 0:
            ls = int(o.line_start[k])
            rng_ = range(ls, ls + int(o.n_lines[k]))
            items = [(int(o.line_variant[li]), int(o.line_qty[li]), int(o.line_price[li])) for li in rng_]
        else:
            a, b = int(ck.line_start[c]), int(ck.line_start[c] + ck.n_lines[c])
            items = [(int(w.ab_lines_v[j]), int(w.ab_lines_q[j]), int(w.ab_lines_p[j])) for j in range(a, b)]
        total_lines = 0
        for n_, (v, q, p) in enumerate(items):
            pi = int(cat.v_product[v])
            total_lines += q * p
            lines.append({
                "key": h(self.seed, "ckl", c * 16 + n_, 16),
                "product_id": int(cat.product_id[pi]),
                "variant_id": int(cat.variant_id[v]),
                "sku": cat.sku[v],
                "title": cat.title[pi],
                "variant_title": None if cat.v_title[v] == "Default Title" else cat.v_title[v],
                "vendor": cat.vendor[pi],
                "quantity": q,
                "price": money(p),
                "line_price": money(q * p),
                "compare_at_price": None,
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
                "grams": int(cat.grams[v]),
            })
        if k >= 0:
            disc, sub, tax, total = int(o.disc[k]), int(o.subtotal[k]), int(o.tax[k]), int(o.total[k])
            dk = int(o.discount[k])
            dcodes = [{"code": DISCOUNTS[dk][0], "amount": money(disc), "type": DISCOUNTS[dk][1]}] if dk >= 0 else []
        else:
            disc, sub = 0, total_lines
            tax = round(sub * 0.0725)
            total = sub + tax
            dcodes = []
        completed = k >= 0 and int(o.t[k]) <= t
        has_acc = ppl.kind[i] != GUEST and 0 <= ppl.signup[i] <= created
        token = h(self.seed, "ck", c)
        rec = {
            "id": int(ck.checkout_id[c]),
            "token": token,
            "cart_token": h(self.seed, "cart", c),
            "email": ppl.email[i],
            "phone": None,
            "created_at": self.ts(created),
            "updated_at": self.ts(t),
            "completed_at": self.ts(int(o.t[k])) if completed else None,
            "closed_at": None,
            "currency": "USD",
            "presentment_currency": "USD",
            "customer_locale": "en",
            "source_name": "web",
            "name": f"#{int(ck.checkout_id[c])}",
            "buyer_accepts_marketing": bool(ppl.email_optin[i]),
            "buyer_accepts_sms_marketing": bool(ppl.sms_optin[i]),
            "abandoned_checkout_url": f"{SHOP}/548380009/checkouts/{token}/recover",
            "line_items": lines,
            "discount_codes": dcodes,
            "total_line_items_price": money(total_lines),
            "total_discounts": money(disc),
            "subtotal_price": money(sub),
            "total_tax": money(tax),
            "total_price": money(total),
            "tax_lines": [{"title": "Sales Tax", "rate": 0.0725, "price": money(tax)}] if tax else [],
            "shipping_lines": [],
            "billing_address": self.address(i) if ppl.kind[i] != SUBSCRIBER else None,
            "shipping_address": self.address(i) if ppl.kind[i] != SUBSCRIBER else None,
            "customer": self.customer(i, created, nested=True) if has_acc else None,
        }
        return rec

    # -- products -------------------------------------------------------------------
    def product(self, p: int, day: int, t: int) -> dict:
        w = self.w
        cat = w.cat
        pid = int(cat.product_id[p])
        vs = range(int(w.v_first[p]), int(w.v_first[p] + w.v_count[p]))
        created = int(cat.created_t[p])
        variants = []
        for pos, v in enumerate(vs):
            pr, ca = int(cat.price[v, day]), int(cat.compare_at[v, day])
            variants.append({
                "id": int(cat.variant_id[v]),
                "product_id": pid,
                "title": cat.v_title[v],
                "price": money(pr),
                "compare_at_price": money(ca) if ca else None,
                "sku": cat.sku[v],
                "position": pos + 1,
                "inventory_policy": "deny",
                "inventory_management": "shopify",
                "inventory_item_id": int(w.inventory.item_id[v]),
                "inventory_quantity": int(cat.stock[v, day]) if created <= t else 0,
                "option1": cat.v_title[v],
                "grams": int(cat.grams[v]),
                "requires_shipping": True,
                "taxable": True,
                "created_at": self.ts(created),
                "updated_at": self.ts(t),
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{int(cat.variant_id[v])}",
            })
        return {
            "id": pid,
            "title": cat.title[p],
            "handle": cat.handle[p],
            "body_html": f"<p>{cat.title[p]} from Northwind Goods.</p>",
            "vendor": cat.vendor[p],
            "product_type": cat.product_type[p],
            "tags": cat.tags[p],
            "status": "active",
            "published_scope": "web",
            "created_at": self.ts(created),
            "updated_at": self.ts(t),
            "published_at": self.ts(created),
            "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
            "variants": variants,
            "options": [{"id": pid + 11, "product_id": pid, "name": "Title", "position": 1, "values": [cat.v_title[v] for v in vs]}],
        }

    # -- sendgrid -------------------------------------------------------------------
    def _sg_send(self, s: int) -> dict:
        """The fields every event of one send shares (cached for the day being written)."""
        base = self._sends.get(s)
        if base is not None:
            return base
        w = self.w
        sd, ppl = w.sends, w.ppl
        i = int(sd.person[s])
        flow = int(sd.flow[s])
        fname, cat_, asm, _tr, path = FLOWS[flow]
        camp = int(sd.camp[s])
        if flow == 0:
            theme = THEMES[camp % len(THEMES)]
            campaign = f"newsletter-{w.camp_dates[camp]}-{theme}"
            category = ["newsletter", theme]
        else:
            campaign = fname
            category = cat_ if flow != 2 else ["transactional", "order_confirmation"]
        x = h(self.seed, "sgm", s)
        mid = x[:22]
        base = {
            "email": ppl.email[i],
            "smtp-id": f"<{mid}@ismtpd0001p1iad2.sendgrid.net>",
            "category": category,
            "sg_message_id": f"{mid}.filter0001.{s % 100000}.{x[22:30].upper()}.0",
            "campaign": campaign,
            "send_id": f"snd_{x[20:32]}",
            "_i": i,
            "_asm": asm,
            "_url": f"{SHOP}{path}?utm_source=sendgrid&utm_medium=email&utm_campaign={campaign}",
        }
        if flow == 3:
            base["step"] = int(sd.step[s])
        self._sends[s] = base
        return base

    def sg_event(self, e: int) -> dict:
        w = self.w
        ev = w.events
        s = int(ev.send[e])
        kind = int(ev.kind[e])
        base = self._sg_send(s)
        d = {k: v for k, v in base.items() if k[0] != "_"}
        d["timestamp"] = int(ev.t[e])
        d["event"] = EVENT_NAMES[kind]
        d["sg_event_id"] = h(self.seed, "sge", e, 22)
        if kind == 1:
            d["response"] = "250 OK"
        elif kind == 2:
            d["response"] = "421 4.7.0 try again later"
            d["attempt"] = "1"
        elif kind == 3:
            blocked = bool(ev.extra[e])
            d["type"] = "blocked" if blocked else "bounce"
            d["reason"] = "550 5.7.1 blocked by policy" if blocked else "550 5.1.1 The email account does not exist"
            d["status"] = "5.7.1" if blocked else "5.1.1"
        elif kind == 4:
            d["reason"] = "Invalid SMTPAPI header"
            d["status"] = "5.0.0"
        elif kind in (5, 6, 7, 8):
            i = base["_i"]
            d["useragent"] = USER_AGENTS[i % len(USER_AGENTS)]
            d["ip"] = IPS[i % len(IPS)]
            if kind == 6:
                d["url"] = base["_url"]
            if kind == 8:
                d["asm_group_id"] = base["_asm"] or 1007
        return d

    # -- twilio ---------------------------------------------------------------------
    def _phone_q(self, i: int) -> str:
        p = self.w.ppl.phone[i] or ""
        return "%2B" + p[1:] if p.startswith("+") else _q(p)

    def tw_status(self, j: int) -> str:
        w = self.w
        st, msgs = w.status, w.msgs
        m = int(st.msg[j])
        kind = int(st.kind[j])
        sid = "SM" + h(self.seed, "sms", m)
        status = STATUS_NAMES[kind]
        line = (f"SmsSid={sid}&SmsStatus={status}&MessageStatus={status}&To={self._phone_q(int(msgs.person[m]))}"
                f"&MessageSid={sid}&AccountSid={w.account_sid}&From=%2B18885550147&ApiVersion=2010-04-01")
        if kind in (3, 4):
            line += f"&ErrorCode={int(msgs.code[m])}"
        if kind >= 2:
            c = self.clock.compact_utc(int(st.t[j]))
            line += f"&RawDlrDoneDate={c[2:8]}{c[9:13]}"
        return line

    def tw_inbound(self, j: int) -> str:
        w = self.w
        ib, ppl = w.inbound, w.ppl
        i = int(ib.person[j])
        kind = int(ib.kind[j])
        word = int(ib.word[j])
        sid = "SM" + h(self.seed, "smi", j)
        opt = None
        if kind == 0:
            body, opt = STOP_WORDS[word % len(STOP_WORDS)], "STOP"
        elif kind == 1:
            body, opt = START_WORDS[word % len(START_WORDS)], "START"
        else:
            body = OTHER_REPLIES[word % len(OTHER_REPLIES)]
            if body == "HELP":
                opt = "HELP"
        line = (f"ToCountry=US&SmsMessageSid={sid}&NumMedia=0&MessageSid={sid}&AccountSid={w.account_sid}"
                f"&From={self._phone_q(i)}&To=%2B18885550147&FromCountry={COUNTRIES[int(ppl.country[i])][0]}"
                f"&Body={_q(body)}&NumSegments=1&ApiVersion=2010-04-01")
        if opt:
            line += f"&OptOutType={opt}"
        return line

    # -- web, reviews, NPS -----------------------------------------------------------
    def web_event(self, j: int) -> dict:
        w = self.w
        we, ss, cat, ppl = w.web, w.sessions, w.cat, w.ppl
        s = int(we.session[j])
        kind = int(we.kind[j])
        i = int(ss.person[s])
        v = int(we.variant[j])
        pid = vid = None
        q = None
        if kind in (1, 2, 4):
            p = int(cat.v_product[v])
            pid, vid = int(cat.product_id[p]), int(cat.variant_id[v])
            url = f"{SHOP}/products/{cat.handle[p]}"
        elif kind == 3:
            q = SEARCHES[int(ss.query[s])]
            url = f"{SHOP}/search?q={q.replace(' ', '+')}"
        else:
            url = SHOP + LANDING[int(ss.land[s])]
        anon = ppl.anon_id[i] if i >= 0 else h(self.seed, "anon", s, 16)
        return {
            "event_id": h(self.seed, "web", j, 24),
            "session_id": f"s_{int(ss.sid[s])}",
            "occurred_at": self.ts(int(we.t[j])),
            "event_type": EVENT_TYPES[kind],
            "customer_id": int(ppl.customer_id[i]) if (i >= 0 and ss.logged[s]) else None,
            "anonymous_id": anon,
            "url": url,
            "product_id": pid,
            "variant_id": vid,
            "search_query": q,
            "referrer": REFERRERS[int(ss.ref[s])] or None,
            "user_agent": USER_AGENTS[int(ss.ua[s])],
        }

    def review(self, j: int) -> dict:
        w = self.w
        rv, o, cat, ppl = w.reviews, w.orders, w.cat, w.ppl
        k = int(rv.order[j])
        i = int(o.person[k])
        v = int(o.line_variant[int(rv.line[j])])
        r = int(rv.rating[j])
        pk = int(rv.pick[j])
        label = REVIEW_SENTIMENTS[int(rv.sentiment[j])] if rv.sentiment[j] >= 0 else None
        return {
            "review_id": f"rev_{int(rv.review_id[j])}",
            "product_id": int(cat.product_id[int(cat.v_product[v])]),
            "customer_id": int(ppl.customer_id[i]) or None,
            "email": ppl.email[i],
            "order_id": int(o.order_id[k]),
            "rating": r,
            "title": REVIEW_TITLES[label][pk % len(REVIEW_TITLES[label])] if label else None,
            "body": REVIEW_BODIES[label][pk % len(REVIEW_BODIES[label])] if label else None,
            "verified_buyer": True,
            "created_at": self.ts(int(rv.t[j])),
        }

    def nps(self, j: int) -> dict:
        w = self.w
        ns, o, ppl = w.nps, w.orders, w.ppl
        k = int(ns.order[j])
        i = int(o.person[k])
        s = int(ns.score[j])
        bucket = "detractor" if s <= 6 else ("passive" if s <= 8 else "promoter")
        c = NPS_COMMENTS[bucket]
        return {
            "response_id": f"nps_{int(ns.response_id[j])}",
            "survey_id": "post_purchase_v1" if int(ns.t[j]) < w.t_mid else "post_purchase_v2",
            "customer_id": int(ppl.customer_id[i]) or None,
            "email": ppl.email[i],
            "order_id": int(o.order_id[k]),
            "score": s,
            "comment": c[int(ns.pick[j]) % len(c)] if ns.comment[j] else None,
            "submitted_at": self.ts(int(ns.t[j])),
        }
