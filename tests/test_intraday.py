"""The intraday path, played on a small store: the day arrives in hourly drops, an increment runs
through Dagster after each drop of interest, the activation sensor picks up the rebuilt audiences,
and activation runs at the increment's time (outbox mode: no API keys).

Three shoppers are added to the day in the simulator's own Shopify shapes, delivered as a live shop
delivers them: signed Shopify webhooks (checkouts/create, orders/create) to the webhook receiver,
which files them in the inbox as they arrive. A leaves a cart at 10:00; B leaves a cart at 10:00
and buys at 11:00; W, a lapsed customer the morning's win-back reaches, also leaves a cart at 10:00."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import http.client
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import orjson
import pandas as pd
import pytest

from assets.activation import SEND_OP
from retention.activation.campaigns import load_campaigns
from retention.activation.eligibility import in_holdout
from retention.ingest import SOURCE_TABLES, ingest_day
from retention.live.webhooks import ReceiverConfig, WebhookServer
from retention.paths import DATA_DIR_ENV, DataDir
from retention.store_simulator import SimConfig, simulate
from retention.store_simulator.drops import release_drops, split_day
from tests.warehouse_fixtures import run_dbt

DAY = date(2025, 6, 30)
NEXT = DAY + timedelta(days=1)
ABANDONED_AT = datetime.combine(DAY, time(10), UTC)
BOUGHT_AT = datetime.combine(DAY, time(11), UTC)
DAILY_ACTIVATION_AT = datetime.combine(DAY, time(13, 30), UTC)  # 09:30 in New York: win-back's window is open
INCREMENT_HOURS = (9, 11, 12, 13, 14, 15, 24)
DAILY_SELECT = ["--indirect-selection", "cautious", "--select", "+path:models/audiences"]
OP = SEND_OP
SHOP_SECRET = "intraday-shop-secret"
TIMING_COLUMNS = {"seconds"}  # clv_fits records how long a fit took: never the same twice


def at_hour(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hour)


# ------------------------------------------------------------------ the store and its shoppers


def land_daily(data_dir: DataDir, day: date) -> None:
    for source in SOURCE_TABLES:
        ingest_day(data_dir, source, day)


def pick_shoppers(data_dir: DataDir) -> dict[str, dict]:
    """Customers with an account and email consent, no suppression, outside the holdouts, quiet on DAY,
    and in no audience but (for W) win-back's: no other campaign takes their day's message."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        audiences = [r[0] for r in con.execute("select table_name from information_schema.columns where column_name = "
                                               "'customer_key' and table_name like 'audience\\_%' escape '\\'").fetchall()]
        read = {c.audience for c in load_campaigns()}  # audience_broadcast, everyone, waits for a broadcast
        others = " union all ".join(f"select a.customer_key from {a} a" for a in audiences
                                    if a in read and a != "audience_win_back")
        people = con.sql(f"""
            select c.customer_key, c.email, cast(i.identifier_value as bigint) as shopify_id,
                   c.customer_key in (select customer_key from audience_win_back) as lapsed,
                   c.customer_key in ({others}) as carting
            from customers c
            join int_identity i on i.customer_key = c.customer_key and i.identifier_type = 'shopify_customer_id'
            where c.is_email_marketable and c.email is not null and c.email_suppression_reason is null
            order by c.customer_key""").df()
    busy = b"".join(p.read_bytes() for p in (data_dir.root / "drops").rglob("*") if p.is_file())
    people = people[[str(e).encode() not in busy for e in people["email"]]]
    people = people.drop_duplicates("customer_key").drop_duplicates("shopify_id", keep=False)
    free = people[~people["carting"] & people["customer_key"].map(lambda k: not in_holdout(k, "abandoned_cart", 0.1))]
    lapsed = free[free["lapsed"] & free["customer_key"].map(lambda k: not in_holdout(k, "win_back", 0.15))]
    fresh = free[~free["lapsed"]]
    assert len(fresh) >= 2 and len(lapsed) >= 1, "the store has too few eligible shoppers"
    rows = [fresh.iloc[0], fresh.iloc[1], lapsed.iloc[0]]
    return {name: row.to_dict() for name, row in zip("ABW", rows)}


def first_record(data_dir: DataDir, resource: str) -> dict:
    for path in sorted((data_dir.inbox / "shopify").glob(f"*/{resource}-*.json")):
        try:
            return orjson.loads(path.read_bytes())[resource][0]
        except (orjson.JSONDecodeError, KeyError, IndexError):
            continue
    raise AssertionError(f"no {resource} page in the inbox")


