"""The simulator plants the truths the experiments must find: a variant that opens more, and a
preferred local hour per recipient, both written under simulation/."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from retention.paths import DataDir
from retention.store_simulator.responses import (
    ResponseRates,
    Sent,
    address_hash,
    email_events,
    preferred_hour,
    write_responses,
)

# 16:00 UTC is 12:00 in New York (EDT)
SENT_AT = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
RATES = ResponseRates(email_open=0.3, email_bounce=0.0, variant_open_uplift={"question": 0.1},
                      preferred_hour_open_uplift=0.4)


def _sent(n: int, variant: str | None, at: datetime = SENT_AT, to: str | None = None) -> Sent:
    args = {"campaign": "cart", "step": "1", "send_id": f"{variant}-{n}-{at:%H}"}
    if variant:
        args["variant"] = variant
    return Sent("email", to or f"p{n}@example.com", args, at, f"m-{variant}-{n}-{at:%H}")


def _opened(message: Sent, rates: ResponseRates = RATES) -> bool:
    return any(e["event"] == "open" for e in email_events(message, rates, seed=5))


def test_the_named_variant_opens_more_by_the_planted_uplift():
    # recipients whose preferred hour is not noon, so only the variant differs
    people = [n for n in range(12_000) if preferred_hour(f"p{n}@example.com", RATES) != 12][:6000]
    control = sum(_opened(_sent(n, "control")) for n in people) / len(people)
    challenger = sum(_opened(_sent(n, "question")) for n in people) / len(people)
    # standard error of a difference of two rates near 0.35 at n = 6000 each: 0.0087
    assert abs(control - 0.3) < 0.03 and abs(challenger - control - 0.1) < 0.03


def test_a_message_in_the_preferred_local_hour_is_opened_more():
    at_best, elsewhere = [], []
    for n in range(4000):
        to = f"p{n}@example.com"
        hour = preferred_hour(to, RATES)
        best = SENT_AT.replace(hour=0) + timedelta(hours=hour + 4)  # 4 h: New York is UTC-4 in July
        other = best + timedelta(hours=7)
        at_best.append(_opened(_sent(n, None, best, to)))
        elsewhere.append(_opened(_sent(n, None, other, to)))
    gain = sum(at_best) / len(at_best) - sum(elsewhere) / len(elsewhere)
    assert abs(gain - 0.4) < 0.04


def test_preferred_hours_are_per_recipient_stable_and_spread_over_waking_hours():
    hours = [preferred_hour(f"p{n}@example.com", RATES) for n in range(5000)]
    assert hours == [preferred_hour(f"P{n}@Example.com ", RATES) for n in range(5000)]  # the address, any case
    counts = Counter(hours)
    assert set(counts) == set(range(6, 23)) and min(counts.values()) > 200
    other_store = ResponseRates(preference_seed=7)
    assert sum(h == preferred_hour(f"p{n}@example.com", other_store) for n, h in enumerate(hours)) < 500


def test_the_truth_is_written_under_simulation_without_addresses(tmp_path):
    data_dir = DataDir(tmp_path)
    write_responses(data_dir, [_sent(n, "question") for n in range(30)], seed=1, rates=RATES)
    write_responses(data_dir, [_sent(n, "control") for n in range(30, 50)], seed=2, rates=RATES)
    text = (data_dir.simulation / "response_truth.json").read_text()
    truth = json.loads(text)
    assert truth["variant_open_uplift"] == {"question": 0.1} and truth["preferred_hour_open_uplift"] == 0.4
    assert len(truth["preferred_hours"]) == 50  # merged over both answers
    assert truth["preferred_hours"][address_hash("p7@example.com")] == preferred_hour("p7@example.com", RATES)
    assert "@" not in text
