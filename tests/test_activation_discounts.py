"""Discount codes exist in the store before the message that promises one leaves: created once,
recorded in the ledger first, reconciled after a crash (a real kill -9), never sent when the
store refused them; without credentials, the request bodies go to the outbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from retention.activation.campaigns import CampaignConfigError, DiscountPolicy, parse_campaigns
from retention.activation.coupons import coupon_code
from retention.activation.discounts import (
    CodeIssuer,
    DiscountRejected,
    OutboxDiscounts,
    ShopifyDiscounts,
    discount_spec,
    max_codes_per_request,
)
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import OutboxSender, SendGridSender
from retention.referrals import referral_code
from tests.activation_fixtures import NOW, audience, campaign_set, person
from tests.fakes.providers import FakeSendGrid
from tests.fakes.shopify_discounts import FakeShopifyDiscounts

ROOT = Path(__file__).resolve().parents[1]
VERSION = "2026-07"
FROM = "shop@example.com"


@pytest.fixture
def shop():
    with FakeShopifyDiscounts() as server:
        yield server


@pytest.fixture
def sendgrid():
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "activation" / "ledger.sqlite") as opened:
        yield opened


def store_for(shop, **kwargs):
    return ShopifyDiscounts(None, shop.access_token, kwargs.pop("api_version", VERSION), api_base=shop.url,
                            poll_interval=0.01, sleep=lambda s: None, **kwargs)


class CheckingSender:
    """SendGrid, but first checks that every code the batch promises exists in the store."""

    channel, mode = "email", "live"

    def __init__(self, sendgrid, shop):
        self.inner = SendGridSender("key", FROM, host=sendgrid.url)
        self.shop = shop
        self.missing: list[str] = []

    def send(self, messages):
        self.missing += [m.data["coupon_code"] for m in messages
                         if m.data.get("coupon_code") and not self.shop.has(m.data["coupon_code"])]
        return self.inner.send(messages)

    def lookup(self, send_ids):
        return self.inner.lookup(send_ids)


def code_of(customer: str, campaign: str = "win_back", occurrence: str = "o1") -> str:
    policy = next(c for c in campaign_set() if c.key == campaign).discount
    return coupon_code(policy, campaign, customer, occurrence)


def sent_codes(sendgrid) -> list[str]:
    return [p["dynamic_template_data"]["coupon_code"] for r in sendgrid.requests
            for p in r["body"]["personalizations"]]


def people(n: int) -> dict:
    return {"audience_win_back": audience(*(person(f"c{i}") for i in range(n)))}


# ---------------------------------------------------------------- created before the send, once


def test_codes_are_created_in_the_store_before_the_send(ledger, shop, sendgrid):
    sender = CheckingSender(sendgrid, shop)
    report = activate(campaign_set(), people(3), ledger, {"email": sender}, NOW, only=["win_back"],
                      discounts=store_for(shop))
    assert report.campaign("win_back").sent == 3 and not report.errors
    assert sender.missing == []  # every promised code was in the store when the batch left
    codes = sent_codes(sendgrid)
    assert sorted(codes) == sorted(code_of(f"c{i}") for i in range(3))
    assert shop.discount_creations == 1 and shop.code_creations == 3
    (discount_id, spec), = shop.discounts.items()
    assert set(codes) <= spec["codes"]
    assert spec["customerGets"]["value"]["percentage"] == 0.15 and spec["customerGets"]["items"] == {"all": True}
    assert spec["usageLimit"] == 1 and spec["appliesOncePerCustomer"] is True
    assert spec["startsAt"] <= "2026-07-14T16:00:00Z" < spec["endsAt"]
    assert "Win back" in spec["title"] and "15% off" in spec["title"]
    rows = ledger.store_codes()
    assert set(rows["code"]) == set(codes) and set(rows["state"]) == {"created"}
    discounts = ledger.store_discounts()
    assert discounts["state"].tolist() == ["created"] and discounts["discount_id"].tolist() == [discount_id]


def test_a_rerun_creates_nothing_new_and_a_newcomer_gets_one_code(ledger, shop, sendgrid):
    store = store_for(shop)
    activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)}, NOW, only=["win_back"],
             discounts=store)
    before = dict(shop.operations)
    again = activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)},
                     NOW + timedelta(hours=1), only=["win_back"], discounts=store_for(shop))
    assert again.campaign("win_back").sent == 0 and dict(shop.operations) == before
    more = activate(campaign_set(), people(4), ledger, {"email": CheckingSender(sendgrid, shop)},
                    NOW + timedelta(hours=2), only=["win_back"], discounts=store_for(shop))
    assert more.campaign("win_back").sent == 1
    assert shop.discount_creations == 1 and shop.code_creations == 4 and shop.duplicate_code_requests == 0
    assert len(sent_codes(sendgrid)) == len(set(sent_codes(sendgrid))) == 4


def test_a_step_without_a_discount_needs_no_store(ledger, shop, sendgrid):
    frame = {"audience_cart": audience(person("a", triggered_at=NOW - timedelta(hours=5)))}
    report = activate(campaign_set(), frame, ledger, {"email": CheckingSender(sendgrid, shop)}, NOW,
                      only=["cart"], discounts=store_for(shop))
    assert report.campaign("cart").sent == 1 and shop.operations == {}


# ---------------------------------------------------------------- refused: deferred, then a dead letter


def test_a_code_the_store_refuses_defers_its_message_then_dead_letters_it(ledger, shop, sendgrid):
    bad = code_of("c1")
    shop.reject_codes[bad] = "Code is invalid"
    reports = []
    for hour in range(3):
        reports.append(activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)},
                                NOW + timedelta(hours=hour), only=["win_back"], discounts=store_for(shop)))
        row = ledger.rows().set_index("customer_key").loc["c1"]
        if hour < 2:
            assert row["status"] == "deferred" and row["attempts"] == hour + 1 and "Code is invalid" in row["error"]
    assert [r.campaign("win_back").sent for r in reports] == [2, 0, 0]
    assert [r.campaign("win_back").deferred for r in reports] == [1, 1, 0]
    assert reports[2].campaign("win_back").dead_letter == 1
    assert ledger.rows().set_index("customer_key").loc["c1", "status"] == "dead_letter"
    letters = ledger.dead_letters()
    assert len(letters) == 1
    assert "after 3 attempts" in letters["reason"][0] and "Code is invalid" in letters["reason"][0]
    assert bad not in sent_codes(sendgrid) and not shop.has(bad)
    assert ledger.store_codes().set_index("code").loc[bad, "state"] == "rejected"
    later = activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)},
                     NOW + timedelta(hours=4), only=["win_back"], discounts=store_for(shop))
    assert later.campaign("win_back").sent == 0 and later.campaign("win_back").excluded["already_sent"] == 3


def test_a_bulk_add_the_store_refuses_as_a_whole_defers_every_message_of_it(ledger, sendgrid):
    with FakeShopifyDiscounts(max_codes=2) as shop:  # userErrors for a call of more than 2 codes
        report = activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)}, NOW,
                          only=["win_back"], discounts=store_for(shop))
        assert report.campaign("win_back").deferred == 3 and sendgrid.requests == []
        assert shop.code_creations == 0 and set(ledger.rows()["attempts"]) == {1}
        assert all("at most 2 items" in e for e in ledger.rows()["error"])
        fixed = activate(campaign_set(), people(3), ledger, {"email": CheckingSender(sendgrid, shop)},
                         NOW + timedelta(hours=1), only=["win_back"], discounts=store_for(shop, codes_per_request=2))
        assert fixed.campaign("win_back").sent == 3 and shop.code_creations == 3


def test_when_the_discount_itself_is_refused_no_message_of_the_campaign_leaves(ledger, shop, sendgrid):
    shop.reject_discount = "Title is too long"
    frames = {**people(2), "audience_thanks": audience(person("t"))}
    report = activate(campaign_set(), frames, ledger, {"email": CheckingSender(sendgrid, shop)}, NOW,
                      only=["win_back", "thanks"], discounts=store_for(shop))
    assert report.campaign("thanks").sent == 1  # no discount, not concerned
    win_back = report.campaign("win_back")
    assert win_back.sent == 0 and win_back.deferred == 2 and "Title is too long" in win_back.error
    assert sent_codes(sendgrid) == [None] and shop.code_creations == 0
    assert ledger.store_discounts()["state"].tolist() == ["rejected"]
    shop.reject_discount = None  # fixed: the next run sends each once
    fixed = activate(campaign_set(), frames, ledger, {"email": CheckingSender(sendgrid, shop)},
                     NOW + timedelta(hours=1), only=["win_back", "thanks"], discounts=store_for(shop))
    assert fixed.campaign("win_back").sent == 2 and not fixed.errors
    assert shop.discount_creations == 1 and shop.code_creations == 2


def test_an_unavailable_store_defers_without_counting_an_attempt(ledger, shop, sendgrid):
    shop.script(*[503] * 3)
    report = activate(campaign_set(), people(2), ledger, {"email": CheckingSender(sendgrid, shop)}, NOW,
                      only=["win_back"], discounts=store_for(shop, max_retries=2))
    assert report.campaign("win_back").sent == 0 and report.campaign("win_back").deferred == 2
    assert set(ledger.rows()["attempts"]) == {0} and sendgrid.requests == []
    again = activate(campaign_set(), people(2), ledger, {"email": CheckingSender(sendgrid, shop)},
                     NOW + timedelta(hours=1), only=["win_back"], discounts=store_for(shop))
    assert again.campaign("win_back").sent == 2 and shop.discount_creations == 1


def test_a_live_sender_never_sends_codes_that_only_went_to_the_outbox(ledger, sendgrid, tmp_path):
    report = activate(campaign_set(), people(2), ledger, {"email": SendGridSender("key", FROM, host=sendgrid.url)},
                      NOW, only=["win_back"], discounts=OutboxDiscounts(tmp_path / "outbox"))
    assert report.campaign("win_back").sent == 0 and report.campaign("win_back").postponed == 2
    assert "no store credentials" in report.errors["win_back"] and sendgrid.requests == []


# ---------------------------------------------------------------- crashes


def test_a_discount_whose_creation_was_in_doubt_is_found_not_created_again(ledger, shop):
    campaign = next(c for c in campaign_set() if c.key == "win_back")

    class DiesAfterTheStoreAnswered(ShopifyDiscounts):
        def create_discount(self, spec):
            super().create_discount(spec)
            raise KeyboardInterrupt  # the answer is lost with the process

    with pytest.raises(KeyboardInterrupt):
        CodeIssuer(ledger, DiesAfterTheStoreAnswered(None, shop.access_token, VERSION, api_base=shop.url)).ensure(
            campaign, [code_of("a")], NOW)
    assert ledger.store_discounts()["state"].tolist() == ["requested"]
    outcome = CodeIssuer(ledger, store_for(shop)).ensure(campaign, [code_of("a")], NOW)
    assert outcome[code_of("a")].ready and shop.discount_creations == 1
    assert ledger.store_discounts()["state"].tolist() == ["created"]


def test_a_store_that_stops_mid_batch_keeps_what_it_answered(ledger, shop):
    from retention.activation.discounts import ADD_CODES, StoreUnavailable

    campaign = next(c for c in campaign_set() if c.key == "win_back")
    codes = [code_of(f"c{i}") for i in range(5)]

    class StopsAtTheSecondChunk(ShopifyDiscounts):
        adds = 0

        def graphql(self, query, variables):
            if query == ADD_CODES:
                self.adds += 1
                if self.adds == 2:
                    raise StoreUnavailable("connection reset after the request was sent")
            return super().graphql(query, variables)

    flaky = StopsAtTheSecondChunk(None, shop.access_token, VERSION, api_base=shop.url, codes_per_request=2,
                                  poll_interval=0.01)
    outcome = CodeIssuer(ledger, flaky).ensure(campaign, codes, NOW)
    assert [outcome[c].ready for c in codes] == [True, True, False, False, False]
    assert not any(outcome[c].rejected for c in codes)
    states = ledger.store_codes().set_index("code")["state"]
    assert [states[c] for c in codes] == ["created", "created", "requested", "requested", "requested"]
    store = store_for(shop)
    again = CodeIssuer(ledger, store).ensure(campaign, codes, NOW + timedelta(hours=1))
    assert all(o.ready for o in again.values()) and shop.code_creations == 5
    assert shop.operations["codeDiscountNodeByCode"] == 3  # only the codes in doubt were looked up


CHILD = """
import os, signal, sys
from datetime import datetime
from retention.activation.discounts import ShopifyDiscounts
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import SendGridSender
from tests.activation_fixtures import audience, campaign_set, person