def checkout_for(template: dict, shopper: dict, checkout_id: int, at: datetime) -> dict:
    record = copy.deepcopy(template)
    token = f"{checkout_id:032x}"
    stamp = at.isoformat()
    record.update(id=checkout_id, token=token, cart_token=token[::-1], email=shopper["email"], phone=None,
                  created_at=stamp, updated_at=stamp, completed_at=None, closed_at=None, name=f"#{checkout_id}",
                  buyer_accepts_marketing=True,
                  abandoned_checkout_url=f"https://shop.example/checkouts/{token}/recover")
    if isinstance(record.get("customer"), dict):
        record["customer"] = {**record["customer"], "id": int(shopper["shopify_id"]), "email": shopper["email"]}
    else:
        record["customer"] = {"id": int(shopper["shopify_id"]), "email": shopper["email"]}
    return record


def order_for(template: dict, shopper: dict, order_id: int, checkout: dict, at: datetime) -> dict:
    record = copy.deepcopy(template)
    stamp = at.isoformat()
    record.update(id=order_id, name=f"#{order_id}", number=order_id, order_number=order_id, token=f"{order_id:032x}",
                  checkout_id=checkout["id"], checkout_token=checkout["token"], cart_token=checkout["cart_token"],
                  email=shopper["email"], contact_email=shopper["email"], phone=None, created_at=stamp,
                  updated_at=stamp, processed_at=stamp, closed_at=None, cancelled_at=None, cancel_reason=None,
                  test=False, financial_status="paid", fulfillment_status=None, fulfillments=[], refunds=[])
    record["customer"] = {**(record.get("customer") or {}), "id": int(shopper["shopify_id"]), "email": shopper["email"]}
    for n, line in enumerate(record.get("line_items") or []):
        line["id"] = order_id * 10 + n
    return record


def shoppers_day(data_dir: DataDir, shoppers: dict[str, dict]) -> tuple[dict[str, int], dict[datetime, list]]:
    """(checkout ids by shopper, the webhook deliveries by the time they arrive: (topic, record))."""
    checkout_template, order_template = first_record(data_dir, "checkouts"), first_record(data_dir, "orders")
    checkouts = {name: checkout_for(checkout_template, shoppers[name], 98_000_000_000_000 + n, ABANDONED_AT)
                 for n, name in enumerate("ABW")}
    order = order_for(order_template, shoppers["B"], 97_000_000_000, checkouts["B"], BOUGHT_AT)
    deliveries = {ABANDONED_AT: [("checkouts/create", c) for c in checkouts.values()],
                  BOUGHT_AT: [("orders/create", order)]}
    return {name: c["id"] for name, c in checkouts.items()}, deliveries


