"""What marketers see of the experiments: the segment report's section and the demo's table."""

from __future__ import annotations

import pandas as pd

from retention.experiments.analysis import experiment_results
from retention.reports.experiments import experiment_lines, experiments_text
from retention.reports.segment_report import render_html
from retention.reports.warehouse_reads import ReportData
from retention.store_simulator.responses import ResponseRates
from tests.activation_fixtures import NOW
from tests.test_experiments_analysis import TWO_ARMS, _simulated_sends
from tests.test_experiments_assignment import with_variants


def _results() -> pd.DataFrame:
    campaigns = with_variants(TWO_ARMS)
    rates = ResponseRates(email_open=0.3, variant_open_uplift={"question": 0.08}, preferred_hour_open_uplift=0.0)
    return experiment_results(_simulated_sends(campaigns, 3000, rates), campaigns, NOW.date())


def test_the_report_shows_each_variant_with_its_counts_rates_and_the_winner():
    results = _results()
    empty = pd.DataFrame()
    page = render_html(ReportData(NOW.date(), empty, empty, empty, empty, empty, empty, experiments=results), [], [],
                       {}, {})
    section = page[page.index("<h2>Experiments</h2>"):page.index("<h2>Pictures</h2>")]
    lines = {line["variant"]: line for line in experiment_lines(results)}
    assert lines["question"]["status"] == "winner" and lines["control (control)"]["status"] == "lost"
    for line in lines.values():
        assert f"<td>{line['recipients']}</td>" in section and f"<td>{line['rate']}</td>" in section
    assert int(lines["question"]["recipients"].replace(",", "")) + int(lines["control (control)"]["recipients"].replace(
        ",", "")) == 3000
    assert "@" not in section  # counts and rates, nobody named


def test_the_demo_table_lists_the_control_first_and_says_when_nothing_was_sent():
    text = experiments_text(_results())
    rows = text.splitlines()
    assert rows[0].startswith("experiment") and "cart_subject (open rate)" in rows[1] and "control (control)" in rows[1]
    assert "winner" in rows[2]
    assert experiments_text(pd.DataFrame()) == "No experiment has sent anything yet."
    page = render_html(ReportData(NOW.date(), *[pd.DataFrame()] * 6), [], [], {}, {})
    assert "No experiment has sent anything yet." in page
