"""A provider that refuses the account (a revoked key, a suspended or closed account) stops its
channel for the run, names why, and makes no dead letter: the messages wait for a run after the
account is fixed, which sends each once. The official clients talk to local stand-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.retry import RetryPolicy
from retention.activation.senders import SendGridSender, TwilioSender
from tests.activation_fixtures import NOW, audience, campaign_set, person
from tests.fakes.providers import Fail


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def no_wait(seconds):  # the retry policy's sleep: these refusals are never retried anyway
    pass


def sendgrid(server, key):
    return SendGridSender(key, "shop@example.com", host=server.url, retry=RetryPolicy(sleep=no_wait))


def twilio(server, token, concurrency=8):
    return TwilioSender(server.account_sid, token, "+15005550006", base_url=server.url,
                        retry=RetryPolicy(sleep=no_wait), concurrency=concurrency)


def statuses(ledger, campaign):
    return ledger.rows(campaign)["status"].value_counts().to_dict()


class Store:  # the store's discount codes exist (another module's concern)
    mode = "live"

    def create_discount(self, spec):
        return "gid://shopify/DiscountCodeNode/1"

    def add_codes(self, discount_id, codes):
        return dict.fromkeys(codes)

    def find_codes(self, codes):
        return dict.fromkeys(codes, "gid://shopify/DiscountCodeNode/1")


def run(ledger, sent_by, frames, now=NOW):
    return activate(campaign_set(), frames, ledger, sent_by, now, discounts=Store())


@pytest.mark.parametrize("refusal", ["revoked key", "forbidden"])
def test_a_sendgrid_account_refusal_pauses_email_and_the_fixed_account_sends_once(ledger, fake_sendgrid, fake_twilio,
                                                                                   refusal):
    frames = {"audience_win_back": audience(person("a"), person("b"), person("c"))}
    if refusal == "revoked key":
        fake_sendgrid.api_key = "SG.the-new-key"
        email = sendgrid(fake_sendgrid, "SG.the-old-key")
    else:  # SendGrid answers 403 to a suspended account or an unverified sender
        fake_sendgrid.script(Fail(403))
        email = sendgrid(fake_sendgrid, "SG.key")
    report = run(ledger, {"email": email, "sms": twilio(fake_twilio, fake_twilio.auth_token)}, frames)
    win_back = report.campaign("win_back")
    assert (win_back.sent, win_back.dead_letter, win_back.postponed) == (0, 0, 3)
    error = report.errors["win_back"]
    assert "SendGrid refused the account" in error and ("401" if refusal == "revoked key" else "403") in error
    assert fake_sendgrid.send_ids() == [] and "dead_letter" not in statuses(ledger, "win_back")

    fixed = sendgrid(fake_sendgrid, fake_sendgrid.api_key or "SG.key")
    later = run(ledger, {"email": fixed, "sms": twilio(fake_twilio, fake_twilio.auth_token)}, frames,
                now=NOW + timedelta(hours=1))
    assert later.campaign("win_back").sent == 3 and later.errors == {}
    assert sorted(fake_sendgrid.send_ids()) == sorted(ledger.rows("win_back")["send_id"])  # each once


@pytest.mark.parametrize("answer", ["wrong token", "account not active"])
def test_a_twilio_account_refusal_pauses_sms_stops_trying_and_the_fixed_account_sends_once(ledger, fake_sendgrid,
                                                                                          fake_twilio, answer):
    frames = {"audience_price_drop": audience(*(person(k) for k in "abcdefgh")),
              "audience_win_back": audience(person("z"))}
    if answer == "wrong token":  # Twilio answers 401 with code 20003
        sms = twilio(fake_twilio, "an-old-token")
    else:  # HTTP 401 code 20005 "Account not active", as Twilio's error catalogue names it
        fake_twilio.script(Fail(401, body={"code": 20005, "message": "Account not active", "status": 401}))
        sms = twilio(fake_twilio, fake_twilio.auth_token, concurrency=1)
    email = sendgrid(fake_sendgrid, "SG.key")
    report = run(ledger, {"email": email, "sms": sms}, frames)
    price_drop = report.campaign("price_drop")
    assert (price_drop.sent, price_drop.dead_letter, price_drop.postponed) == (0, 0, 8)
    code = "20003" if answer == "wrong token" else "20005"
    assert "Twilio refused the account" in report.errors["price_drop"] and code in report.errors["price_drop"]
    assert report.campaign("win_back").sent == 1  # email is another provider's account
    assert fake_twilio.requests == [] and "dead_letter" not in statuses(ledger, "price_drop")
    if answer == "account not active":
        assert fake_twilio.attempts == 1  # the first refusal stops the rest: one request, not eight

    later = run(ledger, {"email": email, "sms": twilio(fake_twilio, fake_twilio.auth_token)}, frames,
                now=NOW + timedelta(hours=1))
    assert later.campaign("price_drop").sent == 8
    assert len(fake_twilio.requests) == 8 and len({r["Body"] for r in fake_twilio.requests}) == 8
