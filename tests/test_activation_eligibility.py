"""The eligibility gate alone: each reason by name, the order of the checks, quiet hours in the
recipient's zone, and a holdout that is stable and the right size."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from retention.activation.campaigns import QuietHours, SendWindow
from retention.activation.eligibility import (
    BLOCKING_STATUSES,
    Gate,
    SendHistory,
    holdout_fraction,
    in_holdout,
    next_allowed_time,
    step_is_due,
    stricter,
)
from tests.activation_fixtures import NOW, campaign_set, person

CAMPAIGNS = campaign_set()
CART, PRICE_DROP, WIN_BACK, THANKS, DETRACTOR = (CAMPAIGNS.get(k) for k in
                                                  ("cart", "price_drop", "win_back", "thanks", "detractor"))


def decide(campaign, row, status=None, gate=None, step=1):
    gate = gate or Gate(CAMPAIGNS.settings, NOW)
    return gate.decide(campaign, campaign.step(step), row, status)


# ---------------------------------------------------------------- consent and suppressions


def test_no_consent_excludes():
    assert decide(CART, person("a", email_ok=False)).reason == "no_consent"


def test_no_address_counts_as_no_consent():
    assert decide(CART, person("a", email=None)).reason == "no_consent"


def test_first_consenting_channel_in_preference_order_is_chosen():
    assert decide(PRICE_DROP, person("a")).channel == "sms"
    assert decide(PRICE_DROP, person("a", sms_ok=False)).channel == "email"
    assert decide(PRICE_DROP, person("a", sms_ok=False, email_ok=False)).reason == "no_consent"


@pytest.mark.parametrize("reason", ["unsubscribe", "bounce", "spam_report", "invalid_email", "sunset", "invalid",
                                    "erasure"])
def test_each_email_suppression_reason_excludes(reason):
    decision = decide(CART, person("a", email_reason=reason))
    assert (decision.outcome, decision.reason) == ("excluded", "suppressed")


def test_a_group_unsubscribe_stops_that_groups_campaigns_only():
    left_cart_reminders = person("a", unsubscribed_groups="1001")  # cart reminders
    assert decide(CART, left_cart_reminders).reason == "suppressed"
    assert decide(WIN_BACK, left_cart_reminders).outcome == "send"  # group 1002
    assert decide(THANKS, left_cart_reminders).outcome == "send"  # no group: a reply to their own order


def test_a_group_unsubscribe_leaves_the_campaigns_sms_channel_open():
    left_product_alerts = person("a", unsubscribed_groups="1002,1004")
    # the group is SendGrid's, so email only: SMS has its own consent and STOP
    assert decide(PRICE_DROP, left_product_alerts).channel == "sms"
    assert decide(PRICE_DROP, person("a", unsubscribed_groups="1004", sms_ok=False)).reason == "suppressed"
    assert decide(PRICE_DROP, person("a", unsubscribed_groups="1001", sms_ok=False)).channel == "email"


@pytest.mark.parametrize("reason", ["stop", "erasure", "invalid"])
def test_each_sms_suppression_reason_moves_to_the_next_channel_or_excludes(reason):
    assert decide(PRICE_DROP, person("a", sms_reason=reason)).channel == "email"
    assert decide(PRICE_DROP, person("a", sms_reason=reason, email_reason="bounce")).reason == "suppressed"


def test_a_suppression_the_ledger_recorded_excludes_before_the_warehouse_knows():
    gate = Gate(CAMPAIGNS.settings, NOW, suppressed={"sms": {"a"}})
    assert decide(PRICE_DROP, person("a"), gate=gate).channel == "email"
    assert decide(PRICE_DROP, person("a", email_ok=False), gate=gate).reason == "suppressed"


def test_a_subscriber_the_warehouse_marks_unmarketable_is_suppressed_not_unconsenting():
    # the warehouse folds suppressions into is_*_marketable; the gate still names the true reason
    row = person("a", email_reason="bounce") | {"is_email_marketable": False}
    assert decide(CART, row).reason == "suppressed"


def test_an_unmarketable_subscriber_without_a_known_reason_is_never_sent():
    row = person("a") | {"is_email_marketable": False}
    assert decide(CART, row).reason == "suppressed"


def test_without_a_consent_state_the_marketable_flag_decides():
    row = person("a") | {"email_consent_state": None, "is_email_marketable": False}
    assert decide(CART, row).reason == "no_consent"


def test_consent_is_checked_before_suppression():
    assert decide(CART, person("a", email_ok=False, email_reason="bounce")).reason == "no_consent"


# ---------------------------------------------------------------- ledger, exits, purchases


@pytest.mark.parametrize("status", sorted(BLOCKING_STATUSES))
def test_already_sent_for_every_settled_status(status):
    assert decide(CART, person("a"), status=status).reason == "already_sent"


@pytest.mark.parametrize("status", [None, "deferred", "released"])
def test_open_statuses_do_not_block(status):
    assert decide(CART, person("a"), status=status).outcome == "send"


def test_exit_condition_named_by_the_step_excludes():
    assert decide(CART, person("a", ordered_since_trigger=True)).reason == "exit_condition"
    assert decide(CART, person("a", new_checkout=True)).reason == "exit_condition"


def test_exit_condition_not_named_by_the_step_is_ignored():
    assert decide(WIN_BACK, person("a", new_checkout=True)).outcome == "send"


def test_null_exit_flag_is_not_an_exit():
    assert decide(CART, person("a", ordered_since_trigger=None)).outcome == "send"


def test_already_sent_is_checked_before_exit_conditions():
    assert decide(CART, person("a", ordered_since_trigger=True), status="sent").reason == "already_sent"


def test_recent_purchase_excludes_promotional_only():
    row = person("a", last_order_at=NOW - timedelta(days=10))
    assert decide(WIN_BACK, row).reason == "recent_purchase"  # 30-day window
    assert decide(PRICE_DROP, row).outcome == "send"  # 3-day window
    assert decide(THANKS, person("a", last_order_at=NOW - timedelta(hours=1))).outcome == "send"


def test_purchase_exclusion_of_zero_days_never_excludes():
    assert decide(CART, person("a", last_order_at=NOW - timedelta(minutes=5))).outcome == "send"


# ---------------------------------------------------------------- caps and priority


def test_frequency_cap_counts_sends_in_the_window_across_campaigns():
    history = SendHistory()
    history.add("a", "email", NOW - timedelta(hours=15), promotional=False)
    gate = Gate(CAMPAIGNS.settings, NOW, history)
    assert decide(CART, person("a"), gate=gate).reason == "frequency_cap"
    assert decide(PRICE_DROP, person("a"), gate=gate).outcome == "send"  # SMS has its own cap


def test_frequency_cap_window_expires():
    history = SendHistory()
    history.add("a", "email", NOW - timedelta(hours=17), promotional=False)
    assert decide(THANKS, person("a"), gate=Gate(CAMPAIGNS.settings, NOW, history)).outcome == "send"


def test_a_send_decided_in_this_run_counts_for_the_next_campaign():
    gate = Gate(CAMPAIGNS.settings, NOW)
    assert decide(THANKS, person("a"), gate=gate).outcome == "send"
    assert decide(CART, person("a"), gate=gate).reason == "frequency_cap"


# ---------------------------------------------------------------- frequency preference


def history_with_promotion(hours_ago: float, promotional: bool = True) -> SendHistory:
    history = SendHistory()
    history.add("a", "email", NOW - timedelta(hours=hours_ago), promotional=promotional)
    return history


@pytest.mark.parametrize(("frequency", "window_hours"), [("weekly", 7 * 24), ("monthly", 30 * 24)])
def test_a_chosen_frequency_caps_promotional_email_at_the_window_edge(frequency, window_hours):
    row = person("a", email_frequency=frequency)
    inside = Gate(CAMPAIGNS.settings, NOW, history_with_promotion(window_hours - 1))
    assert decide(CART, row, gate=inside).reason == "preference"
    outside = Gate(CAMPAIGNS.settings, NOW, history_with_promotion(window_hours + 1))
    assert decide(CART, row, gate=outside).outcome == "send"
    # as usual: only the channel's own 16-hour cap applies
    assert decide(CART, person("a"), gate=Gate(CAMPAIGNS.settings, NOW, history_with_promotion(17))).outcome == "send"


def test_a_weekly_choice_does_not_count_or_hold_back_order_updates():
    row = person("a", email_frequency="weekly")
    after_an_order_update = Gate(CAMPAIGNS.settings, NOW, history_with_promotion(20, promotional=False))
    assert decide(CART, row, gate=after_an_order_update).outcome == "send"
    after_a_promotion = Gate(CAMPAIGNS.settings, NOW, history_with_promotion(20))
    assert decide(THANKS, row, gate=after_a_promotion).outcome == "send"


def test_only_order_updates_keeps_transactional_email_and_sms():
    row = person("a", email_frequency="order_updates_only")
    assert decide(CART, row).reason == "preference"
    assert decide(THANKS, row).outcome == "send"
    assert decide(PRICE_DROP, row).channel == "sms"  # the choice is about email
    assert decide(PRICE_DROP, row | {"is_sms_marketable": False, "sms_consent_state": "not_subscribed"}
                  ).reason == "preference"


def test_a_preference_send_in_this_run_counts_for_the_next_campaign():
    gate = Gate(CAMPAIGNS.settings, NOW)
    assert decide(CART, person("a", email_frequency="monthly"), gate=gate).outcome == "send"
    later = Gate(CAMPAIGNS.settings, NOW + timedelta(days=2), gate.history)
    assert decide(WIN_BACK, person("a", email_frequency="monthly"), gate=later).reason == "preference"


def test_priority_one_promotional_message_per_local_day():
    gate = Gate(CAMPAIGNS.settings, NOW)
    assert decide(PRICE_DROP, person("a"), gate=gate).channel == "sms"
    # email is not capped (nothing sent by email), but the promotional slot of the day is used
    assert decide(CART, person("a"), gate=gate).reason == "priority"
    assert decide(THANKS, person("a"), gate=gate).outcome == "send"  # transactional is not crowded out


def test_priority_uses_the_recipients_local_day():
    history = SendHistory()
    # 03:30 UTC on the 14th is still the 13th in New York: another local day
    history.add("a", "sms", datetime(2026, 7, 14, 3, 30, tzinfo=UTC), promotional=True)
    gate = Gate(CAMPAIGNS.settings, NOW, history)
    assert decide(CART, person("a"), gate=gate).outcome == "send"
    # in UTC it is the same day, so the slot is used
    history = SendHistory()
    history.add("a", "sms", datetime(2026, 7, 14, 3, 30, tzinfo=UTC), promotional=True)
    gate = Gate(CAMPAIGNS.settings, NOW, history)
    assert decide(CART, person("a", time_zone="UTC"), gate=gate).reason == "priority"


# ---------------------------------------------------------------- quiet hours and holdout


def test_quiet_hours_defer_to_the_next_local_morning():
    late_in_los_angeles = datetime(2026, 7, 15, 6, 30, tzinfo=UTC)  # 23:30 PDT on the 14th
    gate = Gate(CAMPAIGNS.settings, late_in_los_angeles)
    decision = gate.decide(PRICE_DROP, PRICE_DROP.step(1), person("a", time_zone="America/Los_Angeles"), None)
    assert decision.outcome == "deferred" and decision.channel == "sms"
    assert decision.not_before == datetime(2026, 7, 15, 15, 0, tzinfo=UTC)  # 08:00 PDT
    assert decision.not_before.astimezone(ZoneInfo("America/Los_Angeles")).hour == 8


def test_quiet_hours_are_the_recipients_not_the_stores():
    # 23:30 in Los Angeles is 15:30 in Tokyo: the Tokyo customer gets it now
    gate = Gate(CAMPAIGNS.settings, datetime(2026, 7, 15, 6, 30, tzinfo=UTC))
    assert gate.decide(PRICE_DROP, PRICE_DROP.step(1), person("a", time_zone="Asia/Tokyo"), None).outcome == "send"


def test_quiet_hours_apply_per_channel():
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 23:00 in New York
    gate = Gate(CAMPAIGNS.settings, night)
    assert gate.decide(PRICE_DROP, PRICE_DROP.step(1), person("a", sms_ok=False), None).outcome == "send"


def test_a_stricter_states_quiet_hours_defer_sms_the_default_allows():
    # 20:30 in New York (EDT): the default 21:00-08:00 allows it, a Florida-style 20:00-08:00 does not
    evening = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)
    assert decide(PRICE_DROP, person("a"), gate=Gate(CAMPAIGNS.settings, evening)).outcome == "send"
    florida = person("b", sms_quiet_hours="20:00-08:00")
    decision = decide(PRICE_DROP, florida, gate=Gate(CAMPAIGNS.settings, evening))
    assert (decision.outcome, decision.channel) == ("deferred", "sms")
    assert decision.not_before == datetime(2026, 7, 15, 12, 0, tzinfo=UTC)  # 08:00 EDT
    # 08:30 EDT: past the default's end, inside a Texas-style 21:00-09:00; the merged span ends at 09:00
    morning = datetime(2026, 7, 15, 12, 30, tzinfo=UTC)
    texas = decide(PRICE_DROP, person("c", sms_quiet_hours="21:00-09:00"), gate=Gate(CAMPAIGNS.settings, morning))
    assert (texas.outcome, texas.not_before) == ("deferred", datetime(2026, 7, 15, 13, 0, tzinfo=UTC))
    # the state's law is about SMS: email to the same person goes now
    assert decide(PRICE_DROP, florida | {"is_sms_marketable": False, "sms_consent_state": "not_subscribed"},
                  gate=Gate(CAMPAIGNS.settings, evening)).outcome == "send"


def test_stricter_quiet_hours_merge_evening_spans_and_otherwise_keep_the_laws():
    default, florida, texas = (QuietHours(time(21), time(8)), QuietHours(time(20), time(8)),
                               QuietHours(time(21), time(9)))
    assert stricter(default, florida) == florida and stricter(default, texas) == texas
    assert stricter(florida, texas) == QuietHours(time(20), time(9))
    assert stricter(None, florida) == florida and stricter(default, None) == default
    assert stricter(QuietHours(time(1), time(6)), florida) == florida


def test_deferral_is_not_a_send_for_caps():
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)
    gate = Gate(CAMPAIGNS.settings, night)
    assert gate.decide(PRICE_DROP, PRICE_DROP.step(1), person("a"), None).outcome == "deferred"
    assert gate.history.count("a", "sms", night - timedelta(days=1)) == 0


def test_unknown_time_zone_falls_back_to_the_store_zone():
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 23:00 in the store's New York
    decision = Gate(CAMPAIGNS.settings, night).decide(PRICE_DROP, PRICE_DROP.step(1),
                                                      person("a", time_zone="Nowhere/Town"), None)
    assert decision.outcome == "deferred"


def test_next_allowed_time_across_a_dst_change():
    # the night clocks go back in New York (2026-11-01): 08:00 EST is 13:00 UTC
    zone = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 23:00 EDT on Oct 31
    assert next_allowed_time(now, zone, QuietHours(time(21), time(8)), None) == datetime(2026, 11, 1, 13, 0,
                                                                                           tzinfo=UTC)


def test_send_window_and_quiet_hours_together():
    zone = ZoneInfo("UTC")
    quiet, window = QuietHours(time(21), time(8)), SendWindow(9, 20)
    assert next_allowed_time(datetime(2026, 7, 14, 8, 30, tzinfo=UTC), zone, quiet, window) == \
        datetime(2026, 7, 14, 9, 0, tzinfo=UTC)
    assert next_allowed_time(datetime(2026, 7, 14, 20, 30, tzinfo=UTC), zone, quiet, window) == \
        datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    assert next_allowed_time(datetime(2026, 7, 14, 12, 0, tzinfo=UTC), zone, quiet, window) is None


def test_holdout_is_deterministic_and_recorded_as_held_out():
    campaigns = campaign_set(cart={"holdout_share": 0.5})
    cart = campaigns.get("cart")
    keys = [f"c{i}" for i in range(200)]
    first = [decide(cart, person(k), gate=Gate(campaigns.settings, NOW)).outcome for k in keys]
    again = [decide(cart, person(k), gate=Gate(campaigns.settings, NOW + timedelta(days=3))).outcome for k in keys]
    assert first == again
    assert set(first) == {"send", "held_out"}


def test_holdout_share_within_tolerance():
    keys = [f"customer-{i}" for i in range(20_000)]
    share = sum(in_holdout(k, "win_back", 0.1) for k in keys) / len(keys)
    assert abs(share - 0.1) < 0.01
    assert not any(in_holdout(k, "win_back", 0.0) for k in keys[:100])


def test_holdout_differs_between_campaigns():
    assert holdout_fraction("c1", "cart") != holdout_fraction("c1", "win_back")
    assert holdout_fraction("c1", "cart") == holdout_fraction("c1", "cart")


def test_holdout_comes_after_every_exclusion():
    campaigns = campaign_set(cart={"holdout_share": 0.999})
    cart = campaigns.get("cart")
    assert decide(cart, person("a", email_ok=False), gate=Gate(campaigns.settings, NOW)).reason == "no_consent"
    assert decide(cart, person("a"), gate=Gate(campaigns.settings, NOW)).outcome == "held_out"


def test_held_out_is_not_a_send_for_caps():
    campaigns = campaign_set(cart={"holdout_share": 0.999})
    gate = Gate(campaigns.settings, NOW)
    assert decide(campaigns.get("cart"), person("a"), gate=gate).outcome == "held_out"
    assert decide(campaigns.get("win_back"), person("a"), gate=gate).outcome == "send"


# ---------------------------------------------------------------- steps and internal alerts


def test_step_is_due_after_its_delay():
    triggered = NOW - timedelta(hours=4)
    assert step_is_due(CART.step(1), triggered, NOW)
    assert not step_is_due(CART.step(1), triggered + timedelta(seconds=1), NOW)
    assert not step_is_due(CART.step(2), triggered, NOW)
    assert not step_is_due(CART.step(1), None, NOW)


def test_internal_alert_ignores_the_customers_consent_but_not_the_ledger():
    row = person("a", email_ok=False, email_reason="unsubscribe")
    assert decide(DETRACTOR, row).outcome == "send"
    assert decide(DETRACTOR, row, status="sent").reason == "already_sent"


def test_gate_counts_every_decision_by_reason():
    gate = Gate(CAMPAIGNS.settings, NOW)
    for row in (person("a"), person("b", email_ok=False), person("c", email_reason="bounce"), person("a")):
        gate.decide(CART, CART.step(1), row, None)
    assert gate.counts == {"send": 1, "no_consent": 1, "suppressed": 1, "frequency_cap": 1}


def test_the_gates_documented_order_is_the_order_of_its_reasons():
    """The module's docstring is the one description of the order; EXCLUSION_REASONS is the code's."""
    import re

    from retention.activation import eligibility

    documented = re.findall(r"^\d+\. ``(\w+)``", eligibility.__doc__, flags=re.M)
    assert tuple(documented) == eligibility.EXCLUSION_REASONS


# ---------------------------------------------------------------- SMS double opt-in


CONFIRMATION = dataclasses.replace(THANKS, key="confirm", channels=("sms",), email_template_id=None,
                                   sms_body="Reply YES", confirms_sms_opt_in=True)


def test_only_the_confirmation_request_reaches_a_subscriber_awaiting_confirmation():
    awaiting = person("a", sms_reason="awaiting_confirmation") | {"is_sms_marketable": False}
    assert decide(CONFIRMATION, awaiting).outcome == "send"
    no_email = {"is_email_marketable": False, "email_consent_state": "unsubscribed"}
    assert decide(PRICE_DROP, awaiting | no_email).reason == "suppressed"  # consented, not yet confirmed
    assert decide(PRICE_DROP, awaiting).channel == "email"  # their SMS is not marketing-ready: email instead
    # nobody else gets the request: not the confirmed, not the stopped, not one the ledger saw STOP
    assert decide(CONFIRMATION, person("b")).reason == "suppressed"
    assert decide(CONFIRMATION, person("c", sms_reason="sms_stop")).reason == "suppressed"
    gate = Gate(CAMPAIGNS.settings, NOW, suppressed={"sms": {"a"}})
    assert decide(CONFIRMATION, awaiting, gate=gate).reason == "suppressed"


def test_the_confirmation_request_keeps_the_states_quiet_hours():
    evening = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)  # 20:30 in New York
    awaiting = person("a", sms_reason="awaiting_confirmation", sms_quiet_hours="20:00-08:00")
    assert decide(CONFIRMATION, awaiting, gate=Gate(CAMPAIGNS.settings, evening)).outcome == "deferred"
