"""The activation engine against an in-memory provider: what is sent, what the ledger remembers,
and why a crash, a rerun or a concurrent run never sends a message twice nor forgets one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from retention.activation.engine import ActivationError, activate
from retention.activation.ledger import Ledger, send_id_for
from retention.activation.messages import OutgoingMessage, SendResult
from retention.activation.render import hashed, masked
from tests.activation_fixtures import NOW, audience, campaign_set, person


class ProviderCrash(RuntimeError):
    """The process died while a batch was in flight."""


class MemorySender:
    """A provider in memory: counts every message it received, can crash, can answer lookups."""

    def __init__(self, channel: str, mode: str = "live", crash: str | None = None, lookup: str | bool | None = "truth",
                 reject: dict[str, tuple[str, int, str]] | None = None, ledger_path=None):
        self.channel, self.mode = channel, mode
        self.crash = crash  # "before_receive" | "after_receive" | None
        self.lookup_answer = lookup  # "truth" = what we received; True / False / None forced
        self.reject = reject or {}  # customer_key -> (status, http_status, reason)
        self.received: list[OutgoingMessage] = []
        self.batches: list[int] = []
        self.lookups: list[list[str]] = []
        self.ledger_path = ledger_path  # to check the claim was committed before the request
        self.statuses_at_send: list[str] = []

    def send(self, messages):
        if self.ledger_path:
            with Ledger(self.ledger_path) as other:  # another connection: sees only what was committed
                self.statuses_at_send += [other.status_of(m.send_id) for m in messages]
        if self.crash == "before_receive":
            raise ProviderCrash("connection lost before the request")
        self.batches.append(len(messages))
        self.received.extend(messages)
        if self.crash == "after_receive":
            raise ProviderCrash("killed after the provider's 202")
        results = []
        for message in messages:
            if message.customer_key in self.reject:
                status, http_status, reason = self.reject[message.customer_key]
                results.append(SendResult(message.send_id, status, error=reason, http_status=http_status,
                                          request_body=json.dumps({"to": "redacted", "send_id": message.send_id})))
            else:
                results.append(SendResult(message.send_id, "outbox" if self.mode == "outbox" else "sent",
                                          provider_message_id=f"pm-{message.send_id[:8]}"))
        return results

    def lookup(self, send_ids):
        self.lookups.append(list(send_ids))
        if self.lookup_answer == "truth":
            got = {m.send_id for m in self.received}
            return {s: s in got for s in send_ids}
        return {s: self.lookup_answer for s in send_ids}

    def count(self, customer_key: str) -> int:
        return sum(1 for m in self.received if m.customer_key == customer_key)


class MemoryStore:
    """A store in memory that creates every discount and code it is asked for (the store's side
    has its own tests: test_activation_discounts.py)."""

    mode = "live"

    def __init__(self):
        self.discounts: dict[str, object] = {}
        self.codes: dict[str, str] = {}

    def create_discount(self, spec):
        discount_id = f"gid://shopify/DiscountCodeNode/{len(self.discounts) + 1}"
        self.discounts[discount_id] = spec
        self.codes[spec.anchor_code] = discount_id
        return discount_id

    def add_codes(self, discount_id, codes):
        self.codes.update(dict.fromkeys(codes, discount_id))
        return dict.fromkeys(codes)

    def find_codes(self, codes):
        return {code: self.codes.get(code) for code in codes}


@pytest.fixture
def ledger(ledger_at):
    """The same tests on both backends (SQLite file, Postgres): ``ledger_at`` in conftest."""
    with Ledger(ledger_at) as opened:
        yield opened


def senders(**overrides):
    return {"email": overrides.get("email", MemorySender("email")), "sms": overrides.get("sms", MemorySender("sms"))}


def run(campaigns, audiences, ledger, sent_by, now=NOW, **kwargs):
    kwargs.setdefault("discounts", MemoryStore())  # live sends need their codes in a store
    return activate(campaigns, audiences, ledger, sent_by, now, **kwargs)


def statuses(ledger, campaign=None):
    return ledger.rows(campaign).set_index("customer_key")["status"].to_dict()


# ---------------------------------------------------------------- the plain path


def test_sends_once_and_a_rerun_sends_nothing(ledger):
    campaigns, out = campaign_set(), senders()
    frame = {"audience_win_back": audience(person("a"), person("b"))}
    report = run(campaigns, frame, ledger, out, only=["win_back"])
    assert report.campaign("win_back").sent == 2
    again = run(campaigns, frame, ledger, out, now=NOW + timedelta(minutes=5), only=["win_back"])
    assert again.campaign("win_back").sent == 0
    assert again.campaign("win_back").excluded["already_sent"] == 2
    assert len(out["email"].received) == 2
    assert set(statuses(ledger).values()) == {"sent"}


def test_rendered_message_carries_payload_coupon_and_first_name(ledger):
    out = senders()
    run(campaign_set(), {"audience_win_back": audience(person("a"))}, ledger, out, only=["win_back"])
    message = out["email"].received[0]
    assert message.template_id == "d-win-back" and message.to == "a@example.com"
    assert message.data["first_name"] == "Namea"
    assert message.data["products"][0]["title"] == "Blue Mug"
    assert message.data["coupon_code"].startswith("BACK-") and message.data["discount_percent"] == 15
    assert message.asm_group_id == 1002 and message.categories == ("win_back",)
    assert message.send_id == send_id_for("win_back", 1, "a", "o1")
    coupons = ledger.coupons()
    assert coupons["code"].tolist() == [message.data["coupon_code"]]
    assert ledger.rows()["coupon_code"].tolist() == [message.data["coupon_code"]]


def test_sms_body_is_rendered_from_payload_fields(ledger):
    out = senders()
    run(campaign_set(), {"audience_price_drop": audience(person("a"))}, ledger, out, only=["price_drop"])
    message = out["sms"].received[0]
    assert message.body == "Namea, Blue Mug is now 12.00. Reply STOP to opt out."
    assert message.to == "+12025550100" and message.data == {}


def test_outbox_mode_records_outbox_not_sent(ledger):
    out = senders(email=MemorySender("email", mode="outbox"))
    report = run(campaign_set(), {"audience_win_back": audience(person("a"))}, ledger, out, only=["win_back"])
    assert report.campaign("win_back").outbox == 1 and report.campaign("win_back").sent == 0
    rows = ledger.rows()
    assert rows["status"].tolist() == ["outbox"] and rows["mode"].tolist() == ["outbox"]


def test_report_counts_add_up(ledger):
    frame = audience(person("a"), person("b", email_ok=False), person("c", email_reason="bounce"),
                     person("d", last_order_at=NOW - timedelta(days=2)),
                     person("e", triggered_at=NOW + timedelta(hours=1)))
    report = run(campaign_set(), {"audience_win_back": frame}, ledger, senders(), only=["win_back"])
    c = report.campaign("win_back")
    assert (c.audience, c.sent, c.not_due) == (5, 1, 1)
    assert dict(c.excluded) == {"no_consent": 1, "suppressed": 1, "recent_purchase": 1}
    assert c.audience + c.carried_over == c.not_due + sum(c.excluded.values()) + c.eligible
    assert "win_back" in report.table() and "x_no_consent" in report.table()


# ---------------------------------------------------------------- consent and suppressions


def test_non_consenting_and_suppressed_people_never_receive(ledger):
    out = senders()
    rows = [person("ok")] + [person(f"s-{r}", email_reason=r) for r in
                             ("unsubscribe", "group_unsubscribe", "bounce", "spam_report", "invalid", "erasure")]
    rows += [person("no-consent", email_ok=False)]
    report = run(campaign_set(), {"audience_win_back": audience(*rows)}, ledger, out, only=["win_back"])
    assert [m.customer_key for m in out["email"].received] == ["ok"]
    assert report.campaign("win_back").excluded == {"suppressed": 6, "no_consent": 1}


def test_twilio_stop_becomes_a_suppression_for_later_campaigns(ledger):
    out = senders(sms=MemorySender("sms", reject={"a": ("suppressed", 400, "21610: recipient unsubscribed")}))
    campaigns = campaign_set()
    report = run(campaigns, {"audience_price_drop": audience(person("a", sms_ok=True, email_ok=False))}, ledger,
                 out, only=["price_drop"])
    assert report.campaign("price_drop").suppressed == 1
    assert ledger.suppressed_customers() == {"sms": {"a"}}
    later = run(campaigns, {"audience_price_drop": audience(person("a", occurrence="o2", email_ok=False))},
                ledger, out, now=NOW + timedelta(days=2), only=["price_drop"])
    assert later.campaign("price_drop").excluded["suppressed"] == 1


# ---------------------------------------------------------------- sequences and exits


def test_sequence_sends_one_step_per_run_and_step_two_only_after_step_one(ledger):
    campaigns, out = campaign_set(), senders()
    trigger = NOW - timedelta(hours=80)  # every step's delay has passed
    frame = {"audience_cart": audience(person("a", triggered_at=trigger))}
    first = run(campaigns, frame, ledger, out, only=["cart"])
    assert first.campaign("cart").sent == 1 and out["email"].received[-1].step == 1
    assert "coupon_code" in out["email"].received[-1].data and out["email"].received[-1].data["coupon_code"] is None
    # the email cap (16 h) spaces the steps; each later run sends the next step only
    second = run(campaigns, frame, ledger, out, now=NOW + timedelta(hours=17), only=["cart"])
    assert second.campaign("cart").sent == 1 and out["email"].received[-1].step == 2
    assert out["email"].received[-1].template_id == "d-cart-offer"
    code = out["email"].received[-1].data["coupon_code"]
    # +34 h is still the same local day as step 2: the promotional slot is used
    same_day = run(campaigns, frame, ledger, out, now=NOW + timedelta(hours=34), only=["cart"])
    assert same_day.campaign("cart").excluded["priority"] == 1
    run(campaigns, frame, ledger, out, now=NOW + timedelta(hours=41), only=["cart"])
    assert out["email"].received[-1].step == 3
    assert out["email"].received[-1].data["coupon_code"] == code  # one code per occurrence
    done = run(campaigns, frame, ledger, out, now=NOW + timedelta(hours=65), only=["cart"])
    assert done.campaign("cart").excluded["already_sent"] == 1
    assert [m.step for m in out["email"].received] == [1, 2, 3]


def test_step_two_waits_for_its_delay(ledger):
    campaigns, out = campaign_set(), senders()
    frame = {"audience_cart": audience(person("a", triggered_at=NOW - timedelta(hours=5)))}
    run(campaigns, frame, ledger, out, only=["cart"])
    report = run(campaigns, frame, ledger, out, now=NOW + timedelta(hours=17), only=["cart"])  # 22 h < 24 h
    assert report.campaign("cart").not_due == 1


def test_step_one_not_due_before_four_hours(ledger):
    frame = {"audience_cart": audience(person("a", triggered_at=NOW - timedelta(hours=3)))}
    report = run(campaign_set(), frame, ledger, senders(), only=["cart"])
    assert report.campaign("cart").not_due == 1 and ledger.rows().empty


def test_exit_conditions_are_checked_again_before_each_step(ledger):
    campaigns, out = campaign_set(), senders()
    trigger = NOW - timedelta(hours=30)
    run(campaigns, {"audience_cart": audience(person("a", triggered_at=trigger))}, ledger, out, only=["cart"])
    ordered = {"audience_cart": audience(person("a", triggered_at=trigger, ordered_since_trigger=True))}
    report = run(campaigns, ordered, ledger, out, now=NOW + timedelta(hours=17), only=["cart"])
    assert report.campaign("cart").excluded["exit_condition"] == 1
    new_checkout = {"audience_cart": audience(person("a", triggered_at=trigger, new_checkout=True))}
    report = run(campaigns, new_checkout, ledger, out, now=NOW + timedelta(hours=18), only=["cart"])
    assert report.campaign("cart").excluded["exit_condition"] == 1
    assert len(out["email"].received) == 1


# ---------------------------------------------------------------- caps and priority across campaigns


def test_frequency_cap_across_campaigns_and_runs(ledger):
    campaigns, out = campaign_set(), senders()
    run(campaigns, {"audience_thanks": audience(person("a"))}, ledger, out, only=["thanks"])
    report = run(campaigns, {"audience_win_back": audience(person("a"))}, ledger, out,
                 now=NOW + timedelta(hours=1), only=["win_back"])
    assert report.campaign("win_back").excluded["frequency_cap"] == 1
    later = run(campaigns, {"audience_win_back": audience(person("a"))}, ledger, out,
                now=NOW + timedelta(hours=17), only=["win_back"])
    assert later.campaign("win_back").sent == 1


def test_caps_within_one_run_count_earlier_campaigns(ledger):
    out = senders()
    frames = {"audience_thanks": audience(person("a")), "audience_win_back": audience(person("a"))}
    report = run(campaign_set(), frames, ledger, out)
    assert report.campaign("thanks").sent == 1
    assert report.campaign("win_back").excluded["frequency_cap"] == 1


def test_priority_order_decides_who_gets_the_days_promotional_slot(ledger):
    # price_drop (priority 20, SMS) runs before win_back (priority 30, email) whatever the file order
    out = senders()
    frames = {"audience_win_back": audience(person("a")), "audience_price_drop": audience(person("a"))}
    report = run(campaign_set(), frames, ledger, out)
    assert [c.campaign for c in report.campaigns][:2] == ["detractor", "thanks"]
    assert report.campaign("price_drop").sent == 1
    assert report.campaign("win_back").excluded["priority"] == 1
    assert out["email"].received == []
    swapped = campaign_set(win_back={"priority": 5})
    report = run(swapped, frames, Ledger(":memory:"), senders())
    assert report.campaign("win_back").sent == 1 and report.campaign("price_drop").excluded["priority"] == 1


def test_two_occurrences_of_one_customer_in_one_run_respect_the_cap(ledger):
    frame = {"audience_cart": audience(person("a", occurrence="k1"), person("a", occurrence="k2"))}
    report = run(campaign_set(), frame, ledger, senders(), only=["cart"])
    assert report.campaign("cart").sent == 1 and report.campaign("cart").excluded["frequency_cap"] == 1


# ---------------------------------------------------------------- quiet hours


def test_quiet_hours_defer_and_a_later_run_sends(ledger):
    campaigns, out = campaign_set(), senders()
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 23:00 in New York
    frame = {"audience_price_drop": audience(person("a"))}
    report = run(campaigns, frame, ledger, out, now=night, only=["price_drop"])
    assert report.campaign("price_drop").deferred == 1 and out["sms"].received == []
    row = ledger.rows().iloc[0]
    assert row["status"] == "deferred" and row["not_before"] == "2026-07-15T12:00:00.000000Z"  # 08:00 EDT
    early = run(campaigns, frame, ledger, out, now=night + timedelta(hours=8), only=["price_drop"])  # 07:00
    assert early.campaign("price_drop").deferred == 1 and out["sms"].received == []
    morning = run(campaigns, frame, ledger, out, now=night + timedelta(hours=9, minutes=5), only=["price_drop"])
    assert morning.campaign("price_drop").sent == 1 and len(out["sms"].received) == 1
    assert statuses(ledger) == {"a": "sent"}


def test_deferred_send_goes_out_even_after_its_row_left_the_audience(ledger):
    campaigns, out = campaign_set(), senders()
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)
    run(campaigns, {"audience_price_drop": audience(person("a"))}, ledger, out, now=night, only=["price_drop"])
    report = run(campaigns, {"audience_price_drop": audience(person("b"))}, ledger, out,
                 now=night + timedelta(hours=10), only=["price_drop"])
    assert report.campaign("price_drop").carried_over == 1
    assert sorted(m.customer_key for m in out["sms"].received) == ["a", "b"]
    from_snapshot = next(m for m in out["sms"].received if m.customer_key == "a")
    assert from_snapshot.body.startswith("Namea, Blue Mug")


def test_deferral_that_is_excluded_when_due_is_released_not_sent(ledger):
    campaigns, out = campaign_set(), senders()
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)
    run(campaigns, {"audience_price_drop": audience(person("a"))}, ledger, out, now=night, only=["price_drop"])
    stopped = {"audience_price_drop": audience(person("a", sms_reason="stop", email_ok=False))}
    report = run(campaigns, stopped, ledger, out, now=night + timedelta(hours=10), only=["price_drop"])
    assert report.campaign("price_drop").excluded["suppressed"] == 1
    assert out["sms"].received == []
    assert statuses(ledger) == {"a": "released"}


# ---------------------------------------------------------------- holdout


def test_holdout_is_recorded_stable_across_runs_and_nothing_is_sent(ledger):
    campaigns, out = campaign_set(win_back={"holdout_share": 0.3}), senders()
    rows = [person(f"c{i}") for i in range(1000)]
    report = run(campaigns, {"audience_win_back": audience(*rows)}, ledger, out, only=["win_back"])
    held = {k for k, s in statuses(ledger).items() if s == "held_out"}
    assert report.campaign("win_back").held_out == len(held)
    assert abs(len(held) / 1000 - 0.3) < 0.05
    assert not held & {m.customer_key for m in out["email"].received}
    # a new occurrence a week later: the same people are held out again
    later = [person(f"c{i}", occurrence="o2") for i in range(1000)]
    run(campaigns, {"audience_win_back": audience(*later)}, ledger, out, now=NOW + timedelta(days=7),
        only=["win_back"])
    rows = ledger.rows("win_back")
    assert set(rows[(rows.occurrence == "o2") & (rows.status == "held_out")].customer_key) == held
    assert rows.groupby(["customer_key", "occurrence"]).size().max() == 1  # one record per occurrence


# ---------------------------------------------------------------- crashes and in-doubt claims


def _crash(ledger, crash):
    campaigns = campaign_set()
    frame = {"audience_win_back": audience(person("a"), person("b"))}
    crashing = MemorySender("email", crash=crash)
    with pytest.raises(ProviderCrash):
        run(campaigns, frame, ledger, senders(email=crashing), only=["win_back"])
    assert set(statuses(ledger).values()) == {"claimed"}  # committed before the request
    return campaigns, frame, crashing


def test_claim_is_committed_before_the_provider_is_called(ledger, ledger_at):
    spy = MemorySender("email", ledger_path=ledger_at)
    run(campaign_set(), {"audience_win_back": audience(person("a"), person("b"))}, ledger, senders(email=spy),
        only=["win_back"])
    assert spy.statuses_at_send == ["claimed", "claimed"]


def test_crash_after_the_provider_received_and_lookup_finds_them_sends_nothing_again(ledger):
    campaigns, frame, crashed = _crash(ledger, "after_receive")
    rerun = MemorySender("email", lookup="truth")
    rerun.received = list(crashed.received)  # the same provider, which has the messages
    before = len(rerun.received)
    report = run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert len(rerun.received) == before  # nothing resent
    assert report.campaign("win_back").confirmed == 2
    assert set(statuses(ledger).values()) == {"sent"}


def test_crash_before_the_provider_received_and_lookup_says_not_found_sends_once(ledger):
    campaigns, frame, crashed = _crash(ledger, "before_receive")
    assert crashed.received == []
    rerun = MemorySender("email", lookup=False)
    report = run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(hours=1), only=["win_back"])
    assert report.campaign("win_back").released == 2 and report.campaign("win_back").sent == 2
    assert rerun.count("a") == 1 and rerun.count("b") == 1
    assert set(statuses(ledger).values()) == {"sent"}
    assert set(ledger.rows()["attempts"]) == {2}


def test_lookup_says_not_found_after_a_receive_resends_exactly_once(ledger):
    campaigns, frame, _ = _crash(ledger, "after_receive")
    rerun = MemorySender("email", lookup=False)
    run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(hours=1), only=["win_back"])
    third = MemorySender("email", lookup=False)
    run(campaigns, frame, ledger, senders(email=third), now=NOW + timedelta(hours=2), only=["win_back"])
    assert len(rerun.received) == 2 and third.received == []


def test_crash_and_lookup_unavailable_stays_in_doubt_and_is_not_resent(ledger):
    campaigns, frame, _ = _crash(ledger, "after_receive")
    rerun = MemorySender("email", lookup=None)
    report = run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert rerun.received == []
    assert report.campaign("win_back").in_doubt == 2
    assert report.campaign("win_back").excluded["already_sent"] == 2
    assert set(statuses(ledger).values()) == {"claimed"}
    assert len(ledger.in_doubt()) == 2


def test_lookup_that_raises_counts_as_unknown(ledger):
    campaigns, frame, _ = _crash(ledger, "after_receive")

    class Broken(MemorySender):
        def lookup(self, send_ids):
            raise ConnectionError("activity API down")

    rerun = Broken("email")
    report = run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert report.campaign("win_back").in_doubt == 2 and rerun.received == []


def test_claims_from_another_mode_are_not_settled_by_this_sender(ledger):
    campaigns, frame, _ = _crash(ledger, "after_receive")
    outbox = MemorySender("email", mode="outbox", lookup=False)
    report = run(campaigns, frame, ledger, senders(email=outbox), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert outbox.lookups == [] and outbox.received == [] and report.campaign("win_back").in_doubt == 2


def test_a_concurrent_runs_claim_is_not_sent_twice(ledger):
    campaigns = campaign_set()
    ledger.claim([{"send_id": send_id_for("win_back", 1, "a", "o1"), "campaign": "win_back", "step": 1,
                   "customer_key": "a", "occurrence": "o1", "channel": "email", "mode": "live",
                   "decided_at": NOW - timedelta(days=3)}], batch_id="other-run")  # outside every cap
    out = senders()
    # this run's view of the ledger predates the other claim: simulate by hiding it from campaign_records
    real = ledger.campaign_records
    ledger.campaign_records = lambda campaign: {}
    ledger.in_doubt = lambda campaigns=None: []
    report = run(campaigns, {"audience_win_back": audience(person("a"), person("b"))}, ledger, out,
                 only=["win_back"])
    ledger.campaign_records = real
    assert [m.customer_key for m in out["email"].received] == ["b"]
    assert report.campaign("win_back").excluded["already_sent"] == 1


# ---------------------------------------------------------------- batches, dead letters, dry run


def test_batches_of_at_most_one_thousand(ledger):
    out = senders(email=MemorySender("email", mode="outbox"))
    rows = [person(f"c{i}") for i in range(2500)]
    report = run(campaign_set(), {"audience_win_back": audience(*rows)}, ledger, out, only=["win_back"])
    assert out["email"].batches == [1000, 1000, 500]
    assert report.campaign("win_back").outbox == 2500
    assert ledger.rows()["batch_id"].nunique() == 3


def test_a_crash_in_the_first_batch_leaves_the_later_ones_unclaimed_and_the_next_run_sends_each_once(ledger):
    """Only the batch in flight is in doubt after a crash: the batches behind it were never
    claimed, and the next run sends every recipient once, in batches again."""
    frame = {"audience_win_back": audience(*(person(f"c{i}") for i in range(2500)))}
    with pytest.raises(ProviderCrash):
        run(campaign_set(), frame, ledger, senders(email=MemorySender("email", crash="before_receive")),
            only=["win_back"])
    assert list(statuses(ledger).values()) == ["claimed"] * 1000
    rerun = MemorySender("email", lookup=False)  # the provider never got the first batch
    report = run(campaign_set(), frame, ledger, senders(email=rerun), now=NOW + timedelta(hours=1),
                 only=["win_back"]).campaign("win_back")
    assert (report.released, report.sent, report.in_doubt) == (1000, 2500, 0)
    assert sorted(m.customer_key for m in rerun.received) == sorted(f"c{i}" for i in range(2500))
    assert rerun.batches == [1000, 1000, 500]


def test_provider_rejection_goes_to_dead_letters_and_can_be_replayed(ledger):
    campaigns = campaign_set()
    frame = {"audience_win_back": audience(person("a"), person("b"))}
    rejecting = MemorySender("email", reject={"a": ("dead_letter", 400, "invalid template")})
    report = run(campaigns, frame, ledger, senders(email=rejecting), only=["win_back"])
    assert report.campaign("win_back").dead_letter == 1 and report.campaign("win_back").sent == 1
    letters = ledger.dead_letters()
    assert letters["customer_key"].tolist() == ["a"] and letters["http_status"].tolist() == [400]
    assert json.loads(letters["request_body"][0])["send_id"] == send_id_for("win_back", 1, "a", "o1")
    # not retried by itself
    fixed = MemorySender("email")
    run(campaigns, frame, ledger, senders(email=fixed), now=NOW + timedelta(hours=17), only=["win_back"])
    assert fixed.received == []
    # replay by command: the next run sends it once, after the gate again
    assert ledger.release_dead_letters(NOW + timedelta(hours=18), campaign="win_back") == 1
    assert ledger.dead_letters().empty and len(ledger.dead_letters(pending_only=False)) == 1
    run(campaigns, frame, ledger, senders(email=fixed), now=NOW + timedelta(hours=19), only=["win_back"])
    run(campaigns, frame, ledger, senders(email=fixed), now=NOW + timedelta(hours=40), only=["win_back"])
    assert [m.customer_key for m in fixed.received] == ["a"]
    assert statuses(ledger) == {"a": "sent", "b": "sent"}


def test_sms_missing_payload_field_is_a_dead_letter_not_a_crash(ledger):
    out = senders()
    frame = {"audience_price_drop": audience(person("a", payload={"products": []}), person("b"))}
    report = run(campaign_set(), frame, ledger, out, only=["price_drop"])
    assert report.campaign("price_drop").dead_letter == 1 and report.campaign("price_drop").sent == 1
    reason = ledger.dead_letters()["reason"][0]
    assert "price_drop" in reason and hashed("a") in reason and "product_title" in reason
    assert "a@example.com" not in reason


def test_dry_run_writes_nothing_and_shows_masked_samples(ledger, tmp_path):
    out = senders()
    frames = {"audience_win_back": audience(person("a"), person("b", email_ok=False)),
              "audience_thanks": audience(person("a"))}
    report = run(campaign_set(), frames, ledger, out, dry_run=True)
    assert ledger.rows().empty and ledger.coupons().empty
    assert out["email"].received == [] and out["sms"].received == []
    assert report.campaign("thanks").would_send == 1
    assert report.campaign("win_back").excluded == {"no_consent": 1, "frequency_cap": 1}
    text = report.table()
    assert "DRY RUN" in text and "would_send" in text and hashed("a") in text
    # the samples show the content's shape and product facts; the first name only as a hash
    assert "@example.com" not in text and "Namea" not in text and masked("Namea") in text and "Blue Mug" in text


def test_dry_run_does_not_settle_in_doubt_claims(ledger):
    campaigns, frame, _ = _crash(ledger, "after_receive")
    rerun = MemorySender("email", lookup=True)
    report = run(campaigns, frame, ledger, senders(email=rerun), dry_run=True, only=["win_back"])
    assert rerun.lookups == [] and report.campaign("win_back").in_doubt == 2
    assert set(statuses(ledger).values()) == {"claimed"}


# ---------------------------------------------------------------- internal alerts, errors, export


def test_internal_alert_goes_to_each_staff_address_once(ledger):
    out = senders()
    frame = {"audience_detractor": audience(person("a", email_ok=False, email_reason="unsubscribe"))}
    run(campaign_set(), frame, ledger, out, only=["detractor"])
    run(campaign_set(), frame, ledger, out, now=NOW + timedelta(hours=1), only=["detractor"])
    assert sorted(m.to for m in out["email"].received) == ["care@store.example", "lead@store.example"]
    assert "store.example" not in " ".join(ledger.rows()["occurrence"])


def test_audience_missing_columns_is_a_clear_error_and_other_campaigns_go_on(ledger):
    frames = {"audience_cart": audience(person("a")).drop(columns=["exit_new_checkout"]),
              "audience_thanks": audience(person("b"))}
    report = run(campaign_set(), frames, ledger, senders())
    assert "exit_new_checkout" in report.errors["cart"] and "audience_cart" in report.errors["cart"]
    assert report.campaign("thanks").sent == 1
    assert report.campaign("win_back").skipped


def test_unknown_campaign_in_only_is_refused(ledger):
    with pytest.raises(ActivationError, match="nope"):
        run(campaign_set(), {}, ledger, senders(), only=["nope"])


def test_missing_sender_is_a_clear_error(ledger):
    report = run(campaign_set(), {"audience_price_drop": audience(person("a"))}, ledger,
                 {"email": MemorySender("email")}, only=["price_drop"])
    assert "sender for sms" in report.errors["price_drop"]


def test_coupon_code_is_deterministic_and_follows_the_secret(ledger, monkeypatch):
    from retention.activation.coupons import coupon_code
    policy = campaign_set().get("win_back").discount
    assert coupon_code(policy, "win_back", "a", "o1") == coupon_code(policy, "win_back", "a", "o1")
    assert coupon_code(policy, "win_back", "a", "o1") != coupon_code(policy, "win_back", "a", "o2")
    default = coupon_code(policy, "win_back", "a", "o1")
    monkeypatch.setenv("RETENTION_COUPON_SECRET", "store-secret")
    assert coupon_code(policy, "win_back", "a", "o1") != default


def test_export_day_gives_the_days_rows_without_addresses(ledger):
    run(campaign_set(), {"audience_win_back": audience(person("a"))}, ledger, senders(), only=["win_back"])
    frame = ledger.export_day(NOW.date())
    assert frame["status"].tolist() == ["sent"] and str(frame["sent_at"].dtype).startswith("datetime64")
    assert not frame.astype(str).apply(lambda col: col.str.contains("@")).any().any()
    assert ledger.export_day((NOW + timedelta(days=1)).date()).empty


def test_in_doubt_claims_released_by_hand_are_sent_by_the_next_run(ledger):
    campaigns, frame, _ = _crash(ledger, "before_receive")
    unknown = MemorySender("email", lookup=None)
    run(campaigns, frame, ledger, senders(email=unknown), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert unknown.received == []
    ids = [r.send_id for r in ledger.in_doubt()]
    assert ledger.release_in_doubt(ids, "not in the provider's dashboard") == 2
    run(campaigns, frame, ledger, senders(email=unknown), now=NOW + timedelta(minutes=20), only=["win_back"])
    assert sorted(m.customer_key for m in unknown.received) == ["a", "b"]


def test_integer_keys_and_naive_timestamps_from_the_warehouse(ledger):
    frame = audience(person("1"), person("2", time_zone=None))
    frame["customer_key"] = [1, 2]
    frame["triggered_at"] = frame["triggered_at"].dt.tz_localize(None)
    out = senders()
    report = run(campaign_set(), {"audience_win_back": frame}, ledger, out, only=["win_back"])
    assert report.campaign("win_back").sent == 2
    assert set(ledger.rows()["customer_key"]) == {"1", "2"}


class Interrupted(Exception):
    """Shaped like the senders' interruption: results so far, in doubt, certainly not sent."""

    def __init__(self, reason, results, in_doubt, not_sent):
        super().__init__(reason)
        self.reason, self.results, self.in_doubt, self.not_sent = reason, results, in_doubt, not_sent


