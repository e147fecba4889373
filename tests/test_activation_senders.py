"""Senders with the official clients against local stand-ins of SendGrid and Twilio."""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from retention.activation.messages import OutgoingMessage
from retention.activation.retry import RetryPolicy, provider_wait
from retention.activation.senders import (
    EmailRequests,
    OutboxSender,
    SenderSettings,
    SendGridSender,
    SendInterrupted,
    SmsRequests,
    TwilioSender,
    build_senders,
)
from tests.fakes.providers import STOP_NUMBER, Drop, Fail, Hang

FROM = "shop@example.com"
SMS_FROM = "+15005550006"


class Sleeps(list):
    """An injected sleep that only remembers how long it was asked to wait."""

    def __call__(self, seconds):
        self.append(seconds)


def emails(n, template="d-winback", asm=42, categories=("winback",), prefix="e"):
    return [OutgoingMessage(send_id=f"{prefix}{i:05d}", campaign="winback", step=2, customer_key=f"cust-{i}",
                            channel="email", to=f"person{i}@example.com", template_id=template, body=None,
                            data={"first_name": f"Name{i}", "products": [{"title": "Mug", "price": "12.00"}]},
                            categories=categories, asm_group_id=asm) for i in range(n)]


def texts(n, prefix="t"):
    return [OutgoingMessage(send_id=f"{prefix}{i:05d}", campaign="abandoned_cart", step=1, customer_key=f"cust-{i}",
                            channel="sms", to=f"+1555{i:07d}", template_id=None, body=f"Your cart is waiting {i}",
                            data={}) for i in range(n)]


def sendgrid(server, sleeps=None, **kwargs):
    retry = RetryPolicy(max_attempts=kwargs.pop("max_attempts", 5), sleep=sleeps if sleeps is not None else Sleeps())
    return SendGridSender("SG.test-key", FROM, host=server.url, retry=retry, **kwargs)


def twilio(server, sleeps=None, **kwargs):
    retry = RetryPolicy(max_attempts=kwargs.pop("max_attempts", 5), sleep=sleeps if sleeps is not None else Sleeps())
    return TwilioSender(server.account_sid, server.auth_token, kwargs.pop("from_number", SMS_FROM),
                        base_url=server.url, retry=retry, **kwargs)


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# ---------------------------------------------------------------- SendGrid

def test_sendgrid_batches_1000_personalizations_per_request(fake_sendgrid):
    messages = emails(2500)
    results = sendgrid(fake_sendgrid).send(messages)

    assert [len(r["body"]["personalizations"]) for r in fake_sendgrid.requests] == [1000, 1000, 500]
    assert Counter(fake_sendgrid.send_ids()) == Counter(m.send_id for m in messages)  # each exactly once
    assert [r.send_id for r in results] == [m.send_id for m in messages]
    assert {r.status for r in results} == {"sent"}
    first = fake_sendgrid.requests[0]
    assert results[0].provider_message_id == f"{first['message_id']}#0"
    assert results[999].provider_message_id == f"{first['message_id']}#999"
    assert results[1000].provider_message_id == f"{fake_sendgrid.requests[1]['message_id']}#0"


def test_sendgrid_body_uses_dynamic_templates_groups_and_ids_only_in_custom_args(fake_sendgrid):
    messages = emails(3) + emails(2, template="d-birthday", asm=7, categories=("birthday", "lifecycle"), prefix="b")
    sendgrid(fake_sendgrid).send(messages)

    winback, birthday = (r["body"] for r in fake_sendgrid.requests)
    assert winback["template_id"] == "d-winback" and winback["asm"] == {"group_id": 42}
    assert winback["categories"] == ["winback"] and winback["from"] == {"email": FROM}
    assert birthday["template_id"] == "d-birthday" and birthday["asm"] == {"group_id": 7}
    assert birthday["categories"] == ["birthday", "lifecycle"]
    assert "mail_settings" not in winback
    for message, p in zip(messages, winback["personalizations"] + birthday["personalizations"]):
        assert p["to"] == [{"email": message.to}]
        assert p["dynamic_template_data"] == message.data
        assert p["custom_args"] == {"campaign": message.campaign, "step": "2", "send_id": message.send_id}
        personal = {message.to, message.customer_key, message.data["first_name"]}
        assert not personal & set(p["custom_args"].values())


