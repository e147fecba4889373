"""Campaigns as code: the shipped defaults load, and every doubtful file is refused with the file,
campaign, field and reason in the message."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import yaml

from retention.activation.campaigns import (
    CAMPAIGNS_ENV,
    SHIPPED_FILE,
    CampaignConfigError,
    load_campaigns,
    parse_campaigns,
)
from tests.activation_fixtures import CONFIG
from tests.warehouse_fixtures import DBT_PROJECT

SHIPPED_KEYS = {"abandoned_cart", "win_back", "birthday", "anniversary", "post_purchase_thank_you", "review_request",
                "replenishment", "back_in_stock", "price_drop", "vip_tier_upgrade", "high_value_at_risk",
                "nps_promoter_referral", "nps_detractor_alert", "welcome", "sunset", "sms_opt_in_confirmation",
                "browse_abandonment", "bounceback", "order_shipped", "order_delivered", "order_delay_alert",
                "negative_review_alert", "nps_survey", "loyalty_reward_available", "loyalty_points_expiring",
                "referral_reward"}


def test_shipped_campaigns_load_with_every_default_campaign():
    campaigns = load_campaigns()
    assert set(campaigns.keys()) == SHIPPED_KEYS
    for campaign in campaigns:
        assert campaign.audience == f"audience_{campaign.key}"
        if "email" in campaign.channels:
            assert all(campaign.template_for(step).startswith("d-") for step in campaign.steps)
        if campaign.kind == "promotional" and "email" in campaign.channels:
            assert campaign.unsubscribe_group is not None
    assert campaigns.settings.frequency_caps["email"].window_hours == 16
    assert campaigns.settings.frequency_caps["sms"].window_hours == 24


def test_shipped_abandoned_cart_has_three_steps_and_a_discount_from_step_two():
    cart = load_campaigns().get("abandoned_cart")
    assert [s.delay_hours for s in cart.steps] == [4, 24, 72]
    assert [s.discount for s in cart.steps] == [False, True, True]
    assert all(set(s.exit_when) == {"ordered_since_trigger", "new_checkout"} for s in cart.steps)
    assert cart.channels == ("email",) and cart.is_promotional


def test_shipped_channel_preferences_and_kinds():
    campaigns = load_campaigns()
    assert campaigns.get("back_in_stock").channels == ("sms", "email")
    assert campaigns.get("price_drop").channels == ("sms", "email")
    assert campaigns.get("back_in_stock").kind == "transactional"
    assert campaigns.get("post_purchase_thank_you").kind == "transactional"
    alert = campaigns.get("nps_detractor_alert")
    assert alert.kind == "internal" and alert.internal_recipients and alert.holdout_share == 0
    first = campaigns.by_priority()[:2]  # the staff alerts go first
    assert {c.key for c in first} == {"nps_detractor_alert", "negative_review_alert"}
    assert campaigns.get("back_in_stock").quiet_hours["sms"].start.hour == 21


def test_shipped_welcome_and_sunset_share_the_newsletter_group_and_come_before_offers():
    campaigns = load_campaigns()
    welcome, sunset = campaigns.get("welcome"), campaigns.get("sunset")
    assert [s.delay_hours for s in welcome.steps] == [0, 72, 168]
    assert all(s.exit_when == ("ordered_since_trigger",) for s in welcome.steps)
    assert len(sunset.steps) == 1 and welcome.unsubscribe_group == sunset.unsubscribe_group == 1007
    offers = [c.priority for c in campaigns if c.is_promotional and c.key not in ("welcome", "sunset")]
    assert sunset.priority < welcome.priority < min(offers)  # the last question is never crowded out


def test_shipped_journeys_exits_channels_and_codes():
    campaigns = load_campaigns()
    browse = campaigns.get("browse_abandonment")
    assert browse.is_promotional and browse.discount is None
    assert set(browse.steps[0].exit_when) == {"ordered_since_trigger", "carted_since_trigger"}
    assert browse.priority > campaigns.get("abandoned_cart").priority  # a started checkout says more
    bounceback = campaigns.get("bounceback")
    assert bounceback.is_promotional and bounceback.steps[0].discount and bounceback.discount.prefix == "NEXT"
    assert bounceback.steps[0].exit_when == ("ordered_again",)
    assert "{coupon_code}" in bounceback.sms_body
    for key in ("order_shipped", "order_delivered", "order_delay_alert"):  # SMS first, news of their own order
        notice = campaigns.get(key)
        assert notice.kind == "transactional" and notice.channels == ("sms", "email") and notice.discount is None
    assert campaigns.get("order_shipped").steps[0].exit_when == ("delivered",)


def test_environment_variable_points_at_another_file(tmp_path, monkeypatch):
    path = tmp_path / "mine.yml"
    path.write_text(CONFIG)
    monkeypatch.setenv(CAMPAIGNS_ENV, str(path))
    assert "cart" in load_campaigns().keys()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CampaignConfigError, match="cannot read"):
        load_campaigns(tmp_path / "absent.yml")


def _cart(extra: str = "", steps: str = "    steps: [{delay_hours: 4}]\n", head: str = "") -> str:
    return (f"{head}campaigns:\n  cart:\n    kind: promotional\n    priority: 10\n    channels: [email]\n"
            f"    email_template_id: d-cart\n    unsubscribe_group: 1\n{extra}{steps}")


_ONE_STEP = "    steps: [{delay_hours: 0}]\n"

CONFIG_ERRORS = {
    "unknown campaign field": (_cart("    holdout_shre: 0.1\n"), "cart", "holdout_shre", "unknown key"),
    "unknown settings key": (_cart(head="settings:\n  quiet: 1\n"), "settings", "quiet", "unknown key"),
    "unknown top-level key": (_cart(head="extras: 1\n"), "top level", "extras", "unknown key"),
    "priority is text": (_cart().replace("priority: 10", "priority: high"), "cart", "priority", "integer"),
    "priority is a boolean": (_cart().replace("priority: 10", "priority: true"), "cart", "priority", "integer"),
    "negative priority": (_cart().replace("priority: 10", "priority: -1"), "cart", "priority", "minimum"),
    "holdout of one": (_cart("    holdout_share: 1.0\n"), "cart", "holdout_share", "below 1"),
    "negative holdout": (_cart("    holdout_share: -0.1\n"), "cart", "holdout_share", "minimum"),
    "steps not increasing": (_cart(steps="    steps: [{delay_hours: 24}, {delay_hours: 4}]\n"), "cart",
                             "steps[2].delay_hours", "later than"),
    "equal step delays": (_cart(steps="    steps: [{delay_hours: 4}, {delay_hours: 4}]\n"), "cart",
                          "steps[2].delay_hours", "later than"),
    "no steps": (_cart(steps="    steps: []\n"), "cart", "steps", "non-empty"),
    "unknown step field": (_cart(steps="    steps: [{delay_hours: 4, wait: 1}]\n"), "cart", "steps[1].wait",
                           "unknown key"),
    "unknown channel": (_cart().replace("[email]", "[email, fax]"), "cart", "channels", "'fax'"),
    "same channel twice": (_cart().replace("[email]", "[email, email]"), "cart", "channels", "twice"),
    "unknown kind": (_cart().replace("kind: promotional", "kind: promo"), "cart", "kind", "not one of"),
    "sms without body": (_cart().replace("[email]", "[email, sms]"), "cart", "sms_body", "needs an sms_body"),
    "email without template": (_cart().replace("    email_template_id: d-cart\n", ""), "cart",
                               "email_template_id", "needs a template id"),
    "template id not d-": (_cart().replace("d-cart", "cart-template"), "cart", "email_template_id", "d-..."),
    "sms body with attribute access": (_cart("    sms_body: 'hi {first_name.__class__}'\n"), "cart", "sms_body",
                                       "payload field"),
    "sms body unbalanced": (_cart("    sms_body: 'hi {first_name'\n"), "cart", "sms_body", "not a valid template"),
    "promotional email without unsubscribe group": (_cart().replace("    unsubscribe_group: 1\n", ""), "cart",
                                                    "unsubscribe_group", "unsubscribe group"),
    "discount past the last step": (_cart("    discount: {prefix: CART, percent: 10, from_step: 3}\n"), "cart",
                                    "discount.from_step", "past the last step"),
    "discount prefix lower case": (_cart("    discount: {prefix: cart, percent: 10}\n"), "cart", "discount.prefix",
                                   "capital"),
    "discount over 100 percent": (_cart("    discount: {prefix: CART, percent: 150}\n"), "cart",
                                  "discount.percent", "maximum"),
    "discounted step without policy": (_cart(steps="    steps: [{delay_hours: 4, discount: true}]\n"), "cart",
                                       "steps[1].discount", "discount policy"),
    "quiet hours not HH:MM": (_cart("    quiet_hours: {sms: {start: '9pm', end: '08:00'}}\n"), "cart",
                              "quiet_hours.sms.start", "HH:MM"),
    "send window equal hours": (_cart("    send_window: {start_hour: 9, end_hour: 9}\n"), "cart", "send_window",
                                "equal"),
    "bad store time zone": (_cart(head="settings:\n  store_time_zone: Mars/Olympus\n"), "settings",
                            "store_time_zone", "IANA"),
    "frequency cap of zero": (_cart(head="settings:\n  frequency_caps: {email: {max_sends: 0, window_hours: 16}}\n"),
                              "settings", "frequency_caps.email.max_sends", "minimum"),
    "internal alert without recipients": (
        "campaigns:\n  alert:\n    kind: internal\n    priority: 0\n    channels: [email]\n"
        "    email_template_id: d-alert\n    steps: [{delay_hours: 0}]\n", "alert", "internal_recipients",
        "staff address"),
    "internal alert by sms": (
        "campaigns:\n  alert:\n    kind: internal\n    priority: 0\n    channels: [sms]\n    sms_body: x\n"
        "    internal_recipients: [a@b.example]\n    steps: [{delay_hours: 0}]\n", "alert", "channels",
        "email only"),
    "staff recipients on a customer campaign": (_cart("    internal_recipients: [a@b.example]\n"), "cart",
                                                "internal_recipients", "only internal"),
    "missing required field": (_cart().replace("    priority: 10\n", ""), "cart", "priority", "required"),
    "broadcast without send_at": (_cart("    broadcast: {segment: tier_gold}\n", _ONE_STEP), "cart",
                                  "broadcast.send_at", "required"),
    "broadcast to an unknown segment": (_cart("    broadcast: {segment: tier_gould, send_at: '2026-11-27 09:00'}\n",
                                              _ONE_STEP), "cart", "broadcast.segment", "'tier_gould' is not a segment"),
    "broadcast at no clock time": (_cart("    broadcast: {segment: tier_gold, send_at: 'Black Friday'}\n",
                                         _ONE_STEP), "cart", "broadcast.send_at", "YYYY-MM-DD HH:MM"),
    "broadcast at a UTC instant": (_cart("    broadcast: {segment: tier_gold, send_at: 2026-11-27T09:00:00Z}\n",
                                         _ONE_STEP), "cart", "broadcast.send_at", "local time of each recipient"),
    "broadcast in two steps": (_cart("    broadcast: {segment: tier_gold, send_at: '2026-11-27 09:00'}\n",
                                     "    steps: [{delay_hours: 0}, {delay_hours: 24}]\n"), "cart", "steps",
                               "sends once"),
    "broadcast with a delay": (_cart("    broadcast: {segment: tier_gold, send_at: '2026-11-27 09:00'}\n"),
                               "cart", "steps", "delay_hours 0"),
    "broadcast with an exit": (_cart("    broadcast: {segment: tier_gold, send_at: '2026-11-27 09:00'}\n",
                                     "    steps: [{delay_hours: 0, exit_when: [ordered_since_trigger]}]\n"), "cart",
                               "steps[1].exit_when", "no exit conditions"),
    "broadcast late forever": (_cart("    broadcast: {segment: tier_gold, send_at: '2026-11-27 09:00', "
                                     "send_within_hours: 1000}\n", _ONE_STEP), "cart",
                               "broadcast.send_within_hours", "maximum"),
    "broadcast to staff": (
        "campaigns:\n  alert:\n    kind: internal\n    priority: 0\n    channels: [email]\n"
        "    email_template_id: d-alert\n    internal_recipients: [a@b.example]\n"
        "    broadcast: {segment: tier_gold, send_at: '2026-11-27 09:00'}\n    steps: [{delay_hours: 0}]\n",
        "alert", "broadcast", "internal alert cannot be a broadcast"),
}


@pytest.mark.parametrize("text, campaign, field, reason", CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
def test_config_errors_name_file_campaign_field_and_reason(text, campaign, field, reason):
    with pytest.raises(CampaignConfigError) as caught:
        parse_campaigns(text, source="campaigns-under-test.yml")
    message = str(caught.value)
    assert "campaigns-under-test.yml" in message
    assert campaign in message
    assert field in message
    assert reason in message


def test_a_broadcast_reads_every_customer_with_their_segments_at_a_local_time():
    text = _cart("    broadcast: {segment: [tier_gold, tier_platinum], send_at: 2026-11-27 09:00:00}\n", _ONE_STEP)
    cart = parse_campaigns(text).get("cart")
    assert cart.audience == "audience_broadcast"  # one audience for every broadcast, filtered per campaign
    assert cart.broadcast.segments == ("tier_gold", "tier_platinum")
    assert cart.broadcast.send_at == datetime(2026, 11, 27, 9, 0) and cart.broadcast.send_within_hours == 24
    assert parse_campaigns(_cart()).get("cart").broadcast is None


def test_the_shipped_file_s_commented_broadcast_example_loads_once_uncommented():
    text = SHIPPED_FILE.read_text()
    block = text[text.index("  # flash_sale_black_friday:"):].split("\n\n")[0]
    example = parse_campaigns("campaigns:\n" + re.sub(r"^  # ", "  ", block, flags=re.M)).get("flash_sale_black_friday")
    assert example.broadcast.segments == ("tier_gold", "tier_platinum", "rfm_champions")


def test_duplicate_campaign_key_is_refused():
    text = _cart() + _cart().replace("campaigns:\n", "")
    with pytest.raises(CampaignConfigError, match=r"campaigns-under-test.yml: duplicate key 'cart' at line \d+"):
        parse_campaigns(text, source="campaigns-under-test.yml")


def test_duplicate_field_is_refused():
    with pytest.raises(CampaignConfigError, match="duplicate key 'priority'"):
        parse_campaigns(_cart("    priority: 5\n"), source="x.yml")


def test_invalid_yaml_and_empty_file():
    with pytest.raises(CampaignConfigError, match="not valid YAML"):
        parse_campaigns("campaigns: [unclosed", source="x.yml")
    with pytest.raises(CampaignConfigError, match="empty"):
        parse_campaigns("", source="x.yml")


def test_defaults_fill_what_a_campaign_leaves_out():
    cart = parse_campaigns(_cart(), source="x.yml").get("cart")
    assert cart.audience == "audience_cart"
    assert cart.holdout_share == 0 and cart.discount is None and cart.send_window is None
    assert cart.categories == ("cart",)
    assert cart.quiet_hours["sms"].end.hour == 8  # the settings' default SMS quiet hours


def test_campaign_quiet_hours_null_disables_them():
    cart = parse_campaigns(_cart("    quiet_hours: null\n"), source="x.yml").get("cart")
    assert cart.quiet_hours == {}


def test_the_double_opt_in_request_must_be_a_transactional_sms_campaign():
    assert load_campaigns().get("sms_opt_in_confirmation").confirms_sms_opt_in
    as_email = CONFIG.replace("    kind: transactional\n    priority: 1\n",
                              "    kind: transactional\n    priority: 1\n    confirms_sms_opt_in: true\n", 1)
    with pytest.raises(CampaignConfigError, match="campaign 'thanks'.*confirms_sms_opt_in.*transactional SMS-only"):
        parse_campaigns(as_email, source="x.yml")


def test_loyalty_reward_codes_carry_the_prefix_the_warehouse_redeems():
    # the warehouse spends points on the orders quoting the reward campaign's codes, by their prefix
    dbt_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    reward = load_campaigns().get("loyalty_reward_available")
    assert reward.discount.prefix == dbt_vars["loyalty_reward_code_prefix"]
    assert reward.audience == "audience_loyalty_reward_available" and all(s.discount for s in reward.steps)