class InterruptingSender(MemorySender):
    """Gets the first message through, loses the answer for the second, never sends the rest."""

    def send(self, messages):
        first, second, *rest = messages
        self.received += [first, second]
        raise Interrupted("connection reset", [SendResult(first.send_id, "sent", "pm-1")], [second.send_id],
                          [m.send_id for m in rest])


def test_interrupted_sender_keeps_what_it_did_and_the_next_run_finishes_once(ledger):
    campaigns = campaign_set(cart={"priority": 40})  # after win_back
    frames = {"audience_win_back": audience(person("a"), person("b"), person("c")),
              "audience_cart": audience(person("d"))}
    interrupting = InterruptingSender("email")
    report = run(campaigns, frames, ledger, senders(email=interrupting))
    win_back = report.campaign("win_back")
    assert (win_back.sent, win_back.in_doubt, win_back.postponed) == (1, 1, 1)
    assert "interrupted" in win_back.error
    assert report.campaign("cart").postponed == 1  # the channel is down for the rest of the run
    assert statuses(ledger) == {"a": "sent", "b": "claimed", "c": "released"}
    # next run: the provider has b (lookup finds it), c and d go out once
    provider = MemorySender("email", lookup="truth")
    provider.received = list(interrupting.received)
    later = run(campaigns, frames, ledger, senders(email=provider), now=NOW + timedelta(days=1))
    assert later.campaign("win_back").confirmed == 1
    assert sorted(m.customer_key for m in provider.received[2:]) == ["c", "d"]
    assert set(statuses(ledger).values()) == {"sent"}


