"""The segment report: one static HTML page with its pictures beside it, readable opened from disk.

Every text on the page is escaped, and the page carries counts only: no names, emails or phones
(those are in the CSV exports, which the page links to).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pandas as pd

from retention.reports import pictures
from retention.reports.experiments import COLUMNS as EXPERIMENT_COLUMNS
from retention.reports.experiments import experiment_lines
from retention.reports.exports import write_atomically, write_exports
from retention.reports.metrics import Metric, headline_metrics
from retention.reports.segments import TREND_DAYS, SegmentTrend, definition, segment_trends, sizes_by_day
from retention.reports.warehouse_reads import HISTORY_DAYS, ReportData

PICTURE_TITLES = {
    "segment_sizes": "Segment sizes over time",
    "retention_cohorts": "Retention cohort heatmap",
    "rfm_grid": "RFM grid: customers and revenue",
    "campaign_funnel": "Campaign funnel and holdout lift",
}


@dataclass
class SegmentReport:
    page: Path
    pictures: dict[str, Path]
    exports: dict[str, Path]
    trends: list[SegmentTrend]
    metrics: list[Metric]
    picture_bytes: dict[str, bytes] = field(repr=False, default_factory=dict)


def render_pictures(data: ReportData) -> tuple[dict[str, bytes], list[SegmentTrend]]:
    sizes = sizes_by_day(data.spells, data.as_of - timedelta(days=HISTORY_DAYS), data.as_of)
    trends = segment_trends(data.members, sizes, data.as_of)
    rendered = {
        "segment_sizes": pictures.segment_sizes_over_time(sizes),
        "retention_cohorts": pictures.cohort_heatmap(data.cohorts),
        "rfm_grid": pictures.rfm_grid(data.rfm),
        "campaign_funnel": pictures.campaign_funnel(data.performance),
    }
    return rendered, trends


def change(value: int | None) -> str:
    return "n/a" if value is None else f"{value:+,}"


def sizes_markdown(trends: list[SegmentTrend]) -> str:
    """Segment sizes with their change since yesterday, 7 and 30 days, as a Markdown table."""
    lines = ["| segment | type | customers | " + " | ".join(f"vs {d}d" for d in TREND_DAYS) + " |",
             "|---|---|---:|" + "---:|" * len(TREND_DAYS)]
    for t in trends:
        lines.append(f"| {t.segment} | {t.segment_type} | {t.size:,} | "
                     + " | ".join(change(t.changes[d]) for d in TREND_DAYS) + " |")
    return "\n".join(lines)


def metrics_markdown(metrics: list[Metric]) -> str:
    lines = ["| metric | last 30 days | previous 30 days |", "|---|---:|---:|"]
    lines += [f"| {m.name} | {m.shown()} | {m.shown(m.previous) if m.previous is not None else 'n/a'} |"
              for m in metrics]
    return "\n".join(lines)


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def referrers_html(top: pd.DataFrame) -> str:
    """The customers whose referral code brought the most friends (customer keys, no contact details)."""
    if top.empty:
        return "<p>No accepted referral yet.</p>"
    rows = "\n".join(
        f"<tr><td class=n>{int(r.referrer_rank)}</td><td><code>{_e(r.customer_key)}</code></td>"
        f"<td class=n>{int(r.accepted_referrals):,}</td><td class=n>{int(r.rejected_referrals):,}</td>"
        f"<td class=n>{float(r.friends_net_revenue):,.2f}</td></tr>"
        for r in top.itertuples())
    return ("<table><tr><th>rank</th><th>customer</th><th>friends referred</th><th>referrals rejected</th>"
            f"<th>friends' first-order revenue</th></tr>\n{rows}\n</table>")


CLTV_WINDOWS = (30, 90, 180, 365)


def _money(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):,.2f}"


def cohort_cltv_html(cohorts: pd.DataFrame) -> str:
    """Revenue per customer of each acquisition cohort within 30 to 365 days of the first order, to date,
    and predicted; a window no customer of the cohort has completed yet shows n/a."""
    if cohorts.empty:
        return "<p>No customer has ordered yet.</p>"
    rows = "\n".join(
        f"<tr><td>{_e(pd.Timestamp(r['cohort_month']).strftime('%Y-%m'))}</td><td class=n>{int(r['cohort_size']):,}</td>"
        + "".join(f"<td class=n>{_money(r[f'revenue_per_customer_{n}d'])}</td>" for n in CLTV_WINDOWS)
        + f"<td class=n>{_money(r['realised_revenue_per_customer'])}</td>"
        f"<td class=n>{_money(r['predicted_clv_12m_per_customer'])}</td></tr>"
        for _, r in cohorts.iterrows())
    head = "".join(f"<th>{n} days</th>" for n in CLTV_WINDOWS)
    return (f"<table><tr><th>cohort</th><th>customers</th>{head}<th>to date</th><th>predicted 12 months</th></tr>\n"
            f"{rows}\n</table>")


def render_html(data: ReportData, trends: list[SegmentTrend], metrics: list[Metric], picture_files: dict[str, str],
                export_files: dict[str, str]) -> str:
    head = "".join(f"<th>{_e('vs ' + str(d) + (' day' if d == 1 else ' days'))}</th>" for d in TREND_DAYS)
    segment_rows = "\n".join(
        f"<tr><td>{_e(t.segment_type)}</td><td><code>{_e(t.segment)}</code></td><td>{_e(definition(t.segment))}</td>"
        f"<td class=n>{t.size:,}</td>" + "".join(f"<td class=n>{_e(change(t.changes[d]))}</td>" for d in TREND_DAYS)
        + (f"<td><a href=\"{_e(export_files[t.segment])}\">CSV</a></td>" if t.segment in export_files else "<td></td>")
        + "</tr>"
        for t in trends
    )
    metric_rows = "\n".join(
        f"<tr><td>{_e(m.name)}</td><td class=n>{_e(m.shown())}</td>"
        f"<td class=n>{_e(m.shown(m.previous) if m.previous is not None else 'n/a')}</td></tr>"
        for m in metrics
    ) or "<tr><td colspan=3>No metrics yet.</td></tr>"
    figures = "\n".join(
        f"<figure><img src=\"{_e(src)}\" alt=\"{_e(PICTURE_TITLES[name])}\"><figcaption>{_e(PICTURE_TITLES[name])}"
        "</figcaption></figure>"
        for name, src in picture_files.items()
    )
    experiment_rows = "\n".join(
        "<tr>" + "".join(f"<td>{_e(line[c])}</td>" for c in EXPERIMENT_COLUMNS) + "</tr>"
        for line in experiment_lines(data.experiments)
    ) or f"<tr><td colspan={len(EXPERIMENT_COLUMNS)}>No experiment has sent anything yet.</td></tr>"
    experiment_head = "".join(f"<th>{_e(c)}</th>" for c in EXPERIMENT_COLUMNS)
    as_of = _e(data.as_of.isoformat())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Segments as of {as_of}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 75rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 0 0 2rem; }} img {{ max-width: 100%; }}
</style></head>
<body>
<h1>Customer segments as of {as_of}</h1>
<p>Built from the warehouse after the day's run. Sizes count customers; each segment's CSV lists its
members with their contact details and whether they may be emailed or texted (consent given, not suppressed).</p>
<h2>Main metrics</h2>
<table><tr><th>metric</th><th>last 30 days</th><th>previous 30 days</th></tr>
{metric_rows}
</table>
<h2>Lifetime value by cohort</h2>
<p>Revenue per customer (net of refunds) of the customers who first ordered in the month, within 30, 90,
180 and 365 days of their first order (counting only those whose window has passed), to date, and the
predicted value of their next 12 months.</p>
{cohort_cltv_html(data.cohort_cltv)}
<h2>Segments</h2>
<table><tr><th>type</th><th>segment</th><th>who is in it</th><th>customers</th>{head}<th>export</th></tr>
{segment_rows}
</table>
<h2>Top referrers</h2>
<p>Customers whose referral code brought new customers (a friend's first order, after the checks for
self-referral, existing customers and the code's limit). Their keys find them in the customer exports.</p>
{referrers_html(data.top_referrers)}
<h2>Experiments</h2>
<p>Each variant's rate on the experiment's metric with its 95% interval, the probability that it is the
best, its p-value against the control (Holm-corrected) and the smallest difference its size can detect.
A winner is sent to everyone from the next activation on.</p>
<table><tr>{experiment_head}</tr>
{experiment_rows}
</table>
<h2>Pictures</h2>
{figures}
</body></html>
"""


def write_segment_report(reports_dir: Path, data: ReportData) -> SegmentReport:
    """Writes index.html, a PNG per picture and exports/<segment>.csv under ``reports_dir``."""
    rendered, trends = render_pictures(data)
    metrics = headline_metrics(data.metrics, data.as_of)
    picture_paths = {name: reports_dir / f"{name}.png" for name in rendered}
    for name, png in rendered.items():
        write_atomically(picture_paths[name], png)
    exports = write_exports(data.members, reports_dir / "exports")
    page = reports_dir / "index.html"
    relative = {name: path.relative_to(reports_dir).as_posix() for name, path in picture_paths.items()}
    linked = {segment: path.relative_to(reports_dir).as_posix() for segment, path in exports.items()}
    write_atomically(page, render_html(data, trends, metrics, relative, linked).encode("utf-8"))
    return SegmentReport(page, picture_paths, exports, trends, metrics, rendered)
