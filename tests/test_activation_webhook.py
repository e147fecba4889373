"""The push / webhook channel: signed batches through the engine, the gate and the ledger, over real HTTP."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta

import pytest
import requests

from assets.resources import PushWebhookResource, SendGridResource, TwilioResource, senders
from retention.activation.campaigns import SHIPPED_FILE, CampaignConfigError, parse_campaigns
from retention.activation.engine import activate
from retention.activation.ledger import Ledger, send_id_for
from retention.activation.retry import RetryPolicy
from retention.activation.senders import OutboxSender, SenderSettings, WebhookSender, build_senders
from retention.activation.webhook import (
    IDEMPOTENCY_HEADER,
    SECRET_ENV,
    SIGNATURE_HEADER,
    SignatureError,
    WebhookEndpoint,
    sign,
    verify_signature,
)
from tests.activation_fixtures import NOW, PUSH_CONFIG, audience, person, push_campaign_set, pushed
from tests.fakes.providers import Drop, Fail, Hang
from tests.fakes.webhook import NO_DEVICE, FakeWebhookReceiver

SECRET = "whsec-test"


class Sleeps(list):
    """An injected sleep that only remembers how long it was asked to wait."""

    def __call__(self, seconds):
        self.append(seconds)


def sender(receiver, secret=SECRET, batch_size=2, timeout=2.0, sleeps=None):
    return WebhookSender(receiver.url, secret, batch_size=batch_size, timeout=timeout,
                         retry=RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps()))


def run(ledger, push, frame, tmp_path, only=("push_cart",), at=NOW, campaign_set=None, **kwargs):
    senders = {"webhook": push, "email": OutboxSender(tmp_path / "outbox", "email")}
    audiences = {"audience_push_cart": frame, "audience_push_order": frame}
    return activate(campaign_set or push_campaign_set(), audiences, ledger, senders, at, only=list(only), **kwargs)


def statuses(ledger) -> dict[str, str]:
    return dict(zip(ledger.rows()["customer_key"], ledger.rows()["status"], strict=True))


# ---------------------------------------------------------------- the signature


def test_a_signature_verifies_and_a_tampered_body_stale_timestamp_or_other_secret_is_refused():
    body, now = b'{"recipients":[]}', 1_784_044_800
    header = sign(SECRET, body, now)
    assert re.fullmatch(r"t=1784044800,v1=[0-9a-f]{64}", header)
    assert verify_signature(SECRET, body, header, now + 299) == now  # inside the 300 s window
    refusals = {
        "tampered body": (SECRET, body.replace(b"[]", b"[1]"), header, now, "does not match"),
        "stale": (SECRET, body, header, now + 301, "301 s from now"),
        "from the future": (SECRET, body, header, now - 301, "301 s from now"),
        "other secret": ("another", body, header, now, "does not match"),
        "no header": (SECRET, body, None, now, "no X-Retention-Signature"),
        "no timestamp": (SECRET, body, header.split(",")[1], now, "no timestamp"),
        "bad timestamp": (SECRET, body, "t=soon," + header.split(",")[1], now, "not a whole number"),
    }
    for secret, signed, given, at, reason in refusals.values():
        with pytest.raises(SignatureError, match=reason):
            verify_signature(secret, signed, given, at)
    # during a rotation the sender may sign with both secrets: either verifies
    rotated = f"{sign('old', body, now)},v1={sign(SECRET, body, now).split('v1=')[1]}"
    assert verify_signature(SECRET, body, rotated, now) == now


def test_the_receiver_refuses_a_tampered_request_over_http():
    with FakeWebhookReceiver(SECRET) as receiver:
        body = json.dumps({"recipients": [{"send_id": "s1", "customer_key": "c1", "data": {}}]}).encode()
        header = sign(SECRET, body, int(time.time()))
        tampered = requests.post(receiver.url, data=body.replace(b"c1", b"c2"), headers={SIGNATURE_HEADER: header},
                                 timeout=5)
        stale = requests.post(receiver.url, data=body, timeout=5,
                              headers={SIGNATURE_HEADER: sign(SECRET, body, int(time.time()) - 3600)})
        good = requests.post(receiver.url, data=body, headers={SIGNATURE_HEADER: header}, timeout=5)
    assert (tampered.status_code, stale.status_code, good.status_code) == (401, 401, 200)
    assert "does not match" in receiver.refused[0] and "from now" in receiver.refused[1]
    assert [b["body"]["recipients"][0]["customer_key"] for b in receiver.batches] == ["c1"]


# ---------------------------------------------------------------- sending through the engine


def test_the_engine_sends_signed_batches_split_at_the_batch_size_and_a_rerun_sends_nothing(tmp_path):
    frame = pushed("c1", "c2", "c3", "c4", "c5")
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(tmp_path / "ledger.sqlite") as ledger:
        report = run(ledger, sender(receiver), frame, tmp_path)
        again = run(ledger, sender(receiver), frame, tmp_path, at=NOW + timedelta(hours=1))
        rows = ledger.rows()
    assert receiver.refused == []  # every request verified
    assert [len(b["body"]["recipients"]) for b in receiver.batches] == [2, 2, 1]
    first = receiver.batches[0]
    assert {k: first["body"][k] for k in ("campaign", "step", "variant")} == {
        "campaign": "push_cart", "step": 1, "variant": None}
    assert first["headers"][IDEMPOTENCY_HEADER] == first["body"]["batch_id"]
    recipient = first["body"]["recipients"][0]
    assert recipient["send_id"] == send_id_for("push_cart", 1, "c1", "o1")  # the ledger's key
    assert recipient["data"]["products"][0]["title"] == "Blue Mug" and recipient["data"]["step"] == 1
    raw = b"".join(b["raw"] for b in receiver.batches).decode()
    assert "@example.com" not in raw and "+1202" not in raw  # no address unless the campaign asks
    assert sorted(receiver.delivered()) == ["c1", "c2", "c3", "c4", "c5"]
    assert report.campaigns[0].sent == 5 and set(rows["status"]) == {"sent"} and set(rows["channel"]) == {"webhook"}
    assert again.campaigns[0].sent == 0 and len(receiver.batches) == 3


def test_webhook_include_adds_only_the_fields_the_campaign_asks_for(tmp_path):
    asking = push_campaign_set(push_cart={"webhook_include": ("email",)})
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        run(ledger, sender(receiver), pushed("c1"), tmp_path, campaign_set=asking)
    data = receiver.recipients()[0]["data"]
    assert data["email"] == "c1@example.com" and "phone" not in data


@pytest.mark.parametrize("failure, waits", [(Fail(429, {"Retry-After": "3"}), [3.0]), (Fail(503), None)])
def test_a_429_or_5xx_is_retried_once_honouring_retry_after(tmp_path, failure, waits):
    sleeps = Sleeps()
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        receiver.script(failure)
        report = run(ledger, sender(receiver, sleeps=sleeps), pushed("c1", "c2"), tmp_path)
        assert set(statuses(ledger).values()) == {"sent"}
    assert receiver.attempts == 2 and len(receiver.batches) == 1 and report.campaigns[0].sent == 2
    assert len(sleeps) == 1 and (waits is None or sleeps == waits)


def test_a_recipient_the_receiver_rejects_is_a_dead_letter_and_its_batch_neighbours_are_sent(tmp_path):
    with FakeWebhookReceiver(SECRET, no_device={"c2"}) as receiver, Ledger(":memory:") as ledger:
        report = run(ledger, sender(receiver), pushed("c1", "c2", "c3"), tmp_path)
        got = statuses(ledger)
        letters = ledger.dead_letters()
    assert got == {"c1": "sent", "c2": "dead_letter", "c3": "sent"}
    assert report.campaigns[0].sent == 2 and report.campaigns[0].dead_letter == 1
    assert len(letters) == 1 and NO_DEVICE in letters.iloc[0]["reason"]
    assert json.loads(letters.iloc[0]["request_body"])["batch_id"]  # the batch, kept for replay


def test_a_400_dead_letters_its_batch_only_and_the_next_batch_is_sent(tmp_path):
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        receiver.script(Fail(400, body={"error": "unknown campaign"}))
        report = run(ledger, sender(receiver), pushed("c1", "c2", "c3"), tmp_path)
        got = statuses(ledger)
    assert got == {"c1": "dead_letter", "c2": "dead_letter", "c3": "sent"}
    assert report.campaigns[0].dead_letter == 2 and receiver.attempts == 2  # a 400 is not retried


def test_a_refused_signature_stops_the_channel_without_dead_letters(tmp_path):
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        report = run(ledger, sender(receiver, secret="wrong"), pushed("c1", "c2", "c3"), tmp_path)
        rows = ledger.rows()
    assert receiver.batches == [] and receiver.refused == ["signature does not match the body"]
    assert "refused the signature or the URL: HTTP 401" in report.campaigns[0].error
    assert set(rows["status"]) == {"released"} and report.campaigns[0].dead_letter == 0


@pytest.mark.parametrize("status", [404, 308])
def test_a_wrong_url_stops_the_channel_and_is_not_followed(tmp_path, status):
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        receiver.script(Fail(status, {"Location": receiver.url + "/elsewhere"}))
        report = run(ledger, sender(receiver), pushed("c1", "c2", "c3"), tmp_path)
        rows = ledger.rows()
    assert receiver.attempts == 1 and receiver.batches == []  # the redirect was not followed
    assert f"HTTP {status}" in report.campaigns[0].error and set(rows["status"]) == {"released"}


@pytest.mark.parametrize("failure", [Hang(seconds=3, accept=True), Drop(accept=False)])
def test_an_unanswered_batch_waits_for_the_operator_and_nothing_is_sent_twice(tmp_path, failure):
    frame = pushed("c1", "c2", "c3", "c4")
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        receiver.script(failure)
        first = run(ledger, sender(receiver, timeout=0.5), frame, tmp_path)
        assert first.campaigns[0].in_doubt == 2 and first.campaigns[0].postponed == 2
        rerun = run(ledger, sender(receiver), frame, tmp_path, at=NOW + timedelta(hours=1))
        assert rerun.campaigns[0].in_doubt == 2 and rerun.campaigns[0].sent == 2  # no lookup: still in doubt
        # the operator asks the receiver, and releases what it never got
        doubts = ledger.in_doubt()
        unsent = [r.send_id for r in doubts if r.customer_key not in receiver.delivered()]
        ledger.release_in_doubt(unsent, "not at the receiver")
        last = run(ledger, sender(receiver), frame, tmp_path, at=NOW + timedelta(hours=2))
        got = statuses(ledger)
    delivered = receiver.delivered()
    assert sorted(delivered) == ["c1", "c2", "c3", "c4"]  # each exactly once
    assert len(unsent) == (0 if failure.accept else 2) and last.campaigns[0].sent == len(unsent)
    assert [s for s in got.values() if s != "sent"] == (["claimed", "claimed"] if failure.accept else [])


# ---------------------------------------------------------------- the gate


def test_the_gate_holds_push_for_consent_quiet_hours_holdout_and_caps(tmp_path):
    frame = audience(
        {**person("yes"), "push_opt_in": True},
        {**person("no"), "push_opt_in": False},
        {**person("unknown"), "push_opt_in": None},
        {**person("night", time_zone="Asia/Tokyo"), "push_opt_in": True},  # 01:00 there
    )
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        order = run(ledger, sender(receiver), frame, tmp_path, only=("push_order",))
        cart = run(ledger, sender(receiver), frame, tmp_path, only=("push_cart",))
        rows = ledger.rows()
    by_key = {(r.campaign, r.customer_key): (r.status, r.channel) for r in rows.itertuples()}
    # not opted in to push: the order update goes by email, its next channel
    assert by_key[("push_order", "no")] == ("outbox", "email")
    assert by_key[("push_order", "unknown")] == ("outbox", "email")
    assert by_key[("push_order", "yes")] == ("sent", "webhook")
    assert by_key[("push_order", "night")][0] == "deferred"  # quiet hours in Tokyo
    assert order.campaigns[0].deferred == 1
    # the promotional push: no consent without the opt-in; the cap (1 per 16 h) took "yes"
    assert cart.campaigns[0].excluded["no_consent"] == 2
    assert cart.campaigns[0].excluded["frequency_cap"] == 1 and cart.campaigns[0].deferred == 1
    assert receiver.delivered() == ["yes"]


def test_a_push_holdout_is_recorded_and_not_sent(tmp_path):
    keys = [f"c{i}" for i in range(12)]
    held = push_campaign_set(push_cart={"holdout_share": 0.5})
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        report = run(ledger, sender(receiver, batch_size=100), pushed(*keys), tmp_path, campaign_set=held)
        got = statuses(ledger)
    held_out = {k for k, s in got.items() if s == "held_out"}
    assert 0 < report.campaigns[0].held_out == len(held_out) < len(keys)
    assert sorted(receiver.delivered()) == sorted(set(keys) - held_out)


def test_an_audience_without_push_opt_in_stops_the_campaign_with_a_clear_error(tmp_path):
    frame = audience(person("c1"))
    with FakeWebhookReceiver(SECRET) as receiver, Ledger(":memory:") as ledger:
        report = run(ledger, sender(receiver), frame, tmp_path)
    assert "lacks column(s) push_opt_in" in report.campaigns[0].error and receiver.attempts == 0


# ---------------------------------------------------------------- outbox, settings, privacy


def test_without_an_endpoint_the_bodies_go_to_the_outbox_and_count_as_sent(tmp_path):
    built = build_senders(tmp_path / "outbox", SenderSettings.from_mapping({}), WebhookEndpoint(batch_size=2))
    frame = pushed("c1", "c2", "c3")
    with Ledger(":memory:") as ledger:
        first = activate(push_campaign_set(), {"audience_push_cart": frame}, ledger, built, NOW, only=["push_cart"])
        again = activate(push_campaign_set(), {"audience_push_cart": frame}, ledger, built, NOW + timedelta(hours=1),
                         only=["push_cart"])
        ids = set(ledger.rows()["send_id"])
    files = sorted((tmp_path / "outbox" / "webhook").glob("*.json"))
    bodies = [json.loads(f.read_text()) for f in files]
    assert first.campaigns[0].outbox == 3 and again.campaigns[0].outbox == 0
    assert sorted(len(b["recipients"]) for b in bodies) == [1, 2]
    assert [f.stem for f in files] == sorted(b["batch_id"] for b in bodies)
    assert built["webhook"].lookup(sorted(ids)) == dict.fromkeys(sorted(ids), True)


def test_an_endpoint_is_live_only_with_a_secret(tmp_path, caplog):
    endpoint = WebhookEndpoint(url="https://push.example/hook", batch_size=5, timeout_seconds=3)
    live = build_senders(tmp_path, SenderSettings.from_mapping({"RETENTION_WEBHOOK_SECRET": SECRET}), endpoint)
    assert isinstance(live["webhook"], WebhookSender) and live["webhook"].requests.batch_size == 5
    assert SECRET not in repr(SenderSettings.from_mapping({"RETENTION_WEBHOOK_SECRET": SECRET}))
    unsigned = build_senders(tmp_path, SenderSettings.from_mapping({}), endpoint)
    assert "webhook" not in unsigned and "RETENTION_WEBHOOK_SECRET is not" in caplog.text
    with Ledger(":memory:") as ledger:
        report = activate(push_campaign_set(), {"audience_push_cart": pushed("c1")}, ledger, unsigned, NOW,
                          only=["push_cart"])
    assert report.campaigns[0].error == "campaign push_cart needs a sender for webhook"


def test_no_email_phone_or_name_reaches_the_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    asking = push_campaign_set(push_cart={"webhook_include": ("email", "phone")})
    frame = pushed("c1", "c2", "c3")
    with FakeWebhookReceiver(SECRET, no_device={"c2"}) as receiver, Ledger(":memory:") as ledger:
        receiver.script(Fail(429, {"Retry-After": "0"}), Fail(400))
        run(ledger, sender(receiver), frame, tmp_path, campaign_set=asking)
        dry = run(ledger, sender(receiver), pushed("c9"), tmp_path, campaign_set=asking, dry_run=True)
    assert receiver.recipients() and receiver.recipients()[0]["data"]["email"] == "c3@example.com"
    assert caplog.text and dry.campaigns[0].would_send == 1  # the runs did log and render
    shown = caplog.text + dry.table(samples=True)
    for personal in ("@example.com", "+12025550100", "Namec", SECRET):
        assert personal not in shown


def test_the_dagster_resource_hands_the_secret_from_the_environment_to_the_sender(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with FakeWebhookReceiver(SECRET) as receiver:
        endpoint = WebhookEndpoint(url=receiver.url, batch_size=10)
        built = senders(tmp_path, SendGridResource(), TwilioResource(), PushWebhookResource(), endpoint)
        with Ledger(":memory:") as ledger:
            report = activate(push_campaign_set(), {"audience_push_cart": pushed("c1", "c2")}, ledger, built, NOW,
                              only=["push_cart"])
    assert isinstance(built["webhook"], WebhookSender) and built["email"].mode == "outbox"
    assert report.campaigns[0].sent == 2 and receiver.refused == [] and len(receiver.batches) == 1


def test_campaign_file_rejects_a_misconfigured_webhook():
    cases = {
        "only a campaign with the webhook channel": PUSH_CONFIG.replace(
            "channels: [webhook, email]\n", "channels: [email]\n    webhook_include: [email]\n"),
        "'first_name' is not one of email, phone": PUSH_CONFIG.replace(
            "channels: [webhook]\n", "channels: [webhook]\n    webhook_include: [first_name]\n"),
        "webhook.url": PUSH_CONFIG.replace("http://127.0.0.1:9/unused", "ftp://x"),
        "webhook.batch_size": PUSH_CONFIG.replace("batch_size: 2", "batch_size: 5000"),
    }
    for reason, text in cases.items():
        with pytest.raises(CampaignConfigError, match=re.escape(reason)):
            parse_campaigns(text, source="bad.yml")


def test_the_shipped_commented_push_campaign_is_valid_once_uncommented():
    text = SHIPPED_FILE.read_text()
    start = text.index("  # push_back_in_stock:")
    example = "\n".join(line.replace("  # ", "  ", 1) for line in text[start:].splitlines())
    parsed = parse_campaigns(text[:start] + example, source="uncommented.yml")
    push = parsed.get("push_back_in_stock")
    assert push.channels == ("webhook", "email") and push.webhook_include == ()
    assert parsed.settings.quiet_hours["webhook"].start.hour == 21