ledger_path, shop_url, token, sendgrid_url, kill_at, now, count = sys.argv[1:8]


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Store(ShopifyDiscounts):
    def add_codes(self, discount_id, codes):
        answer = super().add_codes(discount_id, codes)
        if kill_at == "codes_added":  # the store has them, the ledger still says requested
            die()
        return answer


class Sender(SendGridSender):
    def send(self, messages):
        if kill_at == "before_send":  # codes confirmed and claim committed; nothing sent yet
            die()
        return super().send(messages)


frame = {"audience_win_back": audience(*(person(f"c{i}") for i in range(int(count))))}
with Ledger(ledger_path) as ledger:
    activate(campaign_set(), frame, ledger, {"email": Sender("key", "shop@example.com", host=sendgrid_url)},
             datetime.fromisoformat(now), only=["win_back"],
             discounts=Store(None, token, "2026-07", api_base=shop_url, poll_interval=0.01))
print("finished")
"""


@pytest.mark.parametrize("kill_at", ["codes_added", "before_send"])
def test_kill_9_between_code_creation_and_send_then_a_rerun_creates_and_sends_each_once(
        tmp_path, shop, sendgrid, kill_at):
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    path = tmp_path / "activation" / "ledger.sqlite"
    path.parent.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RETENTION_COUPON_SECRET", None)
    child = subprocess.run([sys.executable, str(script), str(path), shop.url, shop.access_token, sendgrid.url,
                            kill_at, NOW.isoformat(), "5"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert shop.code_creations == 5 and sendgrid.requests == []
    with sqlite3.connect(path) as raw:
        states = {r[0] for r in raw.execute("SELECT state FROM store_codes")}
    assert states == ({"requested"} if kill_at == "codes_added" else {"created"})

    with Ledger(path) as ledger:
        report = activate(campaign_set(), people(5), ledger, {"email": SendGridSender("key", FROM, host=sendgrid.url)},
                          NOW + timedelta(minutes=5), only=["win_back"], discounts=store_for(shop),
                          lookup_settle=timedelta(0))
        again = activate(campaign_set(), people(5), ledger, {"email": SendGridSender("key", FROM, host=sendgrid.url)},
                         NOW + timedelta(minutes=10), only=["win_back"], discounts=store_for(shop))
        assert set(ledger.store_codes()["state"]) == {"created"}
        assert set(ledger.rows()["status"]) == {"sent"}
    assert report.campaign("win_back").sent == 5 and again.campaign("win_back").sent == 0
    assert shop.discount_creations == 1 and shop.code_creations == 5 and shop.duplicate_code_requests == 0
    codes = sent_codes(sendgrid)
    assert len(codes) == len(set(codes)) == 5 and all(shop.has(c) for c in codes)


# ---------------------------------------------------------------- no credentials: the outbox


def test_without_credentials_the_request_bodies_go_to_the_outbox(tmp_path, ledger):
    outbox = tmp_path / "outbox"
    senders = {"email": OutboxSender(outbox, "email"), "sms": OutboxSender(outbox, "sms")}
    report = activate(campaign_set(), people(3), ledger, senders, NOW, only=["win_back"])
    assert report.campaign("win_back").outbox == 3 and not report.errors
    files = sorted((outbox / "shopify").glob("*.json"))
    bodies = [json.loads(p.read_text()) for p in files]
    create = next(b for b in bodies if "discountCodeBasicCreate(" in b["query"])
    add = next(b for b in bodies if "discountRedeemCodeBulkAdd(" in b["query"])
    assert create["variables"]["basicCodeDiscount"]["usageLimit"] == 1
    assert create["variables"]["basicCodeDiscount"]["customerGets"]["value"]["percentage"] == 0.15
    assert sorted(c["code"] for c in add["variables"]["codes"]) == sorted(code_of(f"c{i}") for i in range(3))
    assert add["variables"]["discountId"].startswith("outbox:")
    assert set(ledger.store_codes()["state"]) == {"outbox"} and set(ledger.store_codes()["mode"]) == {"outbox"}
    assert ledger.store_discounts()["state"].tolist() == ["outbox"]
    again = activate(campaign_set(), people(3), ledger, senders, NOW + timedelta(hours=1), only=["win_back"])
    assert again.campaign("win_back").outbox == 0 and sorted((outbox / "shopify").glob("*.json")) == files


def test_the_outbox_store_writes_each_request_once_per_content(tmp_path):
    store = OutboxDiscounts(tmp_path, codes_per_request=2)
    assert store.add_codes("outbox:x", ["A-1", "A-2", "A-3"]) == {"A-1": None, "A-2": None, "A-3": None}
    store.add_codes("outbox:x", ["A-1", "A-2", "A-3"])
    assert len(store.written()) == 2
    assert store.find_codes(["A-3", "B-1"]) == {"A-3": "outbox:x", "B-1": None}


# ---------------------------------------------------------------- the client and the policy


def test_bulk_adds_respect_the_per_call_limit_of_the_api_version(shop):
    assert max_codes_per_request("2024-01") == 100 and max_codes_per_request("2026-07") == 250
    campaign = next(c for c in campaign_set() if c.key == "win_back")
    store = store_for(shop, api_version="2024-01")
    discount_id = store.create_discount(discount_spec(campaign, NOW))
    codes = [f"BACK-{i:05d}" for i in range(230)]
    assert store.add_codes(discount_id, codes) == dict.fromkeys(codes)
    assert shop.operations["discountRedeemCodeBulkAdd"] == 3 and len(shop.codes_of(discount_id)) == 231
    with pytest.raises(ValueError):
        store_for(shop, api_version="2024-01", codes_per_request=250)


def test_client_waits_for_the_bulk_creation_and_reads_per_code_errors(shop):
    shop.polls_until_done = 3
    shop.reject_codes["BACK-BAD"] = "Code is invalid"
    campaign = next(c for c in campaign_set() if c.key == "win_back")
    store = store_for(shop)
    discount_id = store.create_discount(discount_spec(campaign, NOW))
    answer = store.add_codes(discount_id, ["BACK-GOOD", "BACK-BAD"])
    assert answer["BACK-GOOD"] is None and "Code is invalid" in answer["BACK-BAD"]
    assert store.polls == 3 and store.find_codes(["back-good", "BACK-BAD"]) == {"back-good": discount_id,
                                                                                 "BACK-BAD": None}
    shop.script(429, 500)
    assert store.find_codes(["BACK-GOOD"]) == {"BACK-GOOD": discount_id} and store.retries == 2
    shop.reject_discount = "Title is too long"
    with pytest.raises(DiscountRejected, match="Title is too long"):
        store.create_discount(discount_spec(campaign, NOW + timedelta(days=40)))


def test_discount_windows_keep_every_code_valid_for_its_expiry(shop):
    campaign = next(c for c in campaign_set() if c.key == "win_back")
    days = campaign.discount.expires_after_days
    assert days == 30  # the default
    first = discount_spec(campaign, NOW)
    assert first == discount_spec(campaign, NOW + timedelta(hours=1))
    assert first.starts_at <= NOW and first.ends_at - NOW >= timedelta(days=days)
    later = discount_spec(campaign, first.starts_at + timedelta(days=days))
    assert later.key != first.key and later.anchor_code != first.anchor_code


def test_expires_after_days_is_validated():
    config = """