def test_sendgrid_retries_429_honouring_retry_after_then_500_without_duplicates(fake_sendgrid):
    sleeps = Sleeps()
    fake_sendgrid.script(Fail(429, {"Retry-After": "7"}), Fail(500))
    messages = emails(1500)
    results = sendgrid(fake_sendgrid, sleeps, max_attempts=4).send(messages)

    assert fake_sendgrid.attempts == 4                     # 429, 500, then two accepted requests
    assert sleeps[0] == 7.0                                # the provider's wait, not our backoff
    assert 0.0 <= sleeps[1] <= 1.0                         # full jitter: uniform(0, base * 2)
    assert Counter(fake_sendgrid.send_ids()) == Counter(m.send_id for m in messages)
    assert {r.status for r in results} == {"sent"}


def test_sendgrid_rate_limit_reset_header_is_honoured(fake_sendgrid):
    sleeps = Sleeps()
    reset = int(datetime.now(UTC).timestamp()) + 30
    fake_sendgrid.script(Fail(429, {"X-RateLimit-Reset": str(reset)}))
    sendgrid(fake_sendgrid, sleeps).send(emails(3))
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30
    assert len(fake_sendgrid.send_ids()) == 3


def test_sendgrid_retries_run_out_nothing_sent_and_said_so(fake_sendgrid):
    sleeps = Sleeps()
    fake_sendgrid.script(*[Fail(503)] * 3)
    messages = emails(1200)
    with pytest.raises(SendInterrupted) as stopped:
        sendgrid(fake_sendgrid, sleeps, max_attempts=3).send(messages)
    assert stopped.value.results == [] and stopped.value.in_doubt == []
    assert stopped.value.not_sent == [m.send_id for m in messages]
    assert len(sleeps) == 2 and fake_sendgrid.send_ids() == []


def test_sendgrid_connection_refused_is_retried_then_reported_not_sent():
    sleeps = Sleeps()
    sender = SendGridSender("SG.k", FROM, host=closed_port_url(), retry=RetryPolicy(max_attempts=3, sleep=sleeps))
    with pytest.raises(SendInterrupted) as stopped:
        sender.send(emails(2))
    assert stopped.value.not_sent == ["e00000", "e00001"] and len(sleeps) == 2


def test_sendgrid_400_makes_dead_letters_with_reason_and_body(fake_sendgrid):
    sleeps = Sleeps()
    error = {"errors": [{"message": "The template_id must be a valid GUID", "field": "template_id", "help": None}]}
    fake_sendgrid.script(Fail(400, body=error))
    messages = emails(3)
    results = sendgrid(fake_sendgrid, sleeps).send(messages)

    assert fake_sendgrid.attempts == 1 and sleeps == []     # a 4xx is never retried
    assert [r.status for r in results] == ["dead_letter"] * 3
    assert all(r.http_status == 400 and "must be a valid GUID (template_id)" in r.error for r in results)
    replay = json.loads(results[0].request_body)
    assert replay == EmailRequests(FROM).body(messages)
    assert [p["custom_args"]["send_id"] for p in replay["personalizations"]] == [m.send_id for m in messages]


def test_sendgrid_validation_failure_dead_letters_only_that_request(fake_sendgrid):
    messages = emails(2, template=None, prefix="x") + emails(2)
    results = sendgrid(fake_sendgrid).send(messages)
    assert [r.status for r in results] == ["dead_letter", "dead_letter", "sent", "sent"]
    assert "content parameter is required" in results[0].error
    assert fake_sendgrid.send_ids() == ["e00000", "e00001"]


