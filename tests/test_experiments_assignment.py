"""Variants on a campaign: validated like every key, assigned by a stable hash independent of the
holdout's, recorded in the ledger and carried to SendGrid; a paused variant or a recorded winner
stops being assigned."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from retention.activation.campaigns import CampaignConfigError, Experiment, Variant, parse_campaigns
from retention.activation.eligibility import in_holdout
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.ledger_db import connect
from retention.activation.senders import OutboxSender
from retention.experiments.assignment import assign
from tests.activation_fixtures import CONFIG, NOW, audience, person

VARIANTS = """
    experiment: {name: cart_subject, metric: open_rate, min_recipients: 500, probability: 0.9, max_days: 28}
    variants:
      - {name: control, weight: 1, subject: "You left something behind"}
      - {name: question, weight: 1, subject: "Still thinking it over?"}
      - {name: hourly, weight: 2, send_hour: 9, email_template_id: d-cart-b}
"""
KEYS = [f"customer-{n}" for n in range(20_000)]


def with_variants(block: str = VARIANTS):
    """The test campaigns with the variants block on the cart campaign."""
    text = CONFIG.replace("    discount: {prefix: CART, percent: 10, from_step: 2}\n",
                          "    discount: {prefix: CART, percent: 10, from_step: 2}\n" + block, 1)
    return parse_campaigns(text, source="test-campaigns.yml")


def experiment(*variants: Variant) -> Experiment:
    return Experiment("subject_test", variants)


# ---------------------------------------------------------------- the file


def test_campaign_variants_apply_to_every_step_with_the_first_as_control():
    cart = with_variants().get("cart")
    experiments = cart.experiments
    assert [e.key for e in experiments] == ["cart_subject"]
    assert all(step.experiment is experiments[0] for step in cart.steps)
    assert experiments[0].control.name == "control"
    assert experiments[0].rule.min_recipients == 500 and experiments[0].rule.metric == "open_rate"


def test_step_variants_take_precedence_and_are_named_after_the_step():
    block = """    steps:
      - {delay_hours: 4, variants: [{name: a, weight: 1}, {name: b, weight: 1, subject: "B"}]}
      - {delay_hours: 24}
"""
    text = CONFIG.replace("""    steps:
      - {delay_hours: 4, exit_when: [ordered_since_trigger, new_checkout]}
      - {delay_hours: 24, exit_when: [ordered_since_trigger, new_checkout], email_template_id: d-cart-offer}
      - {delay_hours: 72, exit_when: [ordered_since_trigger, new_checkout]}
""", block)
    cart = parse_campaigns(text).get("cart")
    assert cart.steps[0].experiment.key == "cart_step1" and cart.steps[1].experiment is None


@pytest.mark.parametrize("block, field, reason", [
    ("    variants: [{name: only, weight: 1}]\n", "variants", "at least two variants"),
    ("    variants: [{name: a, weight: 1}, {name: a, weight: 1}]\n", "variants", "same name"),
    ("    variants: [{name: a, weight: 0}, {name: b, weight: 1}]\n", "variants.a.weight", "below the minimum"),
    ("    variants: [{name: a, weight: 1}, {name: b, weight: 1, chanel: sms}]\n", "variants[2].chanel",
     "unknown key"),
    ("    variants: [{name: a, weight: 1}, {name: b, weight: 1, channel: sms}]\n", "variants.b.channel",
     "not one of the campaign's channels"),
    ("    variants: [{name: a, weight: 1}, {name: b, weight: 1, send_hour: 24}]\n", "variants.b.send_hour",
     "above the maximum"),
    ("    variants: [{name: a, weight: 1, paused: true}, {name: b, weight: 1, paused: true}]\n", "variants",
     "every variant is paused"),
    ("    experiment: {metric: revenue}\n    variants: [{name: a, weight: 1}, {name: b, weight: 1}]\n",
     "experiment.metric", "'revenue' is not one of"),
    ("    experiment: {name: x}\n", "experiment", "needs a variants list"),
])
def test_a_wrong_variant_names_file_campaign_field_and_reason(block, field, reason):
    with pytest.raises(CampaignConfigError) as error:
        with_variants(block)
    message = str(error.value)
    assert message.startswith("test-campaigns.yml: campaign 'cart', field ")
    assert f"field '{field}'" in message and reason in message


def test_a_discount_percent_needs_the_campaigns_discount_policy():
    text = CONFIG.replace("    email_template_id: d-win-back\n", """    email_template_id: d-win-back
    variants: [{name: a, weight: 1}, {name: b, weight: 1, discount_percent: 20}]
