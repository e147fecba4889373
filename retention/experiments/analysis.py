"""The statistics of an experiment: per variant, its rates with Wilson intervals, the probability
of being best, a z-test against the control with Holm's correction, the minimum detectable effect,
and whether the winner rule (campaigns.yml ``experiment:``) is met.

    rows = analyse([Arm("control", 1000, 980, 310, 60, 12, 540.0), Arm("b", ...)], WinnerRule())

Choices:
- Probability of being best: Beta(1 + successes, 1 + failures) posteriors (uniform prior), by Monte
  Carlo (``DRAWS`` draws from a fixed seed, so a rebuild gives the same numbers; its standard
  error near 0.9 is 0.002), for any number of variants, rather than the two-variant closed form.
- A winner needs both: a probability of being best of at least ``rule.probability`` and
  significance against the control (Holm-adjusted two-sided p below ``ALPHA``; for the control to
  win, against every challenger). The probability alone would crown a variant in about 20% of A/A
  tests at 0.9; with the test, the false-winner rate of one look is at most ``ALPHA``.
- The minimum detectable effect: the absolute difference from the control's rate a variant of the
  current size would detect with 80% power at ``ALPHA`` (two-sided).
- Sample ratio mismatch: a chi-square test of the recipients per variant against the configured
  weights; ``SRM_P`` (0.001) is the usual threshold, as a split that fails it is broken, not unlucky.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from retention.activation.campaigns import CampaignSet, WinnerRule

ALPHA = 0.05
POWER = 0.8
Z95 = stats.norm.ppf(1 - ALPHA / 2)  # 1.959964
DRAWS = 20_000
SRM_P = 0.001


@dataclass(frozen=True)
class Arm:
    """What one variant's recipients did."""

    name: str
    recipients: int  # messages produced (sent or outbox)
    delivered: int
    opens: int
    clicks: int
    conversions: int
    revenue: float = 0.0