campaigns:
  offer:
    kind: promotional
    priority: 1
    channels: [email]
    email_template_id: d-offer
    unsubscribe_group: 1
    discount: {prefix: SAVE, percent: 10, expires_after_days: %s}
    steps: [{delay_hours: 0}]
"""
    assert parse_campaigns(config % "7", source="t.yml").by_priority()[0].discount.expires_after_days == 7
    for bad in ("0", "400", "1.5", "soon"):
        with pytest.raises(CampaignConfigError, match="expires_after_days"):
            parse_campaigns(config % bad, source="t.yml")


# ---------------------------------------------------------------- referral codes


REFERRAL = DiscountPolicy(prefix="FRIEND", percent=10, code="referral", uses=5)


def advocate(key: str, occurrence: str = "o1", **payload) -> dict:
    """A win_back row asking for referrals: its payload carries the warehouse's referral code."""
    fields = {"products": [], "recommendations": [], "referral_code": referral_code(key)} | payload
    return person(key, occurrence=occurrence, payload=fields)


def test_a_referral_ask_shares_the_customer_s_own_code_created_once_with_no_end(ledger, shop, sendgrid):
    campaigns = campaign_set(win_back={"discount": REFERRAL})
    first = activate(campaigns, {"audience_win_back": audience(advocate("a"), advocate("b"))}, ledger,
                     {"email": CheckingSender(sendgrid, shop)}, NOW, only=["win_back"], discounts=store_for(shop))
    assert first.campaign("win_back").sent == 2
    assert sorted(sent_codes(sendgrid)) == sorted([referral_code("a"), referral_code("b")])
    (spec,) = shop.discounts.values()
    assert spec["codes"] >= {referral_code("a"), referral_code("b")}
    assert spec["usageLimit"] == 5 and spec["appliesOncePerCustomer"] is True and spec["endsAt"] is None
    assert spec["customerGets"]["value"]["percentage"] == 0.1 and "friend" in spec["title"]
    # asked again months later (a new occurrence): the same code, already in the store, nothing requested
    later = NOW + timedelta(days=120)
    again = activate(campaigns, {"audience_win_back": audience(advocate("a", occurrence="o2"))}, ledger,
                     {"email": CheckingSender(sendgrid, shop)}, later, only=["win_back"], discounts=store_for(shop))
    assert again.campaign("win_back").sent == 1 and sent_codes(sendgrid).count(referral_code("a")) == 2
    assert shop.discount_creations == 1 and shop.code_creations == 2 and shop.duplicate_code_requests == 0
    coupons = ledger.coupons()
    assert sorted(coupons["code"]) == sorted([referral_code("a"), referral_code("b")])


