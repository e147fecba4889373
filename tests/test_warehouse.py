"""The dbt warehouse against a small simulated store: dbt tests pass, the simulator's ground truth
confirms customers, orders, guests, abandoned carts and suppressions, and the logical-date rules hold
(re-runs identical, incremental == full refresh, an earlier as_of sees no future data)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from retention.dbt_build import daily_build_args, dbt_target_path
from retention.paths import DataDir
from tests.warehouse_fixtures import build_store, run_dbt

AS_OF = date(2025, 6, 15)
END = pd.Timestamp("2025-06-16", tz="UTC")  # first instant after as_of
MARTS = ["customers", "orders", "order_lines", "products", "customer_segments", "segment_membership_history"]
LATEST_VERSION = ["stg_shopify__orders", "stg_shopify__customers", "stg_shopify__checkouts", "stg_shopify__products"]
INCREMENTAL = ["stg_sendgrid__events", "stg_web__events", "stg_shopify__order_lines", "stg_twilio__message_status",
               *LATEST_VERSION, "int_email_message_outcomes"]


def _rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"select * from main.{table} order by all").fetchall()


def _df(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


def _sibling(store_root: Path, path: Path) -> Path:
    """A data directory sharing the store's landing zone, with its own warehouse."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "landing").exists():
        os.symlink(store_root / "landing", path / "landing")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    data_dir = build_store(root)
    run_dbt(data_dir, "build", as_of=AS_OF)
    shutil.copyfile(dbt_target_path(data_dir) / "run_results.json", root / "build_results.json")
    return root