@pytest.mark.parametrize("failure", [Drop(accept=True), Hang(seconds=5, accept=True)], ids=["drop", "hang"])
def test_sendgrid_unanswered_request_is_in_doubt_not_resent(fake_sendgrid, failure):
    sleeps = Sleeps()
    fake_sendgrid.script(failure)
    messages = emails(2500)
    sender = sendgrid(fake_sendgrid, sleeps, timeout=0.5)
    with pytest.raises(SendInterrupted) as stopped:
        sender.send(messages)

    first, rest = [m.send_id for m in messages[:1000]], [m.send_id for m in messages[1000:]]
    assert stopped.value.in_doubt == first and stopped.value.not_sent == rest and sleeps == []
    # the short timeout was only for the unanswered request: a loaded machine can take longer
    # than 0.5 s to answer the ones that are answered
    sender = sendgrid(fake_sendgrid, sleeps)
    assert sender.lookup(first[:3]) == dict.fromkeys(first[:3], True)  # the provider did take them
    sender.send(messages[1000:])                                       # only what was certainly not sent
    assert Counter(fake_sendgrid.send_ids()) == Counter(m.send_id for m in messages)


def test_sendgrid_lookup_true_false_and_unknown(fake_sendgrid):
    sender = sendgrid(fake_sendgrid)
    sender.send(emails(2))
    assert sender.lookup(["e00000", "e00001", "never"]) == {"e00000": True, "e00001": True, "never": False}
    assert sender.lookup(emails(1)) == {"e00000": True}  # messages are accepted too

    fake_sendgrid.activity_status = 403                  # Email Activity API not on this account
    assert sender.lookup(["e00000", "never"]) == {"e00000": None, "never": None}
    fake_sendgrid.activity_status = 404
    assert sender.lookup(["e00000"]) == {"e00000": None}


def test_sendgrid_sandbox_mode(fake_sendgrid):
    results = sendgrid(fake_sendgrid, sandbox=True).send(emails(2))
    [request] = fake_sendgrid.requests
    assert request["body"]["mail_settings"] == {"sandbox_mode": {"enable": True}} and request["sandbox"]
    assert [r.status for r in results] == ["sent", "sent"] and results[0].http_status == 200
    assert fake_sendgrid.send_ids() == []                # validated, delivered to nobody


def test_sendgrid_host_is_an_argument(fake_sendgrid, monkeypatch):
    monkeypatch.setenv("SENDGRID_API_HOST", "http://127.0.0.1:9")  # the library never reads the environment
    sender = SendGridSender("SG.k", FROM, host=fake_sendgrid.url, retry=RetryPolicy(sleep=Sleeps()))
    assert sender.host == fake_sendgrid.url
    sender.send(emails(1))
    assert fake_sendgrid.send_ids() == ["e00000"]


def test_fake_sendgrid_refuses_what_sendgrid_refuses(fake_sendgrid):
    client = SendGridAPIClient(api_key="SG.k", host=fake_sendgrid.url).client
    body = EmailRequests(FROM).body(emails(1))
    with pytest.raises(HTTPError) as refused:
        client.mail.send.post(request_body={**body, "personalizations": body["personalizations"] * 1001})
    assert refused.value.status_code == 400 and b"more than 1000" in refused.value.body
    with pytest.raises(HTTPError) as refused:
        client.mail.send.post(request_body={k: v for k, v in body.items() if k != "from"})
    assert b"from.email" in refused.value.body
    assert fake_sendgrid.requests == []


def test_batch_size_beyond_sendgrid_limit_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        SendGridSender("SG.k", FROM, batch_size=1001)


# ---------------------------------------------------------------- Twilio

def test_twilio_sends_one_message_each_with_status_callback(fake_twilio):
    callback = "https://hooks.example.com/twilio/status"
    messages = texts(5)
    results = twilio(fake_twilio, status_callback=callback).send(messages)

    accepted = {r["To"]: r for r in fake_twilio.requests}
    assert len(fake_twilio.requests) == 5
    for message, result in zip(messages, results):
        form = accepted[message.to]
        assert form["Body"] == message.body and form["From"] == SMS_FROM and form["StatusCallback"] == callback
        assert result.status == "sent" and result.provider_message_id == form["sid"]


def test_twilio_messaging_service_instead_of_number(fake_twilio):
    twilio(fake_twilio, from_number=None, messaging_service_sid="MG" + "1" * 32).send(texts(1))
    [form] = fake_twilio.requests
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form


