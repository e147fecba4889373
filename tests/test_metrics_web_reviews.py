"""Web sessions, social arrivals, shares, review sentiment, lifetime value and revenue per recipient in
metrics_daily, review_sentiment, cohort_cltv, campaign_performance and the report, against what the
simulator planted (simulation/web_sessions.parquet, simulation/reviews.parquet, simulation/orders.parquet)
and a day of campaign sends landed as the activation lands its ledger.

The store is clean (no dirt), so every figure must match its truth exactly: a quarantined event
would change a session's span and hide what is being checked here (the dirt has its own tests)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from retention.activation.ledger import EXPORT_COLUMNS
from retention.ingest.landing import write_day
from retention.referrals import customer_key
from retention.reports.segment_report import cohort_cltv_html
from retention.reports.warehouse_reads import read_report_data
from tests.warehouse_fixtures import build_store, run_dbt

# nine months: enough repeat buyers for the CLV models to fit; the store runs on after as_of
AS_OF = date(2025, 3, 25)
END = pd.Timestamp(AS_OF + timedelta(days=1), tz="UTC")
MODELS = ["+metrics_daily", "+review_sentiment", "+cohort_cltv", "+campaign_performance"]
SENT_AT = pd.Timestamp("2025-02-10 15:00", tz="UTC")
WINDOW = pd.Timedelta(days=5)  # var attribution_window_days_email


def _orders_after_the_send(root) -> pd.DataFrame:
    """Orders in the email's attribution window, not cancelled by as_of, with the person's Shopify id."""
    o = pd.read_parquet(root / "simulation" / "orders.parquet").drop(columns="customer_id")
    people = pd.read_parquet(root / "simulation" / "customers.parquet")[["person", "customer_id"]]
    o = o.merge(people, on="person")
    kept = o.customer_id.notna() & (o.cancelled_at.isna() | (o.cancelled_at >= END))
    return o[kept & (o.created_at > SENT_AT) & (o.created_at <= SENT_AT + WINDOW)]


def _land_campaign_day(data_dir) -> None:
    """One email to 30 account holders (up to 15 who ordered within its window, the rest not) and 5 holdout
    records, landed as the activation writes its ledger back."""
    buyers = _orders_after_the_send(data_dir.root).customer_id.astype("int64").unique()[:15]
    people = pd.read_parquet(data_dir.root / "simulation" / "customers.parquet")
    others = people.customer_id.dropna().astype("int64")
    others = others[~others.isin(buyers)].to_numpy()[:35 - len(buyers)]
    ids = [*buyers, *others]
    rows = [{"send_id": f"win_back:{n}", "campaign": "win_back", "step": 1, "customer_key": customer_key(f"shopify:{c}"),
             "occurrence": "2025-02-10", "channel": "email", "status": "held_out" if n >= 30 else "sent", "mode": "live",
             "batch_id": "b1", "decided_at": SENT_AT - pd.Timedelta(minutes=5), "sent_at": None if n >= 30 else SENT_AT,
             "not_before": None, "provider_message_id": None if n >= 30 else f"m{n}", "coupon_code": None, "error": None,
             "attempts": 1, "audience_as_of": date(2025, 2, 9), "run_id": "r1", "variant": None}
            for n, c in enumerate(ids)]
    assert len(rows) == 35
    frame = pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))
    frame["sent_at"] = pd.to_datetime(frame.sent_at, utc=True)
    frame["not_before"] = pd.to_datetime(frame.not_before, utc=True)
    for column in ("provider_message_id", "coupon_code", "error", "variant"):
        frame[column] = frame[column].astype("string")
    write_day(data_dir, "activation", SENT_AT.date(), {"sends": pa.Table.from_pandas(frame, preserve_index=False)}, {})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data_dir = build_store(tmp_path_factory.mktemp("web_reviews"), customers=150, start=date(2024, 7, 1),
                           end=date(2025, 3, 31), seed=7, dirt_rate=0.0)
    _land_campaign_day(data_dir)
    run_dbt(data_dir, "build", "--indirect-selection", "cautious", "--select", *MODELS, as_of=AS_OF)
    return data_dir


def _df(store, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        return con.sql(sql).df()


def _by_day(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column], utc=True).dt.date


@pytest.fixture(scope="module")
def metrics(store) -> pd.DataFrame:
    m = _df(store, "select * from metrics_daily order by day")
    return m.set_index(pd.to_datetime(m.day).dt.date)


def test_sessions_durations_bounces_social_and_shares_match_the_planted_sessions(store, metrics):
    s = pd.read_parquet(store.root / "simulation" / "web_sessions.parquet")
    s = s[s.started_at < END].assign(day=lambda f: _by_day(f, "started_at"),
                                     bounce=lambda f: (f.events == 1) & (f.pages == 1))
    truth = s.groupby("day").agg(sessions=("session_id", "size"), pageviews=("pages", "sum"),
                                 bounced=("bounce", "sum"), median=("duration_seconds", "median"),
                                 mean=("duration_seconds", "mean"), social=("social", "sum"), shares=("shares", "sum"))
    assert truth.bounced.sum() > 0 and truth.social.sum() > 0 and truth.shares.sum() > 0  # all three were planted
    got = metrics.reindex(truth.index)
    assert (got.sessions == truth.sessions).all() and (got.pageviews == truth.pageviews).all()
    assert (got.bounced_sessions == truth.bounced).all()
    assert np.allclose(got.median_session_seconds, truth["median"])
    assert np.allclose(got.mean_session_seconds, truth["mean"])
    assert np.allclose(got.bounce_rate, truth.bounced / truth.sessions)
    assert (got.social_sessions == truth.social).all() and (got.shares == truth.shares).all()
    # a day without a session counts none and has no rates
    quiet = metrics[~metrics.index.isin(truth.index)]
    assert (quiet.sessions == 0).all() and quiet.median_session_seconds.isna().all() and quiet.bounce_rate.isna().all()


def test_review_volume_rating_and_sentiment_match_the_planted_texts(store, metrics):
    r = pd.read_parquet(store.root / "simulation" / "reviews.parquet")
    r = r[r.created_at < END]
    scored = _df(store, "select review_id, rating, has_text, sentiment, sentiment_score from review_sentiment")
    j = r.merge(scored, on="review_id", how="outer", suffixes=("_planted", ""), indicator=True)
    assert (j._merge == "both").all() and len(j) == len(r) > 0
    assert (j.rating_planted == j.rating).all()
    assert (j.sentiment_planted.fillna("none") == j.sentiment.fillna("none")).all()
    assert (j.has_text == j.sentiment_planted.notna()).all() and j.sentiment_score[~j.has_text].isna().all()
    truth = r.assign(day=_by_day(r, "created_at")).groupby("day").agg(
        reviews=("review_id", "size"), rating=("rating", "mean"), with_text=("sentiment", "count"),
        positive=("sentiment", lambda x: int((x == "positive").sum())),
        negative=("sentiment", lambda x: int((x == "negative").sum())))
    got = metrics.reindex(truth.index)
    assert (got.reviews == truth.reviews).all() and np.allclose(got.average_rating, truth.rating)
    assert (got.reviews_with_text == truth.with_text).all()
    assert (got.positive_reviews == truth.positive).all() and (got.negative_reviews == truth.negative).all()
    assert metrics.reviews.sum() == len(r)


@pytest.fixture(scope="module")
def kept_orders(store) -> pd.DataFrame:
    """The simulator's orders placed up to as_of and not cancelled by then, net of refunds made by then."""
    o = pd.read_parquet(store.root / "simulation" / "orders.parquet")
    o = o[(o.created_at < END) & (o.cancelled_at.isna() | (o.cancelled_at >= END))].copy()
    refunded = o.refunded_at.notna() & (o.refunded_at < END)
    o["net"] = o.total_price - np.where(refunded, o.refunded_amount, 0.0)
    o["person_key"] = o.email.str.strip().str.lower()
    o["day"] = _by_day(o, "created_at")
    return o