def test_not_found_right_after_a_live_claim_is_no_proof_yet(ledger):
    campaigns, frame, _ = _crash(ledger, "before_receive")
    soon = MemorySender("email", lookup=False)
    report = run(campaigns, frame, ledger, senders(email=soon), now=NOW + timedelta(minutes=10), only=["win_back"])
    assert soon.received == [] and report.campaign("win_back").in_doubt == 2
    later = MemorySender("email", lookup=False)
    run(campaigns, frame, ledger, senders(email=later), now=NOW + timedelta(hours=1), only=["win_back"])
    assert sorted(m.customer_key for m in later.received) == ["a", "b"]


def test_outbox_not_found_is_proof_at_once(ledger):
    campaigns = campaign_set()
    frame = {"audience_win_back": audience(person("a"))}
    with pytest.raises(ProviderCrash):
        run(campaigns, frame, ledger, senders(email=MemorySender("email", "outbox", crash="before_receive")),
            only=["win_back"])
    rerun = MemorySender("email", "outbox", lookup="truth")
    run(campaigns, frame, ledger, senders(email=rerun), now=NOW + timedelta(minutes=1), only=["win_back"])
    assert [m.customer_key for m in rerun.received] == ["a"] and statuses(ledger) == {"a": "outbox"}


def test_dry_run_samples_mask_contact_fields_and_free_text_in_the_payload(ledger):
    row = person("a", payload={"customer_email": "a@example.com", "nested": {"customer_phone": "+1202"},
                               "comment": "slow delivery"})
    report = run(campaign_set(), {"audience_detractor": audience(row)}, ledger, senders(), dry_run=True,
                 only=["detractor"])
    text = report.table()
    assert "a@example.com" not in text and "+1202" not in text
    assert "slow delivery" not in text and masked("slow delivery") in text  # a customer's own words