def deliver(server: WebhookServer, topic: str, record: dict) -> None:
    """One signed delivery, as Shopify posts it."""
    body = orjson.dumps(record)
    signature = base64.b64encode(hmac.new(SHOP_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/shopify/webhooks", body=body, headers={
            "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": topic, "Content-Type": "application/json",
            "X-Shopify-Webhook-Id": f"{topic.replace('/', '-')}-{record['id']}"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
    finally:
        conn.close()


# ------------------------------------------------------------------ Dagster runs


def run_increment(instance: dg.DagsterInstance, moment: datetime) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs
    from orchestration.intraday import increment_run_request

    request = increment_run_request(moment)
    result = defs.resolve_job_def("intraday_triggers").execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance)
    assert result.success
    return result


def activate_from_sensor(instance: dg.DagsterInstance, cursor: str | None, now: datetime):
    """What the daemon does: the sensor's tick, then its run at `now` (the run's time of sending)."""
    from orchestration.definitions import defs
    from orchestration.sensors import activate_rebuilt_audiences

    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    request = activate_rebuilt_audiences(context)
    assert isinstance(request, dg.RunRequest), request
    config = request.run_config["ops"][OP]["config"]
    result = defs.resolve_job_def("activate_segments").execute_in_process(
        run_config={"ops": {OP: {"config": {**config, "now": now.isoformat()}}}}, instance=instance,
        raise_on_error=False)
    assert result.success, result.all_events
    excluded = result.asset_materializations_for_node(OP)[0].metadata["per_campaign"].value
    return context.cursor, config["campaigns"], excluded


def activate_all(instance: dg.DagsterInstance, now: datetime) -> None:
    from orchestration.definitions import defs

    result = defs.resolve_job_def("activate_segments").execute_in_process(
        run_config={"ops": {OP: {"config": {"now": now.isoformat()}}}}, instance=instance, raise_on_error=False)
    assert result.success, result.all_events


def ledger(data_dir: DataDir) -> pd.DataFrame:
    with sqlite3.connect(data_dir.activation / "ledger.sqlite") as con:
        return pd.read_sql_query("select * from sends", con)


# ------------------------------------------------------------------ the played day


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    root = tmp_path_factory.mktemp("intraday_store")
    simulate(SimConfig(customers=300, start=date(2025, 1, 1), end=NEXT, seed=11, dirt_rate=0.01), root)
    data_dir = DataDir(root)
    split_day(data_dir, DAY)
    split_day(data_dir, NEXT)
    for day in sorted({p.name for p in data_dir.inbox.glob("*/*") if p.is_dir()}):
        land_daily(data_dir, date.fromisoformat(day))
    run_dbt(data_dir, "build", *DAILY_SELECT, as_of=DAY - timedelta(days=1))  # last night's daily run
    shoppers = pick_shoppers(data_dir)
    checkout_ids, deliveries = shoppers_day(data_dir, shoppers)
    clock = [ABANDONED_AT.timestamp()]  # the receiver files each delivery under the day of its arrival
    receiver = WebhookServer(ReceiverConfig(data_dir=data_dir, port=0, shopify_api_secret=SHOP_SECRET,
                                            clock=lambda: clock[0]))

    with receiver, pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(root))
        for key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            mp.delenv(key, raising=False)  # outbox mode
        instance = dg.DagsterInstance.ephemeral()
        cursor, snapshots, campaigns, reports = None, {}, {}, {}
        for hour in range(1, 25):
            moment = at_hour(DAY, hour)
            release_drops(data_dir, DAY, moment)
            for arrival in [t for t in deliveries if moment - timedelta(hours=1) < t <= moment]:
                clock[0] = arrival.timestamp()
                for topic, record in deliveries[arrival]:
                    deliver(receiver, topic, record)
            if hour == 14:  # the morning's daily activation (win-back, birthdays...) has run by now
                activate_all(instance, DAILY_ACTIVATION_AT)
                snapshots["daily"] = ledger(data_dir)
            if hour in INCREMENT_HOURS:
                run_increment(instance, moment)
                cursor, campaigns[hour], reports[hour] = activate_from_sensor(
                    instance, cursor, moment + timedelta(minutes=5))
                snapshots[hour] = ledger(data_dir)

        # The next morning: an increment of the new day at 01:00, then the daily run for DAY at 02:00.
        release_drops(data_dir, NEXT, at_hour(NEXT, 1))
        run_increment(instance, at_hour(NEXT, 1))
        land_daily(data_dir, DAY)
        run_dbt(data_dir, "build", *DAILY_SELECT, as_of=DAY)
        activate_all(instance, at_hour(NEXT, 3))
        snapshots["next_morning"] = ledger(data_dir)
    return data_dir, shoppers, checkout_ids, snapshots, campaigns, reports


def sends_of(rows: pd.DataFrame, customer_key: str, campaign: str) -> pd.DataFrame:
    delivered = rows["status"].isin(["sent", "outbox"])
    return rows[delivered & (rows["customer_key"] == customer_key) & (rows["campaign"] == campaign)]


def test_the_sensor_activates_only_the_trigger_campaigns(played):
    _, _, _, _, campaigns, _ = played
    assert set(campaigns[14]) == {"abandoned_cart", "back_in_stock", "price_drop"}


def test_a_cart_abandoned_at_ten_is_messaged_by_the_first_increment_after_two(played):
    _, shoppers, checkout_ids, snapshots, _, _ = played
    key, occurrence = shoppers["A"]["customer_key"], str(checkout_ids["A"])
    for hour in (9, 11, 12, 13):
        assert sends_of(snapshots[hour], key, "abandoned_cart").empty, f"messaged before its delay, at {hour}:00"
    sent = sends_of(snapshots[14], key, "abandoned_cart")
    assert len(sent) == 1 and sent.iloc[0]["occurrence"] == occurrence and int(sent.iloc[0]["step"]) == 1
    latency = pd.Timestamp(sent.iloc[0]["decided_at"]) - pd.Timestamp(ABANDONED_AT)
    assert timedelta(hours=4) <= latency < timedelta(hours=5)
    print(f"abandonment to send: {latency}")
    outbox = "\n".join(p.read_text() for p in (played[0].outbox).rglob("*") if p.is_file())
    assert sent.iloc[0]["send_id"] in outbox


def test_a_cart_bought_an_hour_later_is_never_messaged(played):
    _, shoppers, _, snapshots, _, _ = played
    key = shoppers["B"]["customer_key"]
    for moment, rows in snapshots.items():
        assert sends_of(rows, key, "abandoned_cart").empty, f"B was messaged ({moment})"