""").replace("    discount: {prefix: BACK, percent: 15}\n", "")
    with pytest.raises(CampaignConfigError, match="campaign 'win_back', field 'variants.b.discount_percent'"):
        parse_campaigns(text)


# ---------------------------------------------------------------- assignment


def test_assignment_is_stable_and_follows_the_weights_over_20k_keys():
    variants = (Variant("control", 1), Variant("b", 1), Variant("c", 2))
    first = [assign(k, "cart", experiment(*variants)).name for k in KEYS]
    assert first == [assign(k, "cart", experiment(*variants)).name for k in KEYS]  # the same on every run
    shares = {name: count / len(KEYS) for name, count in Counter(first).items()}
    # binomial standard error at n = 20k is at most 0.0035: 0.015 is over four of them
    assert shares == pytest.approx({"control": 0.25, "b": 0.25, "c": 0.5}, abs=0.015)


def test_variant_and_holdout_hashes_are_independent():
    variants = (Variant("control", 1), Variant("b", 1))
    cells = Counter((assign(k, "cart", experiment(*variants)).name, in_holdout(k, "cart", 0.2)) for k in KEYS)
    # independent: the holdout takes a fifth of each variant (chi-square, 1 dof, below 10.83 is p > 0.001)
    chi2 = 0.0
    for name in ("control", "b"):
        for held in (True, False):
            expected = len(KEYS) * 0.5 * (0.2 if held else 0.8)
            chi2 += (cells[(name, held)] - expected) ** 2 / expected
    assert chi2 < 10.83, cells


def test_a_paused_variant_moves_only_its_own_customers():
    active = experiment(Variant("control", 1), Variant("b", 1), Variant("c", 1))
    paused = experiment(Variant("control", 1), Variant("b", 1, paused=True), Variant("c", 1))
    before = {k: assign(k, "cart", active).name for k in KEYS[:3000]}
    after = {k: assign(k, "cart", paused).name for k in KEYS[:3000]}
    assert "b" not in after.values()
    assert all(after[k] == v for k, v in before.items() if v != "b")
    moved = Counter(after[k] for k, v in before.items() if v == "b")
    assert set(moved) == {"control", "c"} and min(moved.values()) > 400  # spread over both


def test_a_recorded_winner_is_everyones_variant():
    test = experiment(Variant("control", 1), Variant("b", 1))
    assert {assign(k, "cart", test, winner="b").name for k in KEYS[:500]} == {"b"}


# ---------------------------------------------------------------- the engine and the ledger


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "activation" / "ledger.sqlite") as opened:
        yield opened


def _outbox(tmp_path):
    return {"email": OutboxSender(tmp_path / "outbox", "email"), "sms": OutboxSender(tmp_path / "outbox", "sms")}


def _bodies(tmp_path) -> list[dict]:
    return [p for f in sorted((tmp_path / "outbox" / "email").glob("*.json"))
            for p in json.loads(f.read_text())["personalizations"]]


def test_each_send_records_its_variant_and_sendgrid_carries_it(ledger, tmp_path):
    campaigns = with_variants()
    people = [person(f"p{n}") for n in range(40)]
    # 12:00 in New York: the "hourly" variant waits for 09:00, the others go now
    activate(campaigns, {"audience_cart": audience(*people)}, ledger, _outbox(tmp_path), NOW, only=["cart"])
    rows = ledger.rows("cart").set_index("customer_key")
    test = campaigns.get("cart").steps[0].experiment
    for key, row in rows.iterrows():
        assert row["variant"] == assign(key, "cart", test).name
        assert row["status"] == ("deferred" if row["variant"] == "hourly" else "outbox")
    assert set(rows["variant"]) == {"control", "question", "hourly"}
    sent = {p["custom_args"]["send_id"]: p for p in _bodies(tmp_path)}
    assert len(sent) == (rows["status"] == "outbox").sum()
    by_send = ledger.rows("cart").set_index("send_id")["variant"]
    for send_id, body in sent.items():
        assert body["custom_args"]["variant"] == by_send[send_id]
        expected = {"control": "You left something behind", "question": "Still thinking it over?"}
        assert body["dynamic_template_data"]["subject"] == expected[by_send[send_id]]
    exported = ledger.export_day(NOW.date())
    assert exported["variant"].notna().all()


def test_holdout_records_carry_no_variant(ledger, tmp_path):
    campaigns = with_variants("    holdout_share: 0.5\n" + VARIANTS)
    activate(campaigns, {"audience_cart": audience(*[person(f"p{n}") for n in range(30)])}, ledger,
             _outbox(tmp_path), NOW, only=["cart"])
    rows = ledger.rows("cart")
    held = rows[rows["status"] == "held_out"]
    assert len(held) > 0 and held["variant"].isna().all()
    assert rows.loc[rows["status"] != "held_out", "variant"].notna().all()


def test_after_a_recorded_winner_every_later_send_uses_it(ledger, tmp_path):
    campaigns = with_variants()
    assert ledger.record_winner("cart_subject", "cart", "question", json.dumps({"probability_best": 0.97}), NOW)
    assert not ledger.record_winner("cart_subject", "cart", "control", "{}", NOW)  # the first decision stands
    activate(campaigns, {"audience_cart": audience(*[person(f"p{n}") for n in range(20)])}, ledger,
             _outbox(tmp_path), NOW, only=["cart"])
    assert set(ledger.rows("cart")["variant"]) == {"question"}
    assert {p["dynamic_template_data"]["subject"] for p in _bodies(tmp_path)} == {"Still thinking it over?"}


def test_an_older_ledger_gains_the_variant_column_and_keeps_its_rows(tmp_path, ledger_at):
    old = connect(ledger_at)  # the sends table as shipped before experiments, on either backend
    with old.transaction() as conn:
        conn.execute("""CREATE TABLE sends (send_id TEXT PRIMARY KEY, campaign TEXT NOT NULL, step INTEGER NOT NULL,
            customer_key TEXT NOT NULL, occurrence TEXT NOT NULL, channel TEXT, status TEXT NOT NULL, mode TEXT,
            batch_id TEXT, decided_at TEXT NOT NULL, sent_at TEXT, not_before TEXT, provider_message_id TEXT,
            coupon_code TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, audience_as_of TEXT, run_id TEXT,
            snapshot TEXT)""")
        conn.execute("INSERT INTO sends (send_id, campaign, step, customer_key, occurrence, status, decided_at) "
                     "VALUES ('s1', 'cart', 1, 'c1', 'o1', 'sent', '2026-07-01T00:00:00.000000Z')")
    old.close()
    with Ledger(ledger_at) as ledger:
        rows = ledger.rows()
        assert list(rows["send_id"]) == ["s1"] and rows["variant"].isna().all()
        activate(with_variants(), {"audience_cart": audience(person("p1"))}, ledger, _outbox(tmp_path), NOW,
                 only=["cart"])
        assert ledger.rows("cart").set_index("customer_key").loc["p1", "variant"] is not None
