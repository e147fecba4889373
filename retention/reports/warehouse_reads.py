"""The report's inputs, read from the warehouse read-only (dbt is its only writer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from retention.duckdb_config import connect

HISTORY_DAYS = 30  # the longest trend the page shows
TOP_REFERRERS = 10  # the referrers the page recognises

MEMBERS_SQL = """
select s.segment, s.segment_type, s.customer_key, s.email, s.phone, s.first_name,
       s.is_email_marketable, s.is_sms_marketable, s.email_suppression_reason, s.sms_suppression_reason,
       s.lifecycle_stage, s.rfm_segment, c.recency_score, c.frequency_score, c.monetary_score,
       s.loyalty_tier, s.order_count, s.net_revenue, s.last_order_date, c.predicted_clv_12m, c.churn_risk,
       c.p_alive, s.triggered_at, s.product_id, s.reference_id, s.as_of
from customer_segments s left join customers c using (customer_key)
order by s.segment, s.customer_key
"""

RFM_SQL = """
select recency_score, frequency_score, count(*) as customers, sum(net_revenue) as net_revenue
from customers where recency_score is not null and frequency_score is not null
group by all order by all
"""


@dataclass(frozen=True)
class ReportData:
    as_of: date
    spells: pd.DataFrame  # segment_membership_history
    members: pd.DataFrame  # one row per customer and segment, with the customer's attributes
    cohorts: pd.DataFrame  # retention_cohorts
    rfm: pd.DataFrame  # recency_score x frequency_score: customers and net revenue
    metrics: pd.DataFrame  # metrics_daily, the last two windows of HISTORY_DAYS
    performance: pd.DataFrame  # campaign_performance
    top_referrers: pd.DataFrame = field(default_factory=pd.DataFrame)  # the best TOP_REFERRERS of top_referrers
    experiments: pd.DataFrame = field(default_factory=pd.DataFrame)  # experiment_results
    cohort_cltv: pd.DataFrame = field(default_factory=pd.DataFrame)  # cohort_cltv


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    try:
        return con.execute(sql, params or []).df()
    except duckdb.CatalogException:
        return pd.DataFrame()  # not built yet (a young warehouse): the report says "no data yet"


def read_report_data(warehouse: Path, as_of: date) -> ReportData:
    since = as_of - timedelta(days=2 * HISTORY_DAYS)
    with connect(warehouse, read_only=True) as con:
        return ReportData(
            as_of=as_of,
            spells=_frame(con, "select segment_type, segment, customer_key, entered_on, left_on "
                               "from segment_membership_history where left_on is null or left_on > ?", [since]),
            members=_frame(con, MEMBERS_SQL),
            cohorts=_frame(con, "select * from retention_cohorts where activity_month <= ? order by all", [as_of]),
            rfm=_frame(con, RFM_SQL),
            metrics=_frame(con, "select * from metrics_daily where day > ? and day <= ? order by day", [since, as_of]),
            performance=_frame(con, "select * from campaign_performance order by campaign, step"),
            top_referrers=_frame(con, "select referrer_rank, customer_key, accepted_referrals, rejected_referrals, "
                                      "friends_net_revenue from top_referrers order by referrer_rank, customer_key "
                                      "limit ?", [TOP_REFERRERS]),
            experiments=_frame(con, "select * from experiment_results order by experiment, step, variant"),
            cohort_cltv=_frame(con, "select * from cohort_cltv order by cohort_month"),
        )
