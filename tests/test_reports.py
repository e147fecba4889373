"""The marketer surfaces: pictures, the static segment report, the consent-aware CSV exports, the dbt docs."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import duckdb
import pandas as pd
import pytest

from retention.paths import DataDir
from retention.reports import pictures
from retention.reports.docs import build_docs
from retention.reports.metrics import headline_metrics
from retention.reports.segment_report import PICTURE_TITLES, render_html, write_segment_report
from retention.reports.segments import DEFINITIONS, segment_trends, segment_type_of, sizes_by_day
from retention.reports.warehouse_reads import ReportData, read_report_data
from tests.warehouse_fixtures import DBT_PROJECT, build_store, run_dbt

AS_OF = date(2025, 6, 30)
PNG = b"\x89PNG\r\n\x1a\n"
REPORT_MODELS = ["+customer_segments", "+segment_membership_history", "+retention_cohorts", "+metrics_daily",
                 "+campaign_performance", "+cohort_cltv"]


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DataDir:
    data_dir = build_store(tmp_path_factory.mktemp("report_store"), customers=300, end=AS_OF, seed=17)
    run_dbt(data_dir, "build", "--indirect-selection", "cautious", "--select", *REPORT_MODELS, as_of=AS_OF)
    return data_dir


@pytest.fixture(scope="module")
def report(store):
    return write_segment_report(store.reports, read_report_data(store.warehouse, AS_OF))


def warehouse(store: DataDir, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        return con.sql(sql).df()


def test_every_picture_renders_from_data_and_from_nothing(store):
    data = read_report_data(store.warehouse, AS_OF)
    sizes = sizes_by_day(data.spells, date(2025, 6, 1), AS_OF)
    performance = pd.DataFrame([
        {"campaign": "win_back", "step": 1, "treated": 100, "delivered": 95, "opened": 40, "clicked": 9,
         "converted": 6, "lift": 0.03, "lift_ci_lower": -0.02, "lift_ci_upper": 0.08},
        {"campaign": "win_back", "step": 2, "treated": 60, "delivered": 58, "opened": 20, "clicked": 4,
         "converted": 2, "lift": None, "lift_ci_lower": None, "lift_ci_upper": None},
    ])
    drawn = [pictures.segment_sizes_over_time(sizes), pictures.cohort_heatmap(data.cohorts),
             pictures.rfm_grid(data.rfm), pictures.campaign_funnel(performance)]
    empty = [pictures.segment_sizes_over_time(pd.DataFrame()), pictures.cohort_heatmap(pd.DataFrame()),
             pictures.rfm_grid(pd.DataFrame()), pictures.campaign_funnel(pd.DataFrame())]
    for png in drawn + empty:
        assert png.startswith(PNG) and len(png) > 1000
    assert not data.cohorts.empty and not data.rfm.empty and not sizes.empty


def test_sizes_by_day_counts_spells_with_exclusive_ends_and_no_guesses_before_the_history():
    spells = pd.DataFrame({
        "segment_type": ["rfm", "rfm", "trigger"],
        "segment": ["rfm_new", "rfm_new", "win_back"],
        "customer_key": ["a", "b", "a"],
        "entered_on": [date(2025, 6, 28), date(2025, 6, 29), date(2025, 6, 28)],
        "left_on": [None, date(2025, 6, 30), date(2025, 6, 29)],
    })
    sizes = sizes_by_day(spells, date(2025, 6, 1), AS_OF)
    table = sizes.pivot_table(index="day", columns="segment", values="customers", fill_value=0)
    assert table.index.min() == date(2025, 6, 28)  # before the history's first day nothing is known
    assert table["rfm_new"].tolist() == [1, 2, 1]  # b left on 06-30: not in on that day
    assert table["win_back"].tolist() == [1, 0, 0]
    members = pd.DataFrame({"segment": ["rfm_new"], "segment_type": ["rfm"], "customer_key": ["a"]})
    trends = {t.segment: t for t in segment_trends(members, sizes, AS_OF)}
    assert trends["rfm_new"].changes == {1: -1, 7: None, 30: None}
    assert trends["win_back"].size == 0 and trends["win_back"].changes[1] == 0
    assert set(DEFINITIONS) <= set(trends)  # empty segments are listed too


def test_headline_metrics_are_ratios_of_sums_and_na_without_a_denominator():
    days = pd.date_range("2025-06-01", "2025-06-30").date
    zero = {c: 0 for c in ("gross_revenue", "net_revenue", "new_customers", "returning_customers",
                           "emails_unsubscribed", "sms_sent", "sms_delivered", "sms_opt_outs", "checkouts_recovered",
                           "checkouts_abandoned", "nps_promoters", "nps_detractors", "nps_responses")}
    frame = pd.DataFrame([{**zero, "day": d, "orders": 1, "emails_delivered": 10 if i == 0 else 0,
                           "emails_opened": 5 if i == 0 else 0, "emails_clicked": 0, "repeat_purchase_rate": i / 100,
                           "churn_rate": 0.1} for i, d in enumerate(days)])
    frame["email_frequency_lowered"] = [1 if i < 3 else 0 for i in range(len(frame))]
    metrics = {m.name: m for m in headline_metrics(frame, AS_OF)}
    assert metrics["Orders"].value == 30
    assert metrics["Chose less email"].value == 3 and metrics["Chose less email"].kind == "count"
    assert metrics["Email open rate"].value == 0.5  # 5 / 10, not the mean of daily rates
    assert metrics["Repeat purchase rate (to date)"].value == pytest.approx(0.29)  # the last day's running figure
    assert metrics["SMS delivery rate"].value is None and metrics["SMS delivery rate"].shown() == "n/a"
    assert metrics["Orders"].previous is None
    assert headline_metrics(pd.DataFrame(), AS_OF) == []


def test_every_segment_has_a_plain_definition_that_matches_the_dbt_docs(store):
    manifest = json.loads((DBT_PROJECT / "target" / "manifest.json").read_text())
    node = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == "customer_segments")
    documented = node["columns"]["segment"]["description"]
    for segment in DEFINITIONS:
        assert f"`{segment}`" in documented, segment
    built = warehouse(store, "select distinct segment, segment_type from customer_segments")
    for row in built.itertuples():
        assert row.segment in DEFINITIONS, row.segment
        assert segment_type_of(row.segment) == row.segment_type


def test_the_page_references_every_picture_and_carries_no_personal_data(store, report):
    page = report.page.read_text()
    assert report.page == store.reports / "index.html"
    parsed = Images()
    parsed.feed(page)
    assert sorted(parsed.sources) == sorted(f"{name}.png" for name in PICTURE_TITLES)  # relative: works from disk
    for source in parsed.sources:
        assert (store.reports / source).read_bytes().startswith(PNG)
    for link in parsed.links:
        assert (store.reports / link).exists(), link
    for segment in DEFINITIONS:
        assert f"<code>{segment}</code>" in page
    assert "Net revenue" in page and f"as of {AS_OF.isoformat()}" in page
    people = warehouse(store, "select email, phone, first_name, last_name from customers")
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", page)
    for column in ("email", "phone"):
        assert not [value for value in people[column].dropna() if value in page], column
    sizes = warehouse(store, "select segment, count(*) as n from customer_segments group by all")
    shown = {t.segment: t.size for t in report.trends}
    assert all(shown[row.segment] == row.n for row in sizes.itertuples())


def test_the_page_escapes_what_it_shows():
    hostile = "<script>alert(1)</script>"
    members = pd.DataFrame({"segment": [hostile], "segment_type": ["trigger"], "customer_key": ["k"]})
    data = ReportData(AS_OF, pd.DataFrame(), members, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    trends = segment_trends(members, pd.DataFrame(columns=["day", "segment_type", "segment", "customers"]), AS_OF)
    page = render_html(data, trends, [], {"rfm_grid": "rfm_grid.png"}, {hostile: "exports/x.csv"})
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_each_segment_is_exported_with_one_row_per_member_and_consent_marked(store, report):
    members = warehouse(store, """
        select s.segment, s.customer_key, c.is_email_marketable, c.is_sms_marketable
        from customer_segments s join customers c using (customer_key)""")
    assert set(report.exports) == set(DEFINITIONS) | set(members["segment"])
    non_consenting = {"email": 0, "sms": 0}
    for segment, path in report.exports.items():
        exported = pd.read_csv(path, dtype={"customer_key": str})
        expected = members[members["segment"] == segment].set_index("customer_key")
        assert len(exported) == len(expected) and exported["customer_key"].is_unique, segment
        assert set(exported["customer_key"]) == set(expected.index)
        flags = exported.set_index("customer_key")
        for channel in ("email", "sms"):
            marked = flags[f"{channel}_consent_ok"].astype(bool)
            truth = expected[f"is_{channel}_marketable"].fillna(False).astype(bool).reindex(marked.index)
            assert (marked == truth).all(), (segment, channel)
            non_consenting[channel] += int((~marked).sum())
        assert {"email", "phone", "first_name", "lifecycle_stage", "predicted_clv_12m", "churn_risk"} <= set(exported)
    assert non_consenting["email"] > 0 and non_consenting["sms"] > 0  # the store has people who must be marked
    assert not list(store.reports.rglob("*.tmp"))  # atomic writes leave nothing half-written behind


def test_the_report_is_rewritten_the_same_way(store, report):
    again = write_segment_report(store.reports, read_report_data(store.warehouse, AS_OF))
    assert again.page.read_text() == report.page.read_text()
    assert {p.name for p in again.exports.values()} == {p.name for p in report.exports.values()}


def test_the_docs_site_describes_every_segment_and_metric(store):
    page = build_docs(store)
    assert page == store.root / "docs" / "index.html"
    text = page.read_text()
    for segment in DEFINITIONS:
        assert segment in text, segment
    for metric in ("repeat_purchase_rate", "churn_rate", "email_open_rate", "cart_recovery_rate", "retention_rate"):
        assert metric in text, metric


def test_top_referrers_are_recognised_by_key_and_counts_only():
    top = pd.DataFrame({"referrer_rank": [1, 2], "customer_key": ["k<1>", "k2"], "accepted_referrals": [4, 2],
                        "rejected_referrals": [1, 0], "friends_net_revenue": [310.5, 80.0]})
    data = ReportData(AS_OF, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                      pd.DataFrame(), top)
    page = render_html(data, [], [], {}, {})
    section = page[page.index("<h2>Top referrers</h2>"):page.index("<h2>Pictures</h2>")]
    assert "<code>k&lt;1&gt;</code>" in section and "<code>k2</code>" in section
    assert section.index("k&lt;1&gt;") < section.index("k2") and "310.50" in section
    empty = render_html(ReportData(AS_OF, *[pd.DataFrame()] * 6), [], [], {}, {})
    assert "No accepted referral yet." in empty