def test_twilio_stop_reply_becomes_suppressed(fake_twilio):
    messages = texts(2) + [OutgoingMessage("stop1", "abandoned_cart", 1, "cust-x", "sms", STOP_NUMBER, None,
                                           "Your cart", {})]
    results = twilio(fake_twilio).send(messages)
    assert [r.status for r in results] == ["sent", "sent", "suppressed"]
    assert "21610" in results[2].error and results[2].http_status == 400


def test_twilio_other_4xx_is_a_dead_letter_with_the_request(fake_twilio):
    bad = OutgoingMessage("bad1", "abandoned_cart", 1, "cust-x", "sms", "555-not-e164", None, "Hi", {})
    [result] = twilio(fake_twilio).send([bad])
    assert result.status == "dead_letter" and "21211" in result.error and result.http_status == 400
    assert json.loads(result.request_body) == {"To": "555-not-e164", "Body": "Hi", "From": SMS_FROM}


def test_twilio_retries_429_and_500_without_duplicates(fake_twilio):
    sleeps = Sleeps()
    fake_twilio.script(Fail(429, {"Retry-After": "4"}), Fail(500), Fail(429, {"Retry-After": "2"}))
    messages = texts(20)
    results = twilio(fake_twilio, sleeps, concurrency=1).send(messages)

    assert {r.status for r in results} == {"sent"}
    assert Counter(r["To"] for r in fake_twilio.requests) == Counter(m.to for m in messages)
    assert fake_twilio.attempts == 23 and sleeps[0] == 4.0 and sleeps[2] == 2.0


def test_twilio_concurrency_is_bounded(fake_twilio):
    fake_twilio.latency = 0.05
    twilio(fake_twilio, concurrency=4).send(texts(40))
    assert len(fake_twilio.requests) == 40
    assert 2 <= fake_twilio.max_in_flight <= 4


def test_twilio_unanswered_message_is_in_doubt_and_found_by_lookup(fake_twilio):
    fake_twilio.script(Drop(accept=True))
    messages = texts(3)
    sender = twilio(fake_twilio, concurrency=1)
    with pytest.raises(SendInterrupted) as stopped:
        sender.send(messages)
    assert stopped.value.in_doubt == ["t00000"] and stopped.value.not_sent == []
    assert [r.send_id for r in stopped.value.results] == ["t00001", "t00002"]
    assert len(fake_twilio.requests) == 3                # nothing resent
    assert sender.lookup([messages[0]]) == {"t00000": True}


def test_twilio_lookup_true_false_and_unknown(fake_twilio):
    sender = twilio(fake_twilio)
    sent, other = texts(2)
    sender.send([sent])
    unsent_same_number = OutgoingMessage("t9", "x", 1, "c", "sms", sent.to, None, "another body", {})
    found = sender.lookup([sent, other, unsent_same_number, "bare-id"])
    assert found == {"t00000": True, "t00001": False, "t9": False, "bare-id": None}
    assert sender.lookup([sent], since=datetime.now(UTC) + timedelta(hours=1)) == {"t00000": False}

    locked_out = TwilioSender(fake_twilio.account_sid, "wrong-token", SMS_FROM, base_url=fake_twilio.url)
    assert locked_out.lookup([sent]) == {"t00000": None}


