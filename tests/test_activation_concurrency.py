"""Two activations on one ledger, in separate processes: the ledger's lease lets one send at a time,
so caps and the one-promotional-message-a-day rule hold across runs; a run that cannot wait says
who holds the ledger; a run killed with kill -9 mid-batch blocks nobody, and its rerun sends each
message exactly once. Every test runs on both ledgers: a SQLite file and a Postgres database."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from assets.activation import SEND_OP, send_campaigns
from assets.resources import (
    DataDirResource,
    PushWebhookResource,
    SendGridResource,
    ShopifyResource,
    TwilioResource,
)
from retention.activation.engine import activate
from retention.activation.lease import LEASE_NAME, TAKE_LEASE, LeaseBusy, LeaseLost, RunLease, current_holder
from retention.activation.ledger import Ledger
from retention.activation.ledger_db import is_postgres
from retention.activation.senders import SendGridSender, TwilioSender
from tests.activation_fixtures import NOW, audience, campaign_set, person
from tests.fakes.providers import FakeSendGrid, FakeTwilio
from tests.test_activation_log_privacy import warehouse_store

ROOT = Path(__file__).resolve().parents[1]
FROM = "shop@example.com"
PEOPLE = 8
HANG_BOUND = 300  # seconds; only catches a hung child, every wait below is on a condition
AUDIENCES = ("audience_thanks", "audience_cart", "audience_price_drop")

CHILD = """
import json, logging, sys
from datetime import datetime, timedelta
from assets.activation import SEND_OP, send_campaigns
from assets.resources import (
    DataDirResource,
    PushWebhookResource,
    SendGridResource,
    ShopifyResource,
    TwilioResource,
)
from retention.activation.engine import activate
from retention.activation.lease import LeaseBusy
from retention.activation.ledger import Ledger
from retention.activation.senders import SendGridSender, TwilioSender
from tests.activation_fixtures import NOW, campaign_set
from tests.test_activation_concurrency import frames

ledger_path, sendgrid_url, twilio_url, sid, token, campaigns, run_id, wait, ttl = sys.argv[1:10]
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
senders = {"email": SendGridSender("key", "shop@example.com", host=sendgrid_url, batch_size=2, timeout=600),
           "sms": TwilioSender(sid, token, "+15005550006", base_url=twilio_url, timeout=600)}
try:
    with Ledger(ledger_path) as ledger:
        report = activate(campaign_set(), frames(), ledger, senders, NOW, only=campaigns.split(","), run_id=run_id,
                          lease_wait=timedelta(seconds=float(wait)), lease_ttl=timedelta(seconds=float(ttl)))
except LeaseBusy as busy:
    print(f"activation {run_id} not run: {busy}", file=sys.stderr)
    sys.exit(3)
print(json.dumps({"totals": report.totals(), "lease_wait": report.lease_wait, "waited_for": report.waited_for}))
"""


def frames() -> dict:
    """Everyone in every audience, each with an address and a phone of their own: every run has
    more to send than the caps allow."""
    people = [person(f"c{i}", phone=f"+1202555{i:04d}") for i in range(PEOPLE)]
    return {name: audience(*people) for name in AUDIENCES}


class HeldSendGrid(FakeSendGrid):
    """Lets the first ``passing`` send requests through, then holds each until ``release()``:
    a run stays mid-batch, holding the lease, for as long as the test needs."""

    def __init__(self, passing: int = 0):
        super().__init__()
        self.passing, self.arrived = passing, 0
        self._open = threading.Event()

    def release(self) -> None:
        self._open.set()

    def _send(self, accept):
        with self._lock:
            self.arrived += 1
            held = self.arrived > self.passing
        if held:
            self._open.wait()
        return super()._send(accept)

    def __exit__(self, *exc):
        self.release()
        super().__exit__(*exc)


@pytest.fixture
def twilio():
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def ledger_path(ledger_at, tmp_path) -> str:
    """The ledger both runs share (a SQLite file or a Postgres database); the children's script and
    their stderr in the test's directory."""
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    return ledger_at