def metric_counts(arm: Arm, metric: str) -> tuple[int, int]:
    """(successes, trials) of a metric: opens and clicks per delivered message, conversions per recipient."""
    if metric == "open_rate":
        return arm.opens, arm.delivered
    if metric == "click_rate":
        return arm.clicks, arm.delivered
    return arm.conversions, arm.recipients


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson's score interval for a proportion (None, None without trials)."""
    if trials <= 0:
        return None, None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z statistic of (x1/n1 - x2/n2) and its two-sided p-value."""
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (family-wise error), in the order given; None stays None."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[index] = running
    return adjusted


def minimum_detectable_effect(rate: float | None, n_control: int, n_variant: int) -> float | None:
    if rate is None or n_control <= 0 or n_variant <= 0:
        return None
    z_power = stats.norm.ppf(POWER)
    return float((Z95 + z_power) * math.sqrt(rate * (1 - rate) * (1 / n_control + 1 / n_variant)))


def probability_best(counts: Sequence[tuple[int, int]], draws: int = DRAWS, seed: int = 0) -> list[float]:
    """P(each variant has the highest rate), Beta(1 + x, 1 + n - x) posteriors, by Monte Carlo."""
    rng = np.random.default_rng(seed)
    samples = np.column_stack([rng.beta(1 + x, 1 + max(n - x, 0), draws) for x, n in counts])
    best = np.bincount(samples.argmax(axis=1), minlength=len(counts))
    return [float(b) / draws for b in best]


def sample_ratio_p(recipients: Mapping[str, int], weights: Mapping[str, float]) -> float | None:
    """p-value of the recipients per variant against the configured weights (chi-square)."""
    names = [n for n in weights if weights[n] > 0]
    observed = np.array([recipients.get(n, 0) for n in names], dtype=float)
    if len(names) < 2 or observed.sum() == 0:
        return None
    expected = np.array([weights[n] for n in names]) / sum(weights[n] for n in names) * observed.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def analyse(arms: Sequence[Arm], rule: WinnerRule, draws: int = DRAWS, seed: int = 0) -> list[dict]:
    """One row per arm (the first is the control) with every statistic and ``is_winner``."""
    if not arms:
        return []
    counts = [metric_counts(a, rule.metric) for a in arms]
    best = probability_best(counts, draws, seed)
    control_x, control_n = counts[0]
    control_rate = control_x / control_n if control_n else None
    tests = [two_proportion_z(x, n, control_x, control_n) if i else (None, None) for i, (x, n) in enumerate(counts)]
    adjusted = holm([p for _, p in tests])
    rows = []
    for index, (arm, (x, n)) in enumerate(zip(arms, counts, strict=True)):
        row = {"variant": arm.name, "is_control": index == 0, "recipients": arm.recipients,
               "delivered": arm.delivered, "opens": arm.opens, "clicks": arm.clicks,
               "conversions": arm.conversions, "revenue": round(float(arm.revenue), 2)}
        for name, (hits, trials) in (("open_rate", (arm.opens, arm.delivered)),
                                     ("click_rate", (arm.clicks, arm.delivered)),
                                     ("conversion_rate", (arm.conversions, arm.recipients))):
            low, high = wilson_interval(hits, trials)
            row.update({name: hits / trials if trials else None, f"{name}_low": low, f"{name}_high": high})
        row.update(metric=rule.metric, metric_successes=x, metric_trials=n, probability_best=best[index],
                   z_vs_control=tests[index][0], p_value=tests[index][1], p_value_holm=adjusted[index],
                   minimum_detectable_effect=None if index == 0 else minimum_detectable_effect(
                       control_rate, control_n, n))
        rows.append(row)
    winner = _winner(rows, rule)
    for row in rows:
        row["is_winner"] = row["variant"] == winner
    return rows


def _winner(rows: list[dict], rule: WinnerRule) -> str | None:
    if any(r["metric_trials"] < rule.min_recipients for r in rows):
        return None
    leader = max(rows, key=lambda r: r["probability_best"])
    if leader["probability_best"] < rule.probability:
        return None
    control_rate = rows[0]["metric_successes"] / rows[0]["metric_trials"]
    if leader["is_control"]:  # the control wins only when it beats every challenger significantly
        beaten = all(r["p_value_holm"] < ALPHA and r["metric_successes"] / r["metric_trials"] < control_rate
                     for r in rows[1:])
        return leader["variant"] if beaten else None
    better = leader["metric_successes"] / leader["metric_trials"] > control_rate
    return leader["variant"] if better and leader["p_value_holm"] < ALPHA else None


# experiment_results' columns and their types (typed also when there is no experiment yet)
RESULT_COLUMNS = {
    "experiment": "string", "campaign": "string", "step": "int64", "variant": "string", "is_control": "bool",
    "recipients": "int64", "delivered": "int64", "opens": "int64", "clicks": "int64", "conversions": "int64",
    "revenue": "float64",
    **{f"{rate}{end}": "float64" for rate in ("open_rate", "click_rate", "conversion_rate")
       for end in ("", "_low", "_high")},
    "metric": "string", "metric_successes": "int64", "metric_trials": "int64", "probability_best": "float64",
    "z_vs_control": "float64", "p_value": "float64", "p_value_holm": "float64",
    "minimum_detectable_effect": "float64", "is_winner": "bool", "weight": "float64", "status": "string",
    "started_at": "datetime64[us]", "as_of": "datetime64[us]",
}


def experiment_results(sends: pd.DataFrame, campaigns: CampaignSet, as_of: date) -> pd.DataFrame:
    """``analyse`` over the ledger's sends (dbt ``campaign_sends``: variant, is_treated, is_delivered,
    is_opened, is_clicked, converted, attributed_revenue, decided_at) for every experiment in the
    campaign file, with the experiment's status: ``winner``, ``running``, or ``inconclusive`` once
    ``max_days`` have passed since its first send without a winner."""
    rows: list[dict] = []
    treated = sends[sends["is_treated"].fillna(False).astype(bool) & sends["variant"].notna()]
    for campaign, experiment in campaigns.experiments():
        steps = [s.number for s in campaign.steps if s.experiment is experiment]
        mine = treated[(treated["campaign"] == campaign.key) & treated["step"].isin(steps)]
        for step in steps:
            group = mine[mine["step"] == step]
            if group.empty:  # no message of this step yet
                continue
            by_variant = {name: part for name, part in group.groupby("variant")}
            arms = [_arm(v.name, by_variant.get(v.name)) for v in experiment.variants
                    if not v.paused or v.name in by_variant]
            started = group["decided_at"].min()
            analysed = analyse(arms, experiment.rule)
            decided = any(r["is_winner"] for r in analysed)
            overdue = as_of > pd.Timestamp(started).date() + timedelta(days=experiment.rule.max_days)
            status = "winner" if decided else ("inconclusive" if overdue else "running")
            weights = {v.name: 0.0 if v.paused else v.weight for v in experiment.variants}  # paused: not in the split
            for row in analysed:
                rows.append({"experiment": experiment.key, "campaign": campaign.key, "step": step, **row,
                             "weight": weights[row["variant"]], "status": status, "started_at": started,
                             "as_of": as_of})
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True).dt.tz_localize(None)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.astype(RESULT_COLUMNS)


def _arm(name: str, part: pd.DataFrame | None) -> Arm:
    if part is None:
        return Arm(name, 0, 0, 0, 0, 0, 0.0)
    return Arm(name, len(part), int(part["is_delivered"].fillna(False).sum()), int(part["is_opened"].fillna(False).sum()),
               int(part["is_clicked"].fillna(False).sum()), int(part["converted"].fillna(False).sum()),
               float(part["attributed_revenue"].fillna(0).astype(float).sum()))


def sample_ratio_mismatches(results: pd.DataFrame) -> dict[str, float]:
    """Experiments (``experiment#step``) still running whose split fails the SRM test: their p-values."""
    broken: dict[str, float] = {}
    if results.empty:
        return broken
    running = results[results["status"] != "winner"]
    for (experiment, step), group in running.groupby(["experiment", "step"]):
        p = sample_ratio_p(dict(zip(group["variant"], group["recipients"], strict=True)),
                           dict(zip(group["variant"], group["weight"], strict=True)))
        if p is not None and p < SRM_P:
            broken[f"{experiment}#{step}"] = p
    return broken
