"""The experiments' statistics against published worked values, the false-winner rate of A/A
tests, the planted winner found and rolled out, and the sample-ratio check."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from retention.activation.campaigns import WinnerRule
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import OutboxSender
from retention.experiments.analysis import (
    ALPHA,
    Arm,
    analyse,
    experiment_results,
    holm,
    minimum_detectable_effect,
    probability_best,
    sample_ratio_mismatches,
    sample_ratio_p,
    two_proportion_z,
    wilson_interval,
)
from retention.experiments.assignment import assign
from retention.experiments.rollout import record_winners
from retention.store_simulator.responses import ResponseRates, Sent, email_events
from tests.activation_fixtures import NOW, audience, person
from tests.test_experiments_assignment import with_variants

TWO_ARMS = """
    experiment: {name: cart_subject, metric: open_rate, min_recipients: 500, probability: 0.9, max_days: 28}
    variants:
      - {name: control, weight: 1, subject: "You left something behind"}
      - {name: question, weight: 1, subject: "Still thinking it over?"}
"""


# ---------------------------------------------------------------- published worked values


@pytest.mark.parametrize("successes, trials, low, high", [
    # Newcombe RG (1998), "Two-sided confidence intervals for the single proportion: comparison
    # of seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombe_1998(successes, trials, low, high):
    got = wilson_interval(successes, trials)
    assert got[0] == pytest.approx(low, abs=6e-5) and got[1] == pytest.approx(high, abs=6e-5)


def test_two_proportion_z_test_matches_the_statsmodels_worked_example():
    # statsmodels.stats.proportion.proportions_ztest, documented example: counts 5 and 12 of 83 and
    # 99, pooled two-sided test: p-value 0.159
    z, p = two_proportion_z(5, 83, 12, 99)
    assert p == pytest.approx(0.159, abs=5e-4) and z < 0  # the first proportion is the smaller


def test_holm_adjusts_step_down_and_keeps_the_order():
    # Holm (1979): the k-th smallest of m p-values times (m - k + 1), made non-decreasing
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.2]) == [None, 0.2]


def test_minimum_detectable_effect_shrinks_with_size():
    small, large = minimum_detectable_effect(0.3, 500, 500), minimum_detectable_effect(0.3, 5000, 5000)
    # (1.96 + 0.84) * sqrt(0.21 * 2 / 500) = 0.0812
    assert small == pytest.approx(0.0812, abs=5e-4) and large == pytest.approx(small / np.sqrt(10), rel=1e-6)


def test_probability_best_is_deterministic_and_sums_to_one():
    counts = [(300, 1000), (340, 1000), (310, 1000)]
    first = probability_best(counts)
    assert first == probability_best(counts) and sum(first) == pytest.approx(1.0)
    assert first[1] > 0.9


# ---------------------------------------------------------------- the winner rule


def test_false_winner_rate_of_a_a_tests_is_at_most_alpha():
    rng = np.random.default_rng(2026)
    rule, tests, winners = WinnerRule(min_recipients=500, probability=0.9), 1000, 0
    for _ in range(tests):
        arms = [Arm(name, 600, 600, int(rng.binomial(600, 0.3)), 0, 0) for name in ("control", "b")]
        winners += any(r["is_winner"] for r in analyse(arms, rule, draws=4000))
    # the stated level: ALPHA at one look; three standard errors of 1,000 tests above it
    assert winners / tests <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / tests)


def test_no_winner_below_the_minimum_recipients_however_clear():
    arms = [Arm("control", 100, 100, 10, 0, 0), Arm("b", 100, 100, 60, 0, 0)]
    assert not any(r["is_winner"] for r in analyse(arms, WinnerRule(min_recipients=500)))
    assert any(r["is_winner"] for r in analyse(arms, WinnerRule(min_recipients=100)))


def test_the_control_wins_only_when_it_beats_every_challenger():
    rule = WinnerRule(min_recipients=100)
    clear = [Arm("control", 1000, 1000, 400, 0, 0), Arm("b", 1000, 1000, 300, 0, 0), Arm("c", 1000, 1000, 310, 0, 0)]
    assert [r["variant"] for r in analyse(clear, rule) if r["is_winner"]] == ["control"]
    close = [*clear[:2], Arm("c", 1000, 1000, 390, 0, 0)]
    assert not any(r["is_winner"] for r in analyse(close, rule))


# ---------------------------------------------------------------- planted truth to roll-out


def _simulated_sends(campaigns, n: int, rates: ResponseRates) -> pd.DataFrame:
    """campaign_sends as dbt builds it, from the simulated answers to n assigned recipients."""
    experiment = campaigns.get("cart").steps[0].experiment
    rows = []
    for k in range(n):
        key = f"c{k}"
        variant = assign(key, "cart", experiment).name
        sent = Sent("email", f"{key}@example.com", {"campaign": "cart", "step": "1", "send_id": f"s{k}",
                                                    "variant": variant}, NOW, f"m{k}")
        kinds = {e["event"] for e in email_events(sent, rates, seed=11)}
        rows.append({"campaign": "cart", "step": 1, "customer_key": key, "variant": variant, "is_treated": True,
                     "is_delivered": "delivered" in kinds, "is_opened": "open" in kinds,
                     "is_clicked": "click" in kinds, "converted": False, "attributed_revenue": 0.0,
                     "decided_at": pd.Timestamp(NOW)})
    return pd.DataFrame(rows)


def test_the_planted_winner_is_declared_recorded_and_sent_to_everyone(tmp_path):
    campaigns = with_variants(TWO_ARMS)
    rates = ResponseRates(email_open=0.3, variant_open_uplift={"question": 0.08}, preferred_hour_open_uplift=0.0)
    results = experiment_results(_simulated_sends(campaigns, 3000, rates), campaigns, NOW.date())
    by_variant = results.set_index("variant")
    assert by_variant.loc["question", "is_winner"] and not by_variant.loc["control", "is_winner"]
    assert set(results["status"]) == {"winner"} and sample_ratio_mismatches(results) == {}
    assert by_variant.loc["question", "open_rate_low"] < by_variant.loc["question", "open_rate"] \
        < by_variant.loc["question", "open_rate_high"]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert record_winners(results, ledger, NOW) == {"cart_subject": "question"}
        assert record_winners(results, ledger, NOW) == {}  # recorded once
        evidence = ledger.winners().iloc[0]
        assert evidence["variant"] == "question" and '"probability_best"' in evidence["evidence"]
        outbox = {"email": OutboxSender(tmp_path / "outbox", "email"), "sms": OutboxSender(tmp_path / "outbox", "sms")}
        activate(campaigns, {"audience_cart": audience(*[person(f"p{n}") for n in range(30)])}, ledger, outbox,
                 NOW + timedelta(minutes=1), only=["cart"])
        assert set(ledger.rows("cart")["variant"]) == {"question"}


def test_equal_variants_give_no_winner_and_stay_running(tmp_path):
    campaigns = with_variants(TWO_ARMS)
    rates = ResponseRates(email_open=0.3, variant_open_uplift={}, preferred_hour_open_uplift=0.0)
    results = experiment_results(_simulated_sends(campaigns, 2000, rates), campaigns, NOW.date())
    assert not results["is_winner"].any() and set(results["status"]) == {"running"}
    later = experiment_results(_simulated_sends(campaigns, 2000, rates), campaigns, NOW.date() + timedelta(days=40))
    assert set(later["status"]) == {"inconclusive"}


def test_no_experiment_gives_an_empty_typed_table():
    campaigns = with_variants("")
    empty = experiment_results(pd.DataFrame(columns=["campaign", "step", "variant", "is_treated"]), campaigns,
                               NOW.date())
    assert empty.empty and str(empty["recipients"].dtype) == "int64"


# ---------------------------------------------------------------- sample ratio mismatch


def test_sample_ratio_check_fires_on_a_broken_split_and_not_on_a_fair_one():
    campaigns = with_variants(TWO_ARMS)
    experiment = campaigns.get("cart").steps[0].experiment
    fair = pd.Series([assign(f"k{n}", "cart", experiment).name for n in range(4000)]).value_counts().to_dict()
    assert sample_ratio_p(fair, {"control": 1, "question": 1}) > 0.001
    assert sample_ratio_p({"control": 2200, "question": 1800}, {"control": 1, "question": 1}) < 0.001
    assert sample_ratio_p({"control": 2700, "question": 1300}, {"control": 2, "question": 1}) > 0.001  # 2:1 asked
    rates = ResponseRates(email_open=0.3, preferred_hour_open_uplift=0.0)
    sends = _simulated_sends(campaigns, 1500, rates)
    assert sample_ratio_mismatches(experiment_results(sends, campaigns, NOW.date())) == {}
    # a broken sender that drops a third of the challenger's messages
    broken = sends.drop(sends[sends["variant"] == "question"].index[::3])
    mismatched = sample_ratio_mismatches(experiment_results(broken, campaigns, NOW.date()))
    assert list(mismatched) == ["cart_subject#1"] and mismatched["cart_subject#1"] < 0.001