def test_a_row_without_a_usable_referral_code_is_a_dead_letter_and_its_neighbours_go(ledger, shop, sendgrid):
    campaigns = campaign_set(win_back={"discount": REFERRAL})
    rows = audience(advocate("a"), advocate("guest", referral_code=None), advocate("odd", referral_code="REF-1"))
    report = activate(campaigns, {"audience_win_back": rows}, ledger, {"email": CheckingSender(sendgrid, shop)},
                      NOW, only=["win_back"], discounts=store_for(shop))
    assert report.campaign("win_back").sent == 1 and report.campaign("win_back").dead_letter == 2
    reasons = ledger.dead_letters().set_index("customer_key")["reason"]
    assert "no referral_code" in reasons["guest"]
    assert "prefix FRIEND" in reasons["odd"] and "REF-1" not in reasons["odd"]  # a code is never logged
    assert sent_codes(sendgrid) == [referral_code("a")]


def test_referral_code_policies_are_validated():
    config = """
campaigns:
  ask:
    kind: promotional
    priority: 1
    channels: [email]
    email_template_id: d-ask
    unsubscribe_group: 1
    discount: {prefix: FRIEND, percent: 10, %s}
    steps: [{delay_hours: 0}]
"""
    policy = parse_campaigns(config % "code: referral, uses: 5", source="t.yml").by_priority()[0].discount
    assert (policy.code, policy.uses) == ("referral", 5)
    assert parse_campaigns(config % "expires_after_days: 7", source="t.yml").by_priority()[0].discount.code == "message"
    for bad, field in (("code: random", "discount.code"), ("uses: 3", "discount.uses"),
                       ("code: referral, uses: 0", "discount.uses")):
        with pytest.raises(CampaignConfigError, match=field.replace(".", r"\.")):
            parse_campaigns(config % bad, source="t.yml")


def test_an_existing_ledger_gets_the_store_tables(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE coupons (code TEXT PRIMARY KEY, campaign TEXT NOT NULL, customer_key TEXT NOT NULL,"
                    " occurrence TEXT NOT NULL, percent REAL, created_at TEXT NOT NULL)")
        old.execute("INSERT INTO coupons VALUES ('BACK-1', 'win_back', 'a', 'o1', 15, '2026-01-01T00:00:00.000000Z')")
    with Ledger(path) as ledger:
        assert ledger.store_codes().empty and ledger.store_discounts().empty
        assert ledger.coupons()["code"].tolist() == ["BACK-1"]