def test_cohort_lifetime_value_windows_match_the_orders(store, kept_orders):
    o = kept_orders
    first = o.groupby("person_key").day.min().rename("first_day")
    o = o.join(first, on="person_key")
    o["age"] = (pd.to_datetime(o.day) - pd.to_datetime(o.first_day)).dt.days
    per = o.groupby("person_key").agg(first_day=("first_day", "first"), to_date=("net", "sum"))
    per["known"] = (pd.Timestamp(AS_OF) - pd.to_datetime(per.first_day)).dt.days
    per["cohort"] = pd.to_datetime(per.first_day).dt.to_period("M").dt.start_time.dt.date
    got = _df(store, "select * from cohort_cltv order by cohort_month")
    got = got.set_index(pd.to_datetime(got.cohort_month).dt.date)
    assert got.index.tolist() == sorted(per.cohort.unique())
    for cohort, members in per.groupby("cohort"):
        row = got.loc[cohort]
        assert row.cohort_size == len(members)
        assert float(row.realised_revenue_per_customer) == pytest.approx(members.to_date.mean(), abs=0.006)
        for n in (30, 90, 180):
            done = members[members.known >= n - 1]
            assert row[f"customers_{n}d"] == len(done)
            within = o[o.person_key.isin(done.index) & (o.age < n)].net.sum()
            expected = within / len(done) if len(done) else None
            value = row[f"revenue_per_customer_{n}d"]
            assert (pd.isna(value) and expected is None) or float(value) == pytest.approx(expected, abs=0.006)
    assert got.customers_365d.sum() == 0 and got.revenue_per_customer_365d.isna().all()  # no cohort is a year old
    assert got.customers_180d.sum() > 0