def test_the_suite_runs_every_dbt_unit_test_which_the_daily_build_leaves_out(store):
    """Unit tests check logic on fixed inputs: the test suite runs them all, the daily build skips them."""
    manifest = json.loads((dbt_target_path(DataDir(store)) / "manifest.json").read_text())
    unit_tests = set(manifest.get("unit_tests", {}))
    results = json.loads((store / "build_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert len(unit_tests) >= 15 and set(ran) == unit_tests
    assert set(ran.values()) == {"pass"}
    assert daily_build_args() == ["build", "--exclude", "test_type:unit"]
    assert daily_build_args(full_refresh=True)[-1] == "--full-refresh"


@pytest.fixture(scope="module")
def wh(store) -> Path:
    return store / "warehouse.duckdb"


@pytest.fixture(scope="module")
def sim(store):
    s = store / "simulation"
    return {n: pd.read_parquet(s / f"{n}.parquet") for n in ("customers", "orders", "checkouts")}


def test_customers_are_the_people_seen_so_far(wh, sim):
    cu, ck = sim["customers"], sim["checkouts"]
    ck_people = set(ck.loc[ck.created_at < END, "person"])
    seen = cu[(cu.signup_at < END) | (cu.first_purchase_at < END) | cu.person.isin(ck_people)]
    got = _df(wh, "select customer_key, email from customers")
    assert got.customer_key.is_unique
    assert len(got) == len(seen)
    assert set(got.email.dropna()) == set(seen.email.str.strip().str.lower())


def test_orders_and_revenue_per_customer_match_the_simulator(wh, sim):
    o = sim["orders"]
    o = o[(o.created_at < END) & (o.cancelled_at.isna() | (o.cancelled_at >= END))]
    refunds = o.refunded_amount.where(o.refunded_at < END, 0.0)
    truth = (o.assign(net=o.total_price - refunds).groupby(o.email.str.lower())
             .agg(n=("order_id", "count"), gross=("total_price", "sum"), net=("net", "sum")))
    got = _df(wh, "select email, order_count, gross_revenue::double g, net_revenue::double nr "
                  "from customers where order_count > 0").set_index("email")
    assert set(got.index) == set(truth.index)
    j = truth.join(got)
    assert (j.n == j.order_count).all()
    assert (j.gross - j.g).abs().max() < 0.01
    assert (j.net - j.nr).abs().max() < 0.01


def test_guests_are_merged_by_email(wh, sim):
    o = sim["orders"]
    o = o[(o.created_at < END) & o.guest & o.cancelled_at.isna()]
    repeat_guests = o.groupby(o.email.str.lower()).size()
    repeat_guests = repeat_guests[repeat_guests > 1]
    assert len(repeat_guests) > 0
    got = _df(wh, "select email, order_count, is_guest_only from customers").set_index("email")
    for email, n in repeat_guests.items():
        assert got.loc[email, "order_count"] == n
    keys = _df(wh, "select o.email, count(distinct o.customer_key) k from orders o group by 1")
    assert (keys.k == 1).all()


def test_abandoned_cart_is_exactly_the_simulated_abandoners(wh, sim, store):
    hours = 48
    start = END - pd.Timedelta(hours=hours)
    ck, o, cu = sim["checkouts"], sim["orders"], sim["customers"]
    ab = ck[ck.abandoned & (ck.created_at >= start) & (ck.created_at < END)
            & (ck.recovered_at.isna() | (ck.recovered_at >= END))]
    # not visible on as_of: the checkout was delivered after as_of (landing partition date)
    landed = duckdb.sql(
        f"select id, min(date) d from read_parquet('{store}/landing/shopify/checkouts/*/*.parquet', "
        "hive_partitioning = true) group by id").df()
    ab = ab.merge(landed, left_on="checkout_id", right_on="id", how="left")
    ab = ab[ab.d.notna() & (pd.to_datetime(ab.d) <= pd.Timestamp(AS_OF))]
    expected = set()
    for _, row in ab.iterrows():
        later = o[(o.person == row.person) & (o.created_at >= row.created_at) & (o.created_at < END)]
        if later.empty:
            expected.add(cu.loc[cu.person == row.person, "email"].iloc[0].lower())
    assert expected, "the test store should have abandoned carts in the window"
    got = set(_df(wh, "select email from customer_segments where segment = 'abandoned_cart'").email)
    assert got == expected


def test_unsubscribed_people_are_suppressed_with_the_reason(wh, sim):
    cu = sim["customers"]
    unsub = cu[cu.email_unsubscribed_at < END - pd.Timedelta(days=3)]
    assert len(unsub) > 0
    got = _df(wh, "select email, is_email_suppressed, email_suppression_reason, is_email_marketable "
                  "from customers").set_index("email")
    for email in unsub.email.str.lower():
        assert got.loc[email, "is_email_suppressed"]
        # the SendGrid event gives the reason; when that event was lost (quarantined file), the
        # Shopify consent state alone says the consent was withdrawn
        assert got.loc[email, "email_suppression_reason"] in {"unsubscribe", "spam_report", "consent_withdrawn"}
        assert not got.loc[email, "is_email_marketable"]
    reasons = got.loc[list(unsub.email.str.lower()), "email_suppression_reason"]
    assert (reasons != "consent_withdrawn").sum() >= len(reasons) / 2
    stopped = cu[(cu.sms_stopped_at < END - pd.Timedelta(days=3)) & cu.sms_restarted_at.isna()]
    for email in stopped.email.str.lower():
        assert got.loc[email, "is_email_suppressed"] in (True, False)  # exists
    sms = _df(wh, "select email, sms_suppression_reason from customers").set_index("email")
    for email in stopped.email.str.lower():
        assert sms.loc[email, "sms_suppression_reason"] == "sms_stop"


def test_a_group_unsubscribe_stops_that_group_only(wh, sim):
    """The simulator's group unsubscribes carry the campaigns' ASM group ids and leave Shopify's consent alone."""
    cu = sim["customers"]
    left = cu[(cu.email_group_unsubscribed_at < END - pd.Timedelta(days=3)) & cu.email_unsubscribed_at.isna()
              & cu.email_bounced_at.isna()]
    assert len(left) > 0, "the test store should have group unsubscribes"
    got = _df(wh, "select email, email_unsubscribed_groups, email_suppression_reason, email_consent_state "
                  "from customers").set_index("email")
    for email, group in zip(left.email.str.lower(), left.email_unsubscribed_group, strict=True):
        row = got.loc[email]
        assert str(group) in row.email_unsubscribed_groups.split(","), email
        assert row.email_suppression_reason is None or pd.isna(row.email_suppression_reason), email
        assert row.email_consent_state != "unsubscribed", email  # Shopify never heard of it


def test_rerunning_the_same_as_of_gives_identical_tables(wh, store):
    before = {t: _rows(wh, t) for t in MARTS + INCREMENTAL}
    run_dbt(store, "run", as_of=AS_OF)
    after = {t: _rows(wh, t) for t in MARTS + INCREMENTAL}
    for t in before:
        assert before[t] == after[t], t


def test_incremental_day_by_day_equals_full_refresh(store, tmp_path_factory):
    """Daily incremental runs with a short lookback end up equal to the module's full build."""
    inc = _sibling(store, tmp_path_factory.mktemp("incremental"))
    for d in (13, 14, 15):
        run_dbt(inc, "run", "--select", *INCREMENTAL, as_of=date(2025, 6, d), extra_vars={"lookback_days": 1})
    for t in INCREMENTAL:
        assert _rows(inc / "warehouse.duckdb", t) == _rows(store / "warehouse.duckdb", t), t


def test_an_incremental_run_after_missed_days_reads_the_days_between(store, tmp_path_factory):
    """Runs stopped for days: the next run reads every delivery day since the table's latest, not only
    its lookback (a gap used to lose the days between)."""
    gap = _sibling(store, tmp_path_factory.mktemp("gap"))
    for d in (10, 15):
        run_dbt(gap, "run", "--select", *INCREMENTAL, as_of=date(2025, 6, d), extra_vars={"lookback_days": 1})
    for t in INCREMENTAL:
        assert _rows(gap / "warehouse.duckdb", t) == _rows(store / "warehouse.duckdb", t), t


def test_an_earlier_increment_run_again_equals_its_first_run(store, tmp_path_factory):
    """Intraday: the day's 20:00 increment, then its 08:00 increment run again, gives the tables of the
    08:00 increment built fresh. The 20:00 run replaced versions delivered before the window with the
    day's newer ones; a narrow window after the rewind would have lost them."""
    day, late, early = date(2025, 6, 15), "2025-06-15 20:00:00", "2025-06-15 08:00:00"
    again = _sibling(store, tmp_path_factory.mktemp("again"))
    for d in (13, 14):
        run_dbt(again, "run", "--select", *INCREMENTAL, as_of=date(2025, 6, d), extra_vars={"lookback_days": 1})
    run_dbt(again, "run", "--select", *INCREMENTAL, as_of=day, as_of_time=late, extra_vars={"lookback_days": 1})
    at_late = {t: _rows(again / "warehouse.duckdb", t) for t in INCREMENTAL}
    run_dbt(again, "run", "--select", *INCREMENTAL, as_of=day, as_of_time=early, extra_vars={"lookback_days": 1})
    fresh = _sibling(store, tmp_path_factory.mktemp("fresh"))
    run_dbt(fresh, "run", "--select", *INCREMENTAL, as_of=day, as_of_time=early)
    changed = [t for t in INCREMENTAL if _rows(fresh / "warehouse.duckdb", t) != at_late[t]]
    assert {"stg_shopify__orders", "stg_shopify__order_lines"} <= set(changed), changed  # the day moved them
    for t in INCREMENTAL:
        assert _rows(again / "warehouse.duckdb", t) == _rows(fresh / "warehouse.duckdb", t), t


def test_a_latest_version_table_from_before_its_tie_break_column_rebuilds_itself(store, tmp_path_factory):
    """A warehouse built before the latest-version tables kept `_record_index`: the next run reads every
    delivery, adds the column and equals a full build, rather than ranking without it."""
    old = _sibling(store, tmp_path_factory.mktemp("before_column"))
    run_dbt(old, "run", "--select", *LATEST_VERSION, as_of=date(2025, 6, 14))
    with duckdb.connect(str(old / "warehouse.duckdb")) as con:
        for t in LATEST_VERSION:
            con.execute(f"alter table {t} drop column _record_index")
    run_dbt(old, "run", "--select", *LATEST_VERSION, as_of=AS_OF, extra_vars={"lookback_days": 1})
    for t in LATEST_VERSION:
        assert _rows(old / "warehouse.duckdb", t) == _rows(store / "warehouse.duckdb", t), t


def test_segment_history_over_daily_runs_is_idempotent(store):
    """The store moves on to the next day; re-running that day leaves the history unchanged."""
    wh = store / "warehouse.duckdb"
    run_dbt(store, "run", as_of=date(2025, 6, 16))
    once = _rows(wh, "segment_membership_history")
    run_dbt(store, "run", "--select", "segment_membership_history", as_of=date(2025, 6, 16))
    assert _rows(wh, "segment_membership_history") == once
    df = _df(wh, "select * from segment_membership_history")
    assert df.spell_key.is_unique
    assert (df.left_on.isna() | (df.left_on > df.entered_on)).all()
    assert (df.entered_on == pd.Timestamp("2025-06-15")).any() and df.left_on.notna().any()
    seg = _df(wh, "select customer_key, segment from customer_segments")
    open_ = df[df.left_on.isna()][["customer_key", "segment"]]
    assert set(map(tuple, open_.values)) == set(map(tuple, seg.values))


def test_earlier_as_of_sees_no_future_data(store, tmp_path_factory):
    early = _sibling(store, tmp_path_factory.mktemp("early"))
    as_of = date(2025, 3, 31)
    run_dbt(early, "seed", as_of=as_of)  # a fresh warehouse: `dbt run` builds models, not seeds
    run_dbt(early, "run", as_of=as_of)
    db = early / "warehouse.duckdb"
    for t in ("stg_sendgrid__events", "stg_web__events", "stg_shopify__order_lines", "stg_shopify__orders"):
        assert _df(db, f"select max(delivered_on) m from {t}").m[0] <= pd.Timestamp(as_of)
    assert _df(db, "select max(created_at) m from orders").m[0] < pd.Timestamp("2025-04-01")
    assert (_df(db, "select distinct as_of from customers").as_of == pd.Timestamp(as_of)).all()
    # the incremental tables of the later warehouse rewound to the earlier day equal the earlier build
    run_dbt(store, "run", "--select", *INCREMENTAL, as_of=as_of)
    for t in INCREMENTAL:
        assert _rows(store / "warehouse.duckdb", t) == _rows(db, t), t


def test_a_landing_zone_from_before_a_column_was_added_still_builds(store, tmp_path):
    """Shopify partitions landed before ingestion wrote the address keys: the staging models read
    null for them instead of failing on a missing column."""
    import pyarrow.parquet as pq

    old = tmp_path / "old"
    for source in (store / "landing").iterdir():
        if source.name != "shopify":
            (old / "landing").mkdir(parents=True, exist_ok=True)
            os.symlink(source, old / "landing" / source.name)
    added = {"customers": "default_address_address_key", "orders": "shipping_address_key"}
    for table in (store / "landing" / "shopify").iterdir():
        target = old / "landing" / "shopify" / table.name
        if table.name not in added:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(table, target)
            continue
        for part in table.glob("*/*.parquet"):
            (target / part.parent.name).mkdir(parents=True, exist_ok=True)
            landed = pq.read_table(part)
            assert added[table.name] in landed.column_names
            pq.write_table(landed.drop_columns([added[table.name]]), target / part.parent.name / part.name)
    new = _sibling(store, tmp_path / "new")  # the store's own warehouse has moved on to other as_of dates
    for data_dir in (old, new):
        run_dbt(data_dir, "run", "--select", "stg_shopify__customers", "stg_shopify__orders", as_of=AS_OF)
    for model, column in (("stg_shopify__customers", "address_key"), ("stg_shopify__orders", "shipping_address_key")):
        before = _df(new / "warehouse.duckdb", f"select count(*) n, count({column}) k from {model}")
        after = _df(old / "warehouse.duckdb", f"select count(*) n, count({column}) k from {model}")
        assert before.n[0] == after.n[0] > 0 and before.k[0] > 0 and after.k[0] == 0, model
