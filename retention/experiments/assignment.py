"""Which variant of an experiment a customer gets: the same on every run and machine.

    variant = assign(customer_key, campaign.key, experiment)              # Variant
    variant = assign(customer_key, campaign.key, experiment, winner="b")  # the winner, for everyone

The hash is of (customer, campaign, experiment) with its own prefix, so it is independent of the
holdout's hash of (customer, campaign): the holdout takes the same share of every variant. A
customer falls on the cumulative weights of all variants, paused or not, so pausing one moves
only its own customers (spread over the active ones by a second hash); the others keep theirs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import time

from retention.activation.campaigns import Campaign, Experiment, SendWindow, Step, Variant


def unit_hash(*parts: str) -> float:
    """A stable point in [0, 1) for these parts."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(point: float, variants: Sequence[Variant]) -> Variant:
    total = sum(v.weight for v in variants)
    edge = 0.0
    for variant in variants:
        edge += variant.weight / total
        if point < edge:
            return variant
    return variants[-1]  # point within rounding of 1


def assign(customer_key: str, campaign_key: str, experiment: Experiment, winner: str | None = None) -> Variant:
    """The customer's variant; everyone gets ``winner`` once an experiment has one."""
    chosen = experiment.variant(winner)
    if chosen is not None:
        return chosen
    variant = _pick(unit_hash("variant", customer_key, campaign_key, experiment.key), experiment.variants)
    if not variant.paused:
        return variant
    active = [v for v in experiment.variants if not v.paused]
    return _pick(unit_hash("variant-repick", customer_key, campaign_key, experiment.key), active)


def with_variant(campaign: Campaign, step: Step, variant: Variant) -> tuple[Campaign, Step]:
    """The campaign and step as this variant sends them: its overrides on top of theirs."""
    step = replace(step, subject=variant.subject or step.subject,
                   email_template_id=variant.email_template_id or step.email_template_id,
                   sms_body=variant.sms_body or step.sms_body)
    changes: dict = {}
    if variant.channel is not None:
        changes["channels"] = (variant.channel,)
    if variant.send_hour is not None:  # a one-hour window: the gate defers to it as to quiet hours
        changes["send_window"] = SendWindow(variant.send_hour, variant.send_hour + 1)
    if variant.send_time is not None:
        changes["send_time"] = variant.send_time
    if variant.discount_percent is not None and campaign.discount is not None:
        changes["discount"] = replace(campaign.discount, percent=variant.discount_percent)
    return (replace(campaign, **changes) if changes else campaign), step


def at_best_hour(campaign: Campaign, hour: int | None) -> Campaign:
    """An optimised campaign as it sends to a customer whose best local hour is ``hour``: a one-hour
    window there, so the gate defers to it as to quiet hours. Quiet hours still win: a best hour
    inside the campaign's moves to the hour they end. Unknown: the campaign as it is."""
    if campaign.send_time != "optimised" or hour is None:
        return campaign
    for quiet in campaign.quiet_hours.values():
        if quiet.contains(time(hour)):
            hour = quiet.end.hour
    return replace(campaign, send_window=SendWindow(hour, hour + 1))