def test_realised_and_predicted_lifetime_value_per_day(store, metrics, kept_orders):
    o = kept_orders
    last = metrics.loc[AS_OF]
    assert last.realised_revenue_per_customer == pytest.approx(o.net.sum() / o.person_key.nunique(), abs=0.006)
    # earlier days run over the revenue and customers of their own days (refunds on the day they were made)
    day = AS_OF - timedelta(days=40)
    before = metrics.loc[metrics.index <= day]
    assert metrics.loc[day].realised_revenue_per_customer == pytest.approx(
        float(before.net_revenue.sum()) / o[o.day <= day].person_key.nunique())
    # the forecast: the mean predicted CLV of the customers who ordered in the last metrics_churn_days (180)
    p = _df(store, """select p.predicted_clv_12m from customer_predictions p
                      join (select customer_key, max(order_date) d from int_orders_enriched
                            where not is_cancelled group by 1) l using (customer_key)
                      where l.d > date '2025-03-25' - 180""")
    assert last.predicted_customers == len(p) > 0
    assert float(last.average_predicted_clv_12m) == pytest.approx(p.predicted_clv_12m.mean(), abs=0.005)  # cents
    assert metrics.loc[metrics.index < AS_OF].average_predicted_clv_12m.isna().all()


def test_revenue_per_recipient_per_campaign_and_per_day(store, metrics):
    sent = pd.read_parquet(store.landing / "activation" / "sends")
    recipients = sent[sent.status == "sent"].customer_key.unique()
    o = _orders_after_the_send(store.root)
    keys = o.customer_id.astype("int64").map(lambda c: customer_key(f"shopify:{c}"))
    revenue = float(o[keys.isin(recipients)].total_price.sum())
    assert revenue > 0 and len(recipients) == 30
    row = _df(store, "select recipients, treated, held_out, attributed_revenue::double as revenue, revenue_per_recipient "
                     "from campaign_performance where campaign = 'win_back' and step = 1").iloc[0]
    assert (row.recipients, row.treated, row.held_out) == (30, 30, 5)
    assert row.revenue == pytest.approx(revenue, abs=0.005)
    assert row.revenue_per_recipient == pytest.approx(revenue / 30)
    day = metrics.loc[SENT_AT.date()]
    assert day.campaign_recipients == 30 and day.revenue_per_recipient == pytest.approx(revenue / 30)
    others = metrics.drop(index=SENT_AT.date())
    assert (others.campaign_recipients == 0).all() and others.revenue_per_recipient.isna().all()


def test_the_report_shows_each_cohort_lifetime_value(store):
    data = read_report_data(store.warehouse, AS_OF)
    page = cohort_cltv_html(data.cohort_cltv)
    assert len(data.cohort_cltv) == 9  # July to March
    for r in data.cohort_cltv.itertuples():
        cells = [f"{float(v):,.2f}" if pd.notna(v) else "n/a" for v in (
            r.revenue_per_customer_30d, r.revenue_per_customer_90d, r.revenue_per_customer_180d,
            r.revenue_per_customer_365d, r.realised_revenue_per_customer, r.predicted_clv_12m_per_customer)]
        assert (f"<tr><td>{pd.Timestamp(r.cohort_month):%Y-%m}</td><td class=n>{r.cohort_size:,}</td>"
                + "".join(f"<td class=n>{c}</td>" for c in cells) + "</tr>") in page
    assert "<th>365 days</th>" in page