def start(workdir: Path, ledger_path: str, sendgrid, twilio, campaigns: str, run_id: str, wait: float = 600,
          ttl: float = 600) -> subprocess.Popen:
    err = (workdir / f"{run_id}.err").open("w")
    return subprocess.Popen([sys.executable, str(workdir / "child.py"), ledger_path,
                             sendgrid.url, twilio.url, twilio.account_sid, twilio.auth_token, campaigns, run_id,
                             str(wait), str(ttl)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=err, text=True)


def stderr_of(workdir: Path, run_id: str) -> str:
    return (workdir / f"{run_id}.err").read_text()


def wait_until(condition, what: str, *running: subprocess.Popen) -> None:
    """Poll ``condition``; fail at once should one of the ``running`` children exit first."""
    deadline = time.monotonic() + HANG_BOUND
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        exited = [c for c in running if c.poll() is not None]
        assert not exited, f"a child exited before {what}: {[c.args[-4] for c in exited]}"
        time.sleep(0.05)


def finish(child: subprocess.Popen) -> tuple[int, str]:
    out, _ = child.communicate(timeout=HANG_BOUND)
    return child.returncode, out


def delivered(ledger_path: str, sendgrid, twilio) -> list[tuple[str, str, str, str]]:
    """(customer, channel, campaign, UTC day) of every message the providers accepted."""
    with Ledger(ledger_path) as ledger:
        rows = ledger.rows()
    by_send_id = {s: (c, k) for s, c, k in zip(rows["send_id"], rows["customer_key"], rows["campaign"], strict=True)}
    texts_to = rows[rows["channel"] == "sms"]
    sms_campaign = dict(zip(texts_to["customer_key"], texts_to["campaign"], strict=True))
    day = NOW.date().isoformat()  # every run here sends at NOW
    phone_owner = {f"+1202555{i:04d}": f"c{i}" for i in range(PEOPLE)}
    emails = [(*by_send_id[s][:1], "email", by_send_id[s][1], day) for s in sendgrid.send_ids()]
    texts = [(phone_owner[r["To"]], "sms", sms_campaign[phone_owner[r["To"]]], day) for r in twilio.requests]
    return emails + texts


def assert_caps_held(sends: list[tuple[str, str, str, str]]) -> None:
    per_channel = Counter((customer, channel, day) for customer, channel, _, day in sends)
    promotional = Counter((customer, day) for customer, _, campaign, day in sends
                          if campaign_set().get(campaign).is_promotional)
    over_cap = {k: n for k, n in per_channel.items() if n > 1}  # 1 email / 16 h, 1 SMS / 24 h
    two_promotions = {k: n for k, n in promotional.items() if n > 1}
    assert not over_cap and not two_promotions, (over_cap, two_promotions)


# ---------------------------------------------------------------- two runs at once


def test_a_second_run_waits_for_the_first_and_then_caps_hold(ledger_path, tmp_path, twilio):
    with HeldSendGrid() as sendgrid:
        first = start(tmp_path, ledger_path, sendgrid, twilio, "cart", "run-a")
        wait_until(lambda: sendgrid.arrived >= 1, "the first run's first email request", first)  # it holds the lease
        second = start(tmp_path, ledger_path, sendgrid, twilio, "thanks,price_drop", "run-b")
        impatient = start(tmp_path, ledger_path, sendgrid, twilio, "thanks,price_drop", "run-c", wait=0)

        code, out = finish(impatient)  # cannot wait: says who holds the ledger, without a traceback
        said = stderr_of(tmp_path, "run-c")
        assert code == 3 and out == "", said
        assert "activation run-c not run" in said and "run run-a (pid " in said and " since " in said
        assert "Traceback" not in said

        wait_until(lambda: "waits for the ledger: run run-a" in stderr_of(tmp_path, "run-b"),
                   "the second run waiting for the first", second)
        assert sendgrid.attempts == 0 and twilio.requests == []  # nobody sent while run-a is held
        sendgrid.release()
        (code_a, out_a), (code_b, out_b) = finish(first), finish(second)
    assert code_a == 0 and code_b == 0, stderr_of(tmp_path, "run-b")
    a, b = json.loads(out_a), json.loads(out_b)
    assert a["totals"]["sent"] == PEOPLE and a["waited_for"] is None
    # the second run saw the first's sends: the email cap and the day's promotional slot are used
    assert b["waited_for"] == "run-a" and b["lease_wait"] > 0
    assert b["totals"]["sent"] == 0
    assert b["totals"]["excluded_frequency_cap"] == PEOPLE and b["totals"]["excluded_priority"] == PEOPLE

    sends = delivered(ledger_path, sendgrid, twilio)
    assert len(sends) == PEOPLE and max(Counter(sendgrid.send_ids()).values()) == 1  # no duplicate
    assert_caps_held(sends)
    with Ledger(ledger_path) as ledger:
        assert current_holder(ledger) is None  # both gave it back


# ---------------------------------------------------------------- kill -9 mid-batch


def test_a_run_killed_mid_batch_blocks_nobody_and_its_rerun_sends_each_once(ledger_path, tmp_path, twilio, caplog):
    with HeldSendGrid(passing=2) as sendgrid:
        # a lease of 10 minutes: the rerun must see the holder is dead, not wait for it to expire
        victim = start(tmp_path, ledger_path, sendgrid, twilio, "cart", "run-killed", ttl=600)
        wait_until(lambda: sendgrid.arrived >= 3, "the third email request of the batch", victim)
        victim.send_signal(signal.SIGKILL)  # two requests accepted, the third held, the fourth never made
        victim.wait()
        assert victim.returncode == -signal.SIGKILL
        # the provider takes the third request, whose answer nobody reads any more
        sendgrid.release()
        wait_until(lambda: len(sendgrid.send_ids()) == 6, "the provider taking the held request")
        with Ledger(ledger_path) as ledger:
            holder = current_holder(ledger)
            assert holder is not None and holder.run_id == "run-killed" and holder.pid == victim.pid
            assert set(ledger.rows()["status"]) == {"claimed"}  # the whole batch is in doubt

        caplog.set_level(logging.WARNING, logger="retention.activation.lease")
        with Ledger(ledger_path) as ledger:
            email = SendGridSender("key", FROM, host=sendgrid.url, batch_size=2)
            sms = TwilioSender(twilio.account_sid, twilio.auth_token, "+15005550006", base_url=twilio.url)
            report = activate(campaign_set(), frames(), ledger, {"email": email, "sms": sms},
                              NOW + timedelta(minutes=5), only=["cart"], run_id="run-rerun",
                              lookup_settle=timedelta(0), lease_wait=timedelta(0))
            rows = ledger.rows()
            assert current_holder(ledger) is None
        sent = Counter(sendgrid.send_ids())
    assert "takes over the ledger lease of run run-killed (its process is gone)" in caplog.text
    cart = report.campaign("cart")
    assert cart.confirmed == 6 and cart.released == 2 and cart.sent == 2 and cart.in_doubt == 0
    assert report.waited_for is None  # a dead holder is not waited for
    assert set(rows["status"]) == {"sent"} and len(rows) == PEOPLE
    assert len(sent) == PEOPLE and max(sent.values()) == 1  # each exactly once
    assert set(sent) == set(rows["send_id"])


# ---------------------------------------------------------------- holders elsewhere


def _hold(ledger_path: str, run_id: str, expires_in: timedelta, host: str = "another-host") -> None:
    """A lease row as a run on another machine sharing the ledger would leave it."""
    now = datetime.now(UTC)
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    with Ledger(ledger_path) as ledger, ledger.transaction() as conn:
        conn.execute(TAKE_LEASE,
                     (LEASE_NAME, run_id, f"{run_id}:x", host, 1, None, now.strftime(stamp),
                      now.strftime(stamp), (now + expires_in).strftime(stamp)))


def test_a_live_holder_on_another_host_is_named_and_an_expired_one_is_taken_over(ledger_path):
    _hold(ledger_path, "run-elsewhere", timedelta(minutes=5))
    with Ledger(ledger_path) as ledger:
        with pytest.raises(LeaseBusy, match=r"run run-elsewhere \(pid 1 on another-host\) since "):
            activate(campaign_set(), frames(), ledger, {}, NOW, only=["cart"], lease_wait=timedelta(0))
        assert ledger.rows().empty  # nothing decided
        report = activate(campaign_set(), frames(), ledger, {}, NOW, only=["cart"], dry_run=True)
        assert report.campaign("cart").would_send == PEOPLE  # a dry run needs no lease

    _hold(ledger_path, "run-silent", timedelta(seconds=-1))  # stopped renewing: expired
    with Ledger(ledger_path) as ledger:
        with RunLease(ledger, "run-new").acquire(timedelta(0)) as lease:
            assert current_holder(ledger).token == lease.token and lease.waited_for is None


def test_the_asset_fails_naming_the_holder_when_it_cannot_wait(tmp_path, monkeypatch, ledger_at):
    store = warehouse_store(tmp_path, monkeypatch)
    on_postgres = is_postgres(ledger_at)  # the resource's setting (RETENTION_LEDGER_URL) selects the database
    ledger_path = ledger_at if on_postgres else str(store.activation / "ledger.sqlite")
    _hold(ledger_path, "run-elsewhere", timedelta(minutes=5))
    instance = dg.DagsterInstance.ephemeral()
    data_dir = DataDirResource(root=str(store.root), ledger_url=ledger_at if on_postgres else "")
    resources = {"data_dir": data_dir, "sendgrid": SendGridResource(),
                 "twilio": TwilioResource(), "shopify": ShopifyResource(),
                 "push_webhook": PushWebhookResource()}  # no keys: the outbox
    result = dg.materialize([send_campaigns], resources=resources, instance=instance, raise_on_error=False,
                            run_config={"ops": {SEND_OP: {"config": {"now": NOW.isoformat(),
                                                                       "lease_wait_seconds": 0}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.user_failure_data.description.startswith(
        "Activation did not run: another activation run holds the ledger: run run-elsewhere (pid 1 on another-host)")
    assert failure.user_failure_data.metadata["lease_holder"].value == "run-elsewhere"
    password = urlsplit(ledger_at).password
    assert password is None or not any(password in str(event) for event in result.all_events)
    with Ledger(ledger_path) as ledger:
        assert ledger.rows().empty  # nothing decided, nothing sent


def test_a_run_that_lost_its_lease_claims_nothing_more(ledger_path):
    with Ledger(ledger_path) as ledger, RunLease(ledger, "run-paused", timedelta(seconds=60)).acquire():
        _hold(ledger_path, "run-took-over", timedelta(minutes=5))  # as after run-paused's lease expired
        row = {"send_id": "s1", "campaign": "cart", "step": 1, "customer_key": "c1", "occurrence": "o1",
               "channel": "email", "decided_at": NOW}
        with pytest.raises(LeaseLost, match="run run-took-over holds it"):
            ledger.claim([row], "batch-1")
        assert ledger.rows().empty


def test_the_heartbeat_keeps_a_short_lease_alive_while_the_run_works(ledger_path):
    with Ledger(ledger_path) as ledger, RunLease(ledger, "run-long", timedelta(seconds=0.4)).acquire() as lease:
        first = current_holder(ledger).expires_at
        wait_until(lambda: current_holder(ledger).expires_at > first + timedelta(seconds=0.2), "a renewal")
        assert current_holder(ledger).token == lease.token
