"""Writes one delivery day of every source, injecting (and recording) dirt.

Each day is written from the simulation's arrays with its own random stream
(seeded by the run's seed, the day and the source), so the files do not depend on which
process writes which day.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson

from .clock import DAY
from .inventory import LOCATIONS, LOCATIONS_CREATED_DAYS_BEFORE, level_record, location_record
from .render import Renderer, phone_style
from .subscriptions import subscription_record

SOURCES = ["shopify", "sendgrid", "twilio", "web", "reviews", "nps", "subscriptions"]
PAGE = 250
SG_BATCH = 1000

# share of defects by class (given a defect): duplicate, format, malformed
DEFECT_P = np.array([0.4, 0.25, 0.35])


class DayWriter:
    def __init__(self, world, inbox: Path):
        self.w = world
        self.r = Renderer(world)
        self.inbox = inbox
        self.rate = world.dirt_rate
        self.suffix = ".gz" if world.cfg.compress else ""

    # -- helpers ---------------------------------------------------------------------
    def _rng(self, day: int, source: str) -> np.random.Generator:
        return np.random.default_rng([self.w.seed, 99, int(day), SOURCES.index(source) + 1])

    def _defects(self, rng, n: int) -> np.ndarray:
        """0 none, 1 duplicate, 2 format, 3 malformed."""
        u = rng.random(n)
        k = rng.choice(3, n, p=DEFECT_P) + 1
        return np.where(u < self.rate, k, 0)

    def _write(self, rel: str, data: bytes, stats: dict, source: str, records: int):
        p = self.inbox / (rel + self.suffix)
        p.parent.mkdir(parents=True, exist_ok=True)
        if self.suffix:  # level 1: a fraction of the CPU of the default for most of the saving; mtime 0 keeps it deterministic
            data = gzip.compress(data, compresslevel=1, mtime=0)
        with open(p, "wb") as f:
            f.write(data)
        s = stats[source]
        s["files"] += 1
        s["bytes"] += len(data)
        s["records"] += records

    def _dirt(self, rows, source, table, day_s, rel, kind, malformed, rid, loc):
        rows.append((source, table, day_s, rel + self.suffix, kind, bool(malformed), None if rid is None else str(rid), loc))

    def _slice(self, table, day: int):
        lo, hi = table.bounds[day - self.w.day0], table.bounds[day - self.w.day0 + 1]
        return table.perm[lo:hi]

    def _ts_variant(self, t: int, rng) -> str:
        c = self.w.clock
        k = int(rng.integers(0, 3))
        if k == 0:
            return c.utc(t, True)
        if k == 1:
            return c.utc(t, False)
        return c.fixed(t, int(rng.choice([-480, -420, -360, 60, 330])))

    @staticmethod
    def _messy_email(e: str, rng) -> str:
        k = int(rng.integers(0, 3))
        local, _, dom = e.partition("@")
        if k == 0:
            return f" {local.capitalize()}@{dom.upper()} "
        if k == 1:
            return e.upper()
        return f"{e}  "

    # -- the day ---------------------------------------------------------------------
    def write_day(self, day: int):
        stats = {s: {"files": 0, "records": 0, "bytes": 0} for s in SOURCES}
        dirt: list = []
        self.r.new_day()
        ds = self.w.clock._date(day)
        self._shopify(day, ds, stats, dirt)
        self._sendgrid(day, ds, stats, dirt)
        self._twilio(day, ds, stats, dirt)
        self._jsonl(day, ds, stats, dirt, "web", "events", "events.jsonl", self.w.em_web, self.r.web_event, "event_id")
        self._jsonl(day, ds, stats, dirt, "reviews", "reviews", "reviews.jsonl", self.w.em_reviews, self.r.review, "review_id")
        self._jsonl(day, ds, stats, dirt, "nps", "responses", "responses.jsonl", self.w.em_nps, self.r.nps, "response_id")
        self._subscriptions(day, ds, stats)
        return stats, dirt

    def _subscriptions(self, day, ds, stats):
        """The day's sign-ups, and the day's cancellations (the same line with cancelled_at; one made
        and withdrawn the same day is exported once, withdrawn)."""
        subs = self.w.subscriptions
        if subs.empty:
            return
        withdrawn_today = (subs["cancelled_t"] >= 0) & (subs["cancelled_t"] // DAY == day)
        made = subs[(subs["created_t"] // DAY == day) & ~withdrawn_today]
        withdrawn = subs[withdrawn_today]
        lines = [orjson.dumps(subscription_record(row, self.w.clock.utc, cancelled))
                 for frame, cancelled in ((made, False), (withdrawn, True)) for row in frame.itertuples()]
        if lines:
            self._write(f"subscriptions/{ds}/subscriptions.jsonl", b"\n".join(lines) + b"\n", stats,
                        "subscriptions", len(lines))

    # -- shopify ---------------------------------------------------------------------
    def _shopify(self, day, ds, stats, dirt):
        w = self.w
        rng = self._rng(day, "shopify")
        resources = []
        idx = self._slice(w.em_cust, day)
        resources.append(("customers", [(int(w.em_cust.t[j]), self.r.customer(int(w.em_cust.key[j]), int(w.em_cust.t[j])), w.em_cust.late[j]) for j in idx]))
        idx = self._slice(w.em_prod, day)
        resources.append(("products", [(int(w.em_prod.t[j]), self.r.product(int(w.em_prod.key[j]), int(w.em_prod.aux[j]), int(w.em_prod.t[j])), w.em_prod.late[j]) for j in idx]))
        idx = self._slice(w.em_order, day)
        resources.append(("orders", [(int(w.em_order.t[j]), self.r.order(int(w.em_order.key[j]), int(w.em_order.t[j])), w.em_order.late[j]) for j in idx]))
        idx = self._slice(w.em_ck, day)
        resources.append(("checkouts", [(int(w.em_ck.t[j]), self.r.checkout(int(w.em_ck.key[j]), int(w.em_ck.t[j])), w.em_ck.late[j]) for j in idx]))
        for res, items in resources:
            self._pages(res, items, rng, ds, stats, dirt)
        self._inventory(day, ds, stats, dirt)

    def _pages(self, res, items, rng, ds, stats, dirt):
        """Shopify pages of one resource for the day: defects, 250 records a page, a rare truncated retry."""
        if not items:
            return
        items.sort(key=lambda x: (x[0], x[1]["id"] if isinstance(x[1].get("id"), int) else 0))
        recs = []
        marks = []  # (position in recs, kind, malformed, id)
        defects = self._defects(rng, len(items))
        for (t, rec, late), dk in zip(items, defects):
            rid = f"{rec['inventory_item_id']}@{rec['location_id']}" if res == "inventory_levels" else rec.get("id")
            if late:
                marks.append((len(recs), "late", False, rid))
            if dk == 1:
                recs.append(rec)
                marks.append((len(recs), "duplicate", False, rid))
                recs.append(rec)
                continue
            if dk == 2:
                kind = self._format_shopify(res, rec, t, rng)
                if kind:
                    marks.append((len(recs), kind, False, rid))
            elif dk == 3:
                kind = self._malform_shopify(res, rec, rng)
                marks.append((len(recs), kind, True, rid))
            recs.append(rec)
        pages = [recs[i:i + PAGE] for i in range(0, len(recs), PAGE)]
        bodies = []
        for n_, page in enumerate(pages):
            rel = f"shopify/{ds}/{res}-{n_ + 1:04d}.json"
            body = orjson.dumps({res: page})
            bodies.append(body)
            self._write(rel, body, stats, "shopify", len(page))
        for pos, kind, mal, rid in marks:
            rel = f"shopify/{ds}/{res}-{pos // PAGE + 1:04d}.json"
            self._dirt(dirt, "shopify", res, ds, rel, kind, mal, rid, f"{res}[{pos % PAGE}]")
        # rarely: a truncated retry of one page (the good page is there too)
        if rng.random() < self.rate * 0.5 * len(pages):
            src = bodies[int(rng.integers(0, len(bodies)))]
            rel = f"shopify/{ds}/{res}-{len(pages) + 1:04d}.json"
            self._write(rel, src[: max(10, len(src) // 2)], stats, "shopify", 1)
            self._dirt(dirt, "shopify", "_files", ds, rel, "invalid_json_file", True, None, "file")

    def _inventory(self, day, ds, stats, dirt):
        """Locations with the first day's full sync; inventory levels whenever a quantity changes."""
        w = self.w
        inv = w.inventory
        rng = np.random.default_rng([w.seed, 99, int(day), 23])  # its own stream: other pages unchanged
        if day == w.day0:
            body = orjson.dumps({"locations": [location_record(k, w.t0 - LOCATIONS_CREATED_DAYS_BEFORE * DAY, self.r.ts)
                                               for k in range(len(LOCATIONS))]})
            self._write(f"shopify/{ds}/locations-0001.json", body, stats, "shopify", len(LOCATIONS))
        lo, hi = inv.bounds[day - w.day0], inv.bounds[day - w.day0 + 1]
        items = [(int(inv.t[j]), level_record(inv, j, self.r.ts), False) for j in range(lo, hi)]
        self._pages("inventory_levels", items, rng, ds, stats, dirt)

    def _format_shopify(self, res, rec, t, rng):
        k = int(rng.integers(0, 3))
        if k == 0 and rec.get("email"):
            rec["email"] = self._messy_email(rec["email"], rng)
            return "email_format"
        if k == 1 and rec.get("phone"):
            rec["phone"] = phone_style(rec["phone"], int(rng.integers(1, 6)))
            return "phone_format"
        rec["updated_at"] = self._ts_variant(t, rng)
        return "timestamp_offset"

    def _malform_shopify(self, res, rec, rng):
        k = int(rng.integers(0, 2))
        if res == "inventory_levels":
            if k == 0:
                del rec["inventory_item_id"]
                return "missing_inventory_item_id"
            rec["available"] = f"{rec['available']} units"
            return "bad_available"
        if res == "orders":
            if k == 0 or not rec["line_items"]:
                rec["created_at"] = "not-a-date"
                return "bad_timestamp"
            rec["line_items"][0]["price"] = "abc"
            return "bad_line_item_price"
        if res == "products":
            if k == 0:
                rec["variants"][0]["price"] = "abc"
                return "bad_variant_price"
            del rec["title"]
            return "missing_title"
        if res == "checkouts":
            if k == 0:
                rec["created_at"] = "not-a-date"
                return "bad_timestamp"
            rec["total_price"] = "N/A"
            return "bad_money"
        if k == 0:
            rec["created_at"] = "not-a-date"
            return "bad_timestamp"
        rec["id"] = f"cust-{rec['id']}"
        return "bad_id"

    # -- sendgrid --------------------------------------------------------------------
    def _sendgrid(self, day, ds, stats, dirt):
        w = self.w
        idx = self._slice(w.em_sg, day)
        if len(idx) == 0:
            return
        rng = self._rng(day, "sendgrid")
        t = w.events.t[idx]
        hour = (t - day * DAY) // 3600
        late = w.em_sg.late[idx]
        hour = np.where(late, 0, np.clip(hour, 0, 23))
        defects = self._defects(rng, len(idx))
        by_hour: dict[int, list] = {}
        for j, hr, dk, lt in zip(idx, hour, defects, late):
            ev = self.r.sg_event(int(j))
            lst = by_hour.setdefault(int(hr), [])
            rid = ev["sg_event_id"]
            kinds = [("late", False)] if lt else []
            if dk == 1:
                lst.append((ev, kinds, rid))
                lst.append((ev, [("duplicate", False)], rid))
                continue
            if dk == 2:
                kk = int(rng.integers(0, 3))
                if kk == 0:
                    ev["email"] = self._messy_email(ev["email"], rng)
                    kinds.append(("email_format", False))
                elif kk == 1:
                    ev["timestamp"] = ev["timestamp"] * 1000
                    kinds.append(("timestamp_ms", False))
                else:
                    ev["timestamp"] = str(ev["timestamp"])
                    kinds.append(("timestamp_string", False))
            elif dk == 3:
                kk = int(rng.integers(0, 3))
                if kk == 0:
                    del ev["event"]
                    kinds.append(("missing_event", True))
                elif kk == 1:
                    ev["timestamp"] = "yesterday"
                    kinds.append(("bad_timestamp", True))
                else:
                    ev["email"] = None
                    kinds.append(("missing_email", True))
            lst.append((ev, kinds, rid))
        for hr in sorted(by_hour):
            items = by_hour[hr]
            batches = [items[i:i + SG_BATCH] for i in range(0, len(items), SG_BATCH)]
            bodies = []
            for n_, b in enumerate(batches):
                rel = f"sendgrid/{ds}/events-{hr:02d}0000-{n_ + 1:04d}.json"
                body = orjson.dumps([x[0] for x in b])
                bodies.append(body)
                self._write(rel, body, stats, "sendgrid", len(b))
                for pos, (_ev, kinds, rid) in enumerate(b):
                    for kind, mal in kinds:
                        self._dirt(dirt, "sendgrid", "events", ds, rel, kind, mal, rid, f"[{pos}]")
            if rng.random() < self.rate * 0.5:
                src = bodies[int(rng.integers(0, len(bodies)))]
                rel = f"sendgrid/{ds}/events-{hr:02d}0000-{len(bodies) + 1:04d}.json"
                self._write(rel, src[: max(5, len(src) // 2)], stats, "sendgrid", 1)
                self._dirt(dirt, "sendgrid", "_files", ds, rel, "invalid_json_file", True, None, "file")

    # -- twilio ----------------------------------------------------------------------
    def _twilio(self, day, ds, stats, dirt):
        w = self.w
        rng = self._rng(day, "twilio")
        # tables as ingestion names them; a line with neither Body nor MessageStatus is a `_files` reject
        for name, table, tab, fn, _ in (("status", "message_status", w.em_status, self.r.tw_status, "MessageSid"),
                                          ("inbound", "inbound_messages", w.em_inbound, self.r.tw_inbound, "MessageSid")):
            idx = self._slice(tab, day)
            if len(idx) == 0:
                continue
            t = tab.t[idx]
            late = tab.late[idx]
            hour = np.where(late, 0, np.clip((t - day * DAY) // 3600, 0, 23))
            defects = self._defects(rng, len(idx))
            by_hour: dict[int, list] = {}
            for j, hr, dk, lt in zip(idx, hour, defects, late):
                line = fn(int(j))
                sid = line.split("MessageSid=")[1].split("&")[0]
                lst = by_hour.setdefault(int(hr), [])
                kinds = []
                if lt:
                    kinds.append(("late", False))
                if dk == 1:
                    lst.append((line, kinds, sid))
                    lst.append((line, [("duplicate", False)], sid))
                    continue
                if dk == 2:
                    # a From/To number written another way
                    frm = "From=%2B" if name == "inbound" else "To=%2B"
                    if frm in line:
                        pre, rest = line.split(frm, 1)
                        num, _, post = rest.partition("&")
                        alt = phone_style("+" + num, int(rng.integers(1, 6)))
                        from urllib.parse import quote_plus
                        line = pre + frm.split("=")[0] + "=" + quote_plus(alt) + ("&" + post if post else "")
                        kinds.append(("phone_format", False))
                elif dk == 3:
                    parts = line.split("&")
                    if name == "status":
                        drop = "MessageSid=" if rng.random() < 0.7 else "MessageStatus="
                    else:
                        drop = "Body=" if rng.random() < 0.5 else "MessageSid="
                    parts = [p for p in parts if not p.startswith(drop) and not (drop == "MessageSid=" and p.startswith(("SmsSid=", "SmsMessageSid=")))]
                    line = "&".join(parts)
                    kinds.append((f"missing_{drop[:-1]}", True, "_files" if drop in ("Body=", "MessageStatus=") else table))
                lst.append((line, kinds, sid))
            for hr in sorted(by_hour):
                ts = day * DAY + hr * 3600 + 3599
                rel = f"twilio/{ds}/{name}-{w.clock.compact_utc(ts)}.txt"
                lines = []
                for n_, (line, kinds, sid) in enumerate(by_hour[hr]):
                    for kind, mal, *tb in kinds:
                        self._dirt(dirt, "twilio", tb[0] if tb else table, ds, rel, kind, mal, sid, f"line {n_ + 1}")
                    lines.append(line)
                self._write(rel, ("\n".join(lines) + "\n").encode(), stats, "twilio", len(lines))

    # -- JSONL sources ---------------------------------------------------------------
    def _jsonl(self, day, ds, stats, dirt, source, table, fname, tab, fn, key):
        idx = self._slice(tab, day)
        if len(idx) == 0:
            return
        rng = self._rng(day, source)
        rel = f"{source}/{ds}/{fname}"
        out = []
        defects = self._defects(rng, len(idx))
        for j, dk, lt in zip(idx, defects, tab.late[idx]):
            rec = fn(int(j))
            rid = rec[key]
            if lt:
                self._dirt(dirt, source, table, ds, rel, "late", False, rid, f"line {len(out) + 1}")
            if dk == 1:
                b = orjson.dumps(rec)
                out.append(b)
                self._dirt(dirt, source, table, ds, rel, "duplicate", False, rid, f"line {len(out) + 1}")
                out.append(b)
                continue
            if dk == 2:
                ts_key = "occurred_at" if source == "web" else ("created_at" if source == "reviews" else "submitted_at")
                if source != "web" and rec.get("email") and rng.random() < 0.5:
                    rec["email"] = self._messy_email(rec["email"], rng)
                    kind = "email_format"
                else:
                    rec[ts_key] = self._ts_variant(int(tab.t[j]), rng)
                    kind = "timestamp_offset"
                self._dirt(dirt, source, table, ds, rel, kind, False, rid, f"line {len(out) + 1}")
                out.append(orjson.dumps(rec))
                continue
            if dk == 3:
                kk = int(rng.integers(0, 3))
                if kk == 0:
                    b = orjson.dumps(rec)
                    out.append(b[: len(b) // 2])
                    self._dirt(dirt, source, table, ds, rel, "truncated_line", True, rid, f"line {len(out)}")
                    continue
                if source == "web":
                    if kk == 1:
                        rec["event_type"] = "click"
                        kind = "bad_event_type"
                    else:
                        rec["occurred_at"] = "not-a-date"
                        kind = "bad_timestamp"
                elif source == "reviews":
                    if kk == 1:
                        rec["rating"] = int(rng.choice([0, 6]))
                        kind = "rating_out_of_range"
                    else:
                        rec["product_id"] = "abc"
                        kind = "bad_product_id"
                else:
                    if kk == 1:
                        rec["score"] = int(rng.choice([11, -1]))
                        kind = "score_out_of_range"
                    else:
                        rec["submitted_at"] = "not-a-date"
                        kind = "bad_timestamp"
                self._dirt(dirt, source, table, ds, rel, kind, True, rid, f"line {len(out) + 1}")
                out.append(orjson.dumps(rec))
                continue
            out.append(orjson.dumps(rec))
        self._write(rel, b"\n".join(out) + b"\n", stats, source, len(out))


_WRITER: DayWriter | None = None


def _init(writer):
    global _WRITER
    _WRITER = writer


def _run(day):
    return day, _WRITER.write_day(day)