def test_twilio_base_url_is_an_argument(fake_twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_API_BASE", "http://127.0.0.1:9")  # the library never reads the environment
    TwilioSender(fake_twilio.account_sid, fake_twilio.auth_token, SMS_FROM, base_url=fake_twilio.url).send(texts(1))
    assert len(fake_twilio.requests) == 1


# ---------------------------------------------------------------- outbox

def test_email_outbox_holds_the_exact_bodies_the_live_sender_posts(tmp_path, fake_sendgrid):
    messages = emails(1500) + emails(3, template="d-birthday", prefix="b")
    sendgrid(fake_sendgrid).send(messages)
    outbox = OutboxSender(tmp_path, "email", email=EmailRequests(FROM))
    results = outbox.send(messages)

    files = sorted((tmp_path / "email").iterdir())
    assert sorted(p.read_bytes() for p in files) == sorted(r["raw"] for r in fake_sendgrid.requests)
    assert all(not p.name.startswith(".") for p in files)      # no temp file left behind
    assert [r.status for r in results] == ["outbox"] * len(messages)
    assert [r.send_id for r in results] == [m.send_id for m in messages]

    outbox.send(messages)                                      # same batches, same files
    assert sorted((tmp_path / "email").iterdir()) == files
    assert outbox.lookup(["e00000", "b00002", "missing"]) == {"e00000": True, "b00002": True, "missing": False}


def test_sms_outbox_holds_the_forms_the_live_sender_posts(tmp_path, fake_twilio):
    callback = "https://hooks.example.com/twilio/status"
    messages = texts(4)
    twilio(fake_twilio, status_callback=callback).send(messages)
    outbox = OutboxSender(tmp_path, "sms", sms=SmsRequests(SMS_FROM, status_callback=callback))
    assert {r.status for r in outbox.send(messages)} == {"outbox"}

    [path] = (tmp_path / "sms").iterdir()
    entries = json.loads(path.read_text())
    posted = {r["To"]: {k: v for k, v in r.items() if k not in ("sid", "date_sent")} for r in fake_twilio.requests}
    assert [e["send_id"] for e in entries] == [m.send_id for m in messages]
    assert all(e["form"] == posted[e["form"]["To"]] for e in entries)
    assert outbox.lookup([messages[0], "nope"]) == {"t00000": True, "nope": False}


def test_outbox_write_is_atomic(tmp_path, monkeypatch):
    outbox = OutboxSender(tmp_path, "email", email=EmailRequests(FROM))

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        outbox.send(emails(2))
    monkeypatch.undo()
    assert list((tmp_path / "email").glob("[!.]*")) == []      # nothing half-written is visible
    assert outbox.lookup(["e00000"]) == {"e00000": False}


# ---------------------------------------------------------------- environment and retry policy

def test_senders_live_with_keys_outbox_without(tmp_path, fake_sendgrid, fake_twilio):
    bare = build_senders(tmp_path, SenderSettings.from_mapping({}))
    assert {c: s.mode for c, s in bare.items()} == {"email": "outbox", "sms": "outbox", "webhook": "outbox"}
    assert bare["email"].email.from_email == "hello@example.com" and bare["sms"].sms.from_number == SMS_FROM

    env = {"SENDGRID_API_KEY": "SG.k", "SENDGRID_API_HOST": fake_sendgrid.url, "RETENTION_EMAIL_FROM": FROM,
           "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
           "TWILIO_API_BASE": fake_twilio.url, "TWILIO_FROM_NUMBER": "+15550001111",
           "TWILIO_WEBHOOK_PUBLIC_URL": "https://hooks.example.com"}
    live = build_senders(tmp_path, SenderSettings.from_mapping(env))
    assert isinstance(live["email"], SendGridSender) and isinstance(live["sms"], TwilioSender)
    live["email"].send(emails(1))
    live["sms"].send(texts(1))
    assert fake_sendgrid.requests[0]["body"]["from"] == {"email": FROM}
    [form] = fake_twilio.requests
    assert form["From"] == "+15550001111" and form["StatusCallback"] == "https://hooks.example.com/twilio/status"


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "12"}, 12.0),
    ({"retry-after": "0"}, 0.0),
    ({"X-RateLimit-Reset": "1000000090"}, 90.0),
    ({"X-RateLimit-Reset": "5"}, 5.0),
    ({}, None),
    ({"Retry-After": "soon"}, None),
])
def test_provider_wait_headers(headers, expected):
    assert provider_wait(headers, now=1_000_000_000.0) == expected


def test_retry_after_http_date_and_cap():
    now = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=45), usegmt=True)
    assert provider_wait({"Retry-After": later}, now.timestamp()) == 45.0
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert policy.delay(0, {"Retry-After": "3600"}) == 10.0
    assert all(0.0 <= policy.delay(attempt) <= min(10.0, 2 ** attempt) for attempt in range(8) for _ in range(20))