def test_sms_greets_without_a_first_name_and_prints_numeric_prices_as_money(ledger):
    campaigns = campaign_set(price_drop={"sms_body": "Hi {first_name}! {product_title} is now {product_price}."})
    row = person("a", payload={"products": [{"product_id": 7, "title": "Blue Mug", "price": 12}]})
    row["first_name"] = None
    out = senders()
    run(campaigns, {"audience_price_drop": audience(row)}, ledger, out, only=["price_drop"])
    assert out["sms"].received[0].body == "Hi there! Blue Mug is now 12.00."


def test_a_paused_provider_account_postpones_its_channel_and_a_later_run_sends_once(ledger):
    campaigns, out = campaign_set(), senders()
    frames = {"audience_win_back": audience(person("a"), person("b")), "audience_price_drop": audience(person("c"))}
    report = run(campaigns, frames, ledger, out, paused={"email": "sendgrid account compliance_suspend"})
    assert report.campaign("win_back").postponed == 2 and report.campaign("win_back").sent == 0
    assert out["email"].received == []
    assert report.campaign("price_drop").sent == 1  # SMS is another provider's account
    assert statuses(ledger, "win_back") == {}  # nothing claimed: the next run decides them again
    later = run(campaigns, frames, ledger, out, now=NOW + timedelta(hours=1))
    assert later.campaign("win_back").sent == 2
    assert len(out["email"].received) == 2
