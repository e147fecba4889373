"""The store simulator: determinism, formats, ground truth, dirt, CLI and statistics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest

from retention.store_simulator import ForeignInboxError, SimConfig, simulate

SMALL = dict(customers=300, start=date(2024, 1, 1), end=date(2024, 4, 30), dirt_rate=0.01, subscription_rate=0.3)
MONEY = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim")
    a = simulate(SimConfig(seed=7, **SMALL), base / "a")
    b = simulate(SimConfig(seed=7, workers=1, **SMALL), base / "b")
    c = simulate(SimConfig(seed=8, **SMALL), base / "c")
    return base, a, b, c


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _dirt(base) -> pd.DataFrame:
    return pd.read_parquet(base / "a" / "simulation" / "dirt.parquet")


# -- a minimal reading of the README's landing rules --------------------------------------

def _is_ts(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _is_money(v) -> bool:
    return v is None or (isinstance(v, str) and bool(MONEY.match(v)))


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def shopify_ok(res: str, r: dict) -> bool:
    if res == "customers":
        return _int(r.get("id")) and _is_ts(r.get("created_at")) and _is_ts(r.get("updated_at"))
    if res == "orders":
        money = ["total_price", "subtotal_price", "total_tax", "total_discounts", "total_line_items_price",
                 "current_total_price", "current_subtotal_price"]
        return (_int(r.get("id")) and _is_ts(r.get("created_at")) and _is_ts(r.get("updated_at"))
                and isinstance(r.get("currency"), str) and len(r["currency"]) == 3
                and all(_is_money(r.get(k)) for k in money)
                and all(_int(li.get("id")) and _int(li.get("quantity")) and li["quantity"] >= 0 and _is_money(li.get("price"))
                        for li in r.get("line_items", [])))
    if res == "products":
        return (_int(r.get("id")) and bool(r.get("title")) and _is_ts(r.get("created_at")) and _is_ts(r.get("updated_at"))
                and all(_int(v.get("id")) and _is_money(v.get("price")) for v in r.get("variants", [])))
    if res == "locations":
        return _int(r.get("id")) and _is_ts(r.get("updated_at"))
    if res == "inventory_levels":
        return (_int(r.get("inventory_item_id")) and _int(r.get("location_id")) and _is_ts(r.get("updated_at"))
                and (r.get("available") is None or _int(r["available"])))
    if res == "checkouts":
        return ((_int(r.get("id")) or bool(r.get("token"))) and _is_ts(r.get("created_at")) and _is_ts(r.get("updated_at"))
                and all(_is_money(r.get(k)) for k in ("total_price", "subtotal_price", "total_tax")))
    raise AssertionError(res)


def sendgrid_ok(e) -> bool:
    ts = e.get("timestamp")
    ts_ok = _int(ts) or (isinstance(ts, str) and ts.isdigit())
    return isinstance(e.get("event"), str) and bool(e["event"]) and isinstance(e.get("email"), str) and ts_ok


def jsonl_ok(source: str, r: dict) -> bool:
    if source == "web":
        return (bool(r.get("event_id")) and bool(r.get("session_id")) and _is_ts(r.get("occurred_at"))
                and r.get("event_type") in ("page_view", "product_view", "add_to_cart", "search", "share"))
    if source == "reviews":
        return (bool(r.get("review_id")) and _int(r.get("product_id")) and _int(r.get("rating"))
                and 1 <= r["rating"] <= 5 and _is_ts(r.get("created_at")))
    if source == "subscriptions":
        return (bool(r.get("subscription_id")) and _int(r.get("product_id")) and _int(r.get("variant_id"))
                and r.get("kind") in ("back_in_stock", "price_drop", "wishlist") and _is_ts(r.get("created_at"))
                and (r.get("cancelled_at") is None or _is_ts(r["cancelled_at"])))
    return bool(r.get("response_id")) and _int(r.get("score")) and 0 <= r["score"] <= 10 and _is_ts(r.get("submitted_at"))


def read_inbox(inbox: Path):
    """Parse every file with plain json / urllib.parse; count records and rejects per (source, table)."""
    records: Counter = Counter()
    rejects: Counter = Counter()
    parsed: dict = {"shopify": {}, "sendgrid": [], "twilio_status": [], "twilio_inbound": [], "web": [], "reviews": [], "nps": [],
                    "subscriptions": []}
    tables = {"web": "events", "reviews": "reviews", "nps": "responses", "subscriptions": "subscriptions"}
    for p in sorted(inbox.rglob("*")):
        if not p.is_file():
            continue
        source = p.relative_to(inbox).parts[0]
        raw = p.read_bytes()
        if source in ("shopify", "sendgrid"):
            try:
                body = json.loads(raw.decode("utf-8-sig"))
            except ValueError:
                records[source] += 1
                rejects[(source, "_files")] += 1
                continue
            if source == "shopify":
                (res, recs), = body.items()
                assert p.name.startswith(res + "-")
                assert len(recs) <= 260
                records[source] += len(recs)
                for r in recs:
                    parsed["shopify"].setdefault(res, []).append(r)
                    if not shopify_ok(res, r):
                        rejects[(source, res)] += 1
            else:
                assert isinstance(body, list) and len(body) <= 1000
                records[source] += len(body)
                for e in body:
                    parsed["sendgrid"].append(e)
                    if not sendgrid_ok(e):
                        rejects[(source, "events")] += 1
        elif source == "twilio":
            kind = p.name.split("-")[0]
            assert re.fullmatch(r"(status|inbound)-\d{8}T\d{6}Z\.txt", p.name)
            for line in raw.decode().splitlines():
                records[source] += 1
                f = {k: v[0] for k, v in parse_qs(line, keep_blank_values=True, strict_parsing=True).items()}
                parsed["twilio_" + kind].append(f)
                if "Body" in f:
                    ok, table = bool(f.get("MessageSid")) and bool(f.get("From")), "inbound_messages"
                elif "MessageStatus" in f:
                    ok, table = bool(f.get("MessageSid")) and bool(f["MessageStatus"]), "message_status"
                else:
                    ok, table = False, "_files"
                if not ok:
                    rejects[(source, table)] += 1
        else:
            for line in raw.decode().splitlines():
                records[source] += 1
                try:
                    r = json.loads(line)
                except ValueError:
                    rejects[(source, tables[source])] += 1
                    continue
                parsed[source].append(r)
                if not jsonl_ok(source, r):
                    rejects[(source, tables[source])] += 1
    return records, rejects, parsed


@pytest.fixture(scope="module")
def inbox_a(runs):
    base = runs[0]
    return read_inbox(base / "a" / "inbox")


# -- tests ---------------------------------------------------------------------------------

def test_same_seed_same_bytes_whatever_the_workers(runs):
    base = runs[0]
    fa, fb = _files(base / "a" / "inbox"), _files(base / "b" / "inbox")
    assert fa and fa.keys() == fb.keys()
    assert all(fa[k] == fb[k] for k in fa)
    assert (base / "a" / "simulation" / "params.json").read_bytes() == (base / "b" / "simulation" / "params.json").read_bytes()
    for name in ("customers.parquet", "orders.parquet", "checkouts.parquet", "dirt.parquet"):
        ta = pd.read_parquet(base / "a" / "simulation" / name)
        tb = pd.read_parquet(base / "b" / "simulation" / name)
        pd.testing.assert_frame_equal(ta, tb)


def test_different_seed_differs(runs):
    base = runs[0]
    fa, fc = _files(base / "a" / "inbox"), _files(base / "c" / "inbox")
    common = fa.keys() & fc.keys()
    assert sum(fa[k] != fc[k] for k in common) > 0.9 * len(common)


def test_layout_and_summary_match_files(runs, inbox_a):
    base, a = runs[0], runs[1]
    inbox = base / "a" / "inbox"
    records, _rejects, _ = inbox_a
    for source, st in a["sources"].items():
        files = [p for p in (inbox / source).rglob("*") if p.is_file()]
        assert st["files"] == len(files) > 0, source
        assert st["bytes"] == sum(p.stat().st_size for p in files)
        assert st["records"] == records[source], source
        for p in files:
            day = p.relative_to(inbox / source).parts[0]
            assert SMALL["start"] <= date.fromisoformat(day) <= SMALL["end"]
    assert a["records"] == sum(records.values())


def test_shopify_shapes(inbox_a):
    _, _, parsed = inbox_a
    shop = parsed["shopify"]
    assert set(shop) == {"orders", "customers", "products", "checkouts", "locations", "inventory_levels"}
    o = next(r for r in shop["orders"] if r.get("refunds") and r.get("fulfillments"))
    assert o["admin_graphql_api_id"] == f"gid://shopify/Order/{o['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d", o["created_at"])
    for k in ("total_price", "subtotal_price", "current_total_price", "total_discounts"):
        assert isinstance(o[k], str)
    assert o["financial_status"] in ("refunded", "partially_refunded")
    assert float(o["current_total_price"]) < float(o["total_price"])
    li = o["line_items"][0]
    assert {"id", "product_id", "variant_id", "sku", "title", "price", "quantity"} <= li.keys()
    rf = o["refunds"][0]
    assert isinstance(rf["refund_line_items"][0]["subtotal"], float) and rf["transactions"][0]["kind"] == "refund"
    assert o["fulfillments"][0]["shipment_status"] in ("in_transit", "attempted_delivery", "delivered")
    assert o["shipping_address"]["country_code"] and o["shipping_address"]["zip"]
    # DST: both offsets of New York appear
    offs = {r["created_at"][-6:] for r in shop["orders"] if _is_ts(r["created_at"])}
    assert {"-05:00", "-04:00"} <= offs
    c = shop["customers"][0]
    assert isinstance(c["tags"], str)
    assert c["email_marketing_consent"]["state"] in ("subscribed", "not_subscribed", "unsubscribed")
    assert any("birthday:" in r["tags"] for r in shop["customers"])
    assert any(r["email_marketing_consent"]["state"] == "unsubscribed" for r in shop["customers"])
    assert any(r.get("discount_codes") for r in shop["orders"])
    assert any(r.get("cancelled_at") for r in shop["orders"])
    p = shop["products"][0]
    assert p["variants"] and isinstance(p["variants"][0]["price"], str) and "inventory_quantity" in p["variants"][0]
    assert any("replenish_days:" in r.get("tags", "") for r in shop["products"])
    assert any(v.get("compare_at_price") for r in shop["products"] for v in r["variants"])
    assert any(v.get("inventory_quantity") == 0 for r in shop["products"] for v in r["variants"])
    ck = [r for r in shop["checkouts"] if r.get("completed_at")]
    assert ck and all(r["token"] and r["cart_token"] for r in ck)
    # inventory levels: per location, tied to the variants by inventory_item_id
    assert len(shop["locations"]) == 2
    items = {v["inventory_item_id"] for r in shop["products"] for v in r["variants"]}
    levels = [r for r in shop["inventory_levels"] if shopify_ok("inventory_levels", r)]
    assert {r["location_id"] for r in levels} == {loc["id"] for loc in shop["locations"]}
    assert {r["inventory_item_id"] for r in levels} <= items
    assert any(r["available"] == 0 for r in levels) and levels[0]["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/")


def test_inventory_levels_follow_stock_outs_and_restocks(runs, inbox_a):
    # every product version's inventory_quantity is the sum of its variant's latest levels at that instant
    _, _, parsed = inbox_a
    shop = parsed["shopify"]
    dirt = _dirt(runs[0])
    spoiled = {int(rid.split("@")[0]) for rid in dirt.loc[dirt["malformed"] & (dirt["table"] == "inventory_levels"), "record_id"]}
    levels = sorted((datetime.fromisoformat(r["updated_at"]), r["inventory_item_id"], r["location_id"], r["available"])
                    for r in shop["inventory_levels"] if shopify_ok("inventory_levels", r))
    checked = 0
    for product in shop["products"][::7]:
        if not shopify_ok("products", product):
            continue
        at = datetime.fromisoformat(product["updated_at"])
        for v in product["variants"]:
            latest = {}
            for t, item, location, available in levels:
                if item == v["inventory_item_id"] and t <= at:
                    latest[location] = available
            if latest and v["inventory_item_id"] not in spoiled:  # none yet: the product is not launched
                assert sum(latest.values()) == v["inventory_quantity"], (product["id"], v["id"])
                checked += 1
    assert checked > 50


def test_other_sources_use_readme_fields(inbox_a):
    _, _, parsed = inbox_a
    kinds = Counter(e.get("event") for e in parsed["sendgrid"])
    for k in ("processed", "delivered", "open", "click", "bounce", "unsubscribe"):
        assert kinds[k] > 0, k
    click = next(e for e in parsed["sendgrid"] if e.get("event") == "click")
    assert click["url"].startswith("http") and click["sg_event_id"] and click["campaign"] and click["send_id"]
    assert any(isinstance(e.get("category"), list) for e in parsed["sendgrid"])
    assert any(isinstance(e.get("category"), str) for e in parsed["sendgrid"])
    b = next(e for e in parsed["sendgrid"] if e.get("event") == "bounce")
    assert b["type"] in ("bounce", "blocked")
    st = parsed["twilio_status"]
    assert {"queued", "sent", "delivered"} <= {f.get("MessageStatus") for f in st}
    assert any(f.get("ErrorCode") for f in st)
    assert any(f.get("OptOutType") == "STOP" for f in parsed["twilio_inbound"])
    web = [r for r in parsed["web"] if isinstance(r, dict)]
    assert {r["event_type"] for r in web} >= {"page_view", "product_view", "add_to_cart", "search", "share"}
    assert any(r["customer_id"] for r in web) and any(r["customer_id"] is None for r in web)
    assert set(parsed["reviews"][0]) == {"review_id", "product_id", "customer_id", "email", "order_id", "rating",
                                         "title", "body", "verified_buyer", "created_at"}
    assert set(parsed["nps"][0]) == {"response_id", "survey_id", "customer_id", "email", "order_id", "score",
                                     "comment", "submitted_at"}


def test_ground_truth_agrees_with_inbox(runs, inbox_a):
    base = runs[0]
    sim = base / "a" / "simulation"
    params = json.loads((sim / "params.json").read_text())
    assert params["bgnbd"]["r"] > 0 and params["time_unit"] == "week" and params["seed"] == 7
    orders = pd.read_parquet(sim / "orders.parquet")
    cks = pd.read_parquet(sim / "checkouts.parquet")
    cust = pd.read_parquet(sim / "customers.parquet")
    _, _, parsed = inbox_a
    shop = parsed["shopify"]
    inbox_orders = {r["id"] for r in shop["orders"]}
    assert inbox_orders == set(orders["order_id"])
    latest = {}
    for r in shop["orders"]:
        if _is_ts(r["updated_at"]):
            u = datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00"))
            if r["id"] not in latest or u >= latest[r["id"]][0]:
                latest[r["id"]] = (u, r)
    guests_inbox = {i for i, (_, r) in latest.items() if r["customer"] is None}
    assert guests_inbox == set(orders.loc[orders["guest"], "order_id"])
    assert set(orders.loc[orders["guest"], "person"]) <= set(cust.loc[cust["guest"], "person"])
    refunded = {i for i, (_, r) in latest.items() if r["refunds"]}
    assert refunded == set(orders.loc[orders["refunded_amount"] > 0, "order_id"])
    # modelled spend is carried by subtotal_price
    o = orders.set_index("order_id")
    for i, (_, r) in list(latest.items())[:200]:
        if MONEY.match(r["subtotal_price"]):
            assert abs(float(r["subtotal_price"]) - o.loc[i, "subtotal_price"]) < 0.005
    m = orders[orders["modelled"]]
    assert ((m["subtotal_price"] - m["modelled_spend"]).abs() <= 0.26).all()
    ab = {r["id"] for r in shop["checkouts"]}
    assert ab == set(cks.loc[cks["in_inbox"], "checkout_id"])
    rec = {r["id"] for r in shop["checkouts"] if r.get("completed_at")}
    assert rec == set(cks.loc[cks["recovered_at"].notna(), "checkout_id"])
    assert cks["abandoned"].sum() > cks["recovered_at"].notna().sum() > 0
    # subscribers who never order; customers in the inbox
    subs = cust[cust["subscriber_only"]]
    assert len(subs) > 0 and (subs["n_orders"] == 0).all()
    assert {r["id"] for r in shop["customers"] if _int(r["id"])} <= set(cust["customer_id"].dropna())
    assert not set(orders["person"]) & set(subs["person"])


def test_dirt_recorded_and_quarantine_exact(runs, inbox_a):
    base = runs[0]
    dirt = _dirt(base)
    assert list(dirt.columns) == ["source", "table", "day", "file", "kind", "malformed", "record_id", "locator"]
    assert {"duplicate", "late"} <= set(dirt["kind"]) and dirt["malformed"].any()
    inbox = base / "a" / "inbox"
    assert all((inbox / f).exists() for f in dirt["file"])
    _, rejects, _ = inbox_a
    expected = Counter({k: v for k, v in dirt[dirt["malformed"]].groupby(["source", "table"]).size().items()})
    assert rejects == expected
    late = dirt[dirt["kind"] == "late"]
    assert len(late) > 0


def test_refuses_foreign_inbox_and_replaces_own(tmp_path):
    (tmp_path / "inbox" / "shopify").mkdir(parents=True)
    (tmp_path / "inbox" / "shopify" / "real.json").write_text("{}")
    with pytest.raises(ForeignInboxError):
        simulate(SimConfig(customers=20, start=date(2024, 1, 1), end=date(2024, 1, 10)), tmp_path)
    assert (tmp_path / "inbox" / "shopify" / "real.json").exists()
    own = tmp_path / "own"
    simulate(SimConfig(customers=30, start=date(2024, 1, 1), end=date(2024, 1, 20), seed=1), own)
    (own / "inbox" / "stale.txt").write_text("x")
    simulate(SimConfig(customers=30, start=date(2024, 1, 1), end=date(2024, 1, 10), seed=2), own)
    assert not (own / "inbox" / "stale.txt").exists()
    assert max(p.name for p in (own / "inbox" / "shopify").iterdir()) == "2024-01-10"


def test_cli(tmp_path):
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "retention.store_simulator", "--customers", "60", "--start", "2024-02-01",
           "--end", "2024-02-20", "--seed", "3", "--out", str(out), "--dirt-rate", "0.01"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert r.returncode == 0, r.stderr
    assert "shopify" in r.stdout and "sendgrid" in r.stdout
    assert (out / "simulation" / "params.json").exists() and (out / "inbox" / "shopify" / "2024-02-20").exists()
    (tmp_path / "foreign" / "inbox").mkdir(parents=True)
    r = subprocess.run(cmd[:-4] + ["--out", str(tmp_path / "foreign")], capture_output=True, text=True,
                       cwd=Path(__file__).parents[1])
    assert r.returncode == 2 and "refusing" in r.stderr


def test_volume_scales_with_customers(tmp_path):
    kw = dict(start=date(2024, 1, 1), end=date(2024, 3, 31), seed=5, dirt_rate=0.0)
    s1 = simulate(SimConfig(customers=200, **kw), tmp_path / "s")
    s4 = simulate(SimConfig(customers=800, **kw), tmp_path / "l")
    for k in ("orders", "customers_with_account", "abandoned_checkouts", "email_events", "web_events"):
        assert 2.5 < s4["counts"][k] / s1["counts"][k] < 6, k
    # the catalogue (products, locations, inventory levels) is the store's, not its customers': Shopify
    # as a whole grows, but by less than the people-driven resources
    assert 1.5 < s4["sources"]["shopify"]["records"] / s1["sources"]["shopify"]["records"] < 6


def test_latent_processes_match_true_parameters(tmp_path):
    from scipy.special import hyp2f1

    cfg = SimConfig(customers=4000, start=date(2023, 1, 1), end=date(2023, 12, 31), seed=11, dirt_rate=0.0)
    simulate(cfg, tmp_path)
    cust = pd.read_parquet(tmp_path / "simulation" / "customers.parquet")
    orders = pd.read_parquet(tmp_path / "simulation" / "orders.parquet")
    b = cust[~cust["subscriber_only"]]
    r, alpha, a, bb = cfg.r, cfg.alpha, cfg.a, cfg.b
    T = b["T_weeks"].to_numpy()
    # E[repeat purchases in (0, T]] under BG/NBD (Fader, Hardie & Lee 2005, eq. 9)
    ex = (a + bb - 1) / (a - 1) * (1 - (alpha / (alpha + T)) ** r * hyp2f1(r, bb, a + bb - 1, T / (alpha + T)))
    realized = b["n_repeat_orders"].sum()
    assert abs(realized / ex.sum() - 1) < 0.12
    # latent draws follow their distributions
    assert abs(b["lambda_per_week"].mean() / (r / alpha) - 1) < 0.1
    assert abs(b["p_dropout"].mean() / (a / (a + bb)) - 1) < 0.05
    # Gamma-Gamma: mean spend p*gamma/(q-1); orders' subtotal carries the draw
    m = orders[orders["modelled"]]
    mean_true = cfg.p_spend * cfg.gamma_spend / (cfg.q_spend - 1)
    assert abs(m["subtotal_price"].mean() / mean_true - 1) < 0.1
    assert abs(m["modelled_spend"].mean() - m["subtotal_price"].mean()) < 0.1
    # customer-level CV of spend around their own mean ~ 1/sqrt(p)
    g = m.groupby("person")["modelled_spend"]
    cv = (g.std() / g.mean())[g.count() >= 4]
    assert abs(np.sqrt((cv ** 2).mean()) * np.sqrt(cfg.p_spend) - 1) < 0.2



def test_parallel_simulation_lets_its_workers_exit_before_the_pool_is_terminated(tmp_path, monkeypatch):
    """Leaving a ``with Pool()`` block terminates the workers with SIGTERM. A process started with
    SIGTERM ignored (as some job runners start background jobs) passes that on to its workers, and
    the pool then waits for them forever: every worker must have exited by itself before that."""
    import multiprocessing.pool as mp_pool

    alive_at_terminate = []
    terminate = mp_pool.Pool.terminate

    def spy(pool):
        alive_at_terminate.extend(p.pid for p in pool._pool if p.exitcode is None)
        terminate(pool)

    monkeypatch.setattr(mp_pool.Pool, "terminate", spy)
    summary = simulate(SimConfig(seed=3, workers=2, customers=200, start=date(2024, 1, 1), end=date(2024, 2, 15)),
                       tmp_path / "store")
    assert summary["files"] > 0
    assert alive_at_terminate == []