def test_the_next_mornings_daily_run_sends_neither_again(played):
    _, shoppers, _, snapshots, _, _ = played
    rows = snapshots["next_morning"]
    assert len(sends_of(rows, shoppers["A"]["customer_key"], "abandoned_cart")) == 1
    assert sends_of(rows, shoppers["B"]["customer_key"], "abandoned_cart").empty
    # Every (campaign, step, customer, occurrence) is in the ledger once, across both paths.
    keys = rows[["campaign", "step", "customer_key", "occurrence"]]
    assert not keys.duplicated().any()


def test_win_back_and_the_cart_message_never_share_the_day(played):
    _, shoppers, _, snapshots, _, _ = played
    key = shoppers["W"]["customer_key"]
    rows = snapshots["next_morning"]
    win_back = sends_of(rows, key, "win_back")
    assert len(win_back) == 1, "the morning's daily run should reach the lapsed shopper"
    carts = sends_of(rows, key, "abandoned_cart")
    won_on = pd.Timestamp(win_back.iloc[0]["decided_at"])
    for _, cart in carts.iterrows():
        at = pd.Timestamp(cart["decided_at"])
        assert at.tz_convert("America/New_York").date() != won_on.tz_convert("America/New_York").date()


def test_increments_then_the_daily_run_leave_the_tables_of_a_clean_daily_build(played, tmp_path):
    """Increments of DAY, one of the next day, then the daily run for DAY: the warehouse equals a
    fresh daily build of DAY from the same landing zone (incremental models included)."""
    data_dir = played[0]
    clean = DataDir(tmp_path / "clean")
    clean.root.mkdir()
    for folder in ("landing", "quarantine"):
        if (data_dir.root / folder).exists():
            (clean.root / folder).symlink_to(data_dir.root / folder)
    run_dbt(clean, "build", *DAILY_SELECT, as_of=DAY)
    differing = []
    with duckdb.connect(str(clean.warehouse)) as con:
        con.execute(f"attach '{data_dir.warehouse}' as played (read_only)")
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() and table_schema = 'main'"
            " and table_type = 'BASE TABLE'").fetchall()]
        for table in tables:
            columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = current_database() "
                "and table_name = ? order by ordinal_position", [table]).fetchall() if c not in TIMING_COLUMNS)
            only_one = con.execute(f'select count(*) from (select {columns} from main."{table}" except all '
                                   f'select {columns} from played.main."{table}")').fetchone()[0]
            only_other = con.execute(f'select count(*) from (select {columns} from played.main."{table}" except all '
                                     f'select {columns} from main."{table}")').fetchone()[0]
            if only_one or only_other:
                differing.append((table, only_one, only_other))
    assert tables and not differing, differing


def test_the_increment_selector_leaves_out_the_daily_models_and_every_test_reading_them(tmp_path):
    """Increments reuse the morning's predictions and recommendations: building them, or running a
    test that reads them beside a table rebuilt at the hour, would judge two moments at once."""
    import json as json_

    import yaml

    from retention.intraday import SELECTOR, TRIGGER_AUDIENCES

    selectors = yaml.safe_load((Path(__file__).parents[1] / "dbt_project" / "selectors.yml").read_text())
    (selector,) = [s for s in selectors["selectors"] if s["name"] == SELECTOR]
    audiences = [c["value"] for c in selector["definition"]["union"][0]["union"]]
    assert tuple(audiences) == TRIGGER_AUDIENCES

    proc = run_dbt(tmp_path, "ls", "--selector", SELECTOR, "--output", "json",
                   "--output-keys", "unique_id resource_type depends_on original_file_path")
    nodes = [json_.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    ids = {n["unique_id"] for n in nodes}
    daily = {"model.retention.product_affinities", "model.retention.product_recommendations"}
    models = {n["unique_id"] for n in nodes if n["resource_type"] == "model"}
    assert {f"model.retention.{a}" for a in TRIGGER_AUDIENCES} <= models
    assert not models & daily and not any("models/predictions" in n["original_file_path"] for n in nodes
                                          if n["resource_type"] == "model")
    tests = [n for n in nodes if n["resource_type"] in ("test", "unit_test")]
    assert tests and all(n["resource_type"] == "test" for n in tests)
    for test in tests:
        parents = set(test["depends_on"]["nodes"])
        assert parents <= ids, test["unique_id"]  # cautious: everything it reads is rebuilt
        assert not parents & daily, test["unique_id"]
