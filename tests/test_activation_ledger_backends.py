"""What the ledger's two backends (``retention.activation.ledger_db``) must agree on: two processes
claiming the same sends at the same moment each get a share and no send is claimed twice; a
Postgres ledger never shows its password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from retention.activation.ledger import Ledger, send_id_for
from retention.activation.ledger_db import is_postgres, redacted
from tests.activation_fixtures import NOW

ROOT = Path(__file__).resolve().parents[1]
SENDS = 240
BATCH = 20

CLAIMER = """
import json, sys
from retention.activation.ledger import Ledger
from tests.test_activation_ledger_backends import rows

target, name, order = sys.argv[1:4]
batch = rows() if order == "forward" else rows()[::-1]
claimed = []
with Ledger(target) as ledger:
    print("ready", flush=True)
    sys.stdin.readline()  # both claimers start together
    for start in range(0, len(batch), 20):
        claimed += sorted(ledger.claim(batch[start:start + 20], f"{name}-{start}"))
print(json.dumps(claimed))
"""


def rows() -> list[dict]:
    return [{"send_id": send_id_for("cart", 1, f"c{i}", "o1"), "campaign": "cart", "step": 1,
             "customer_key": f"c{i}", "occurrence": "o1", "channel": "email", "mode": "live", "decided_at": NOW}
            for i in range(SENDS)]


def test_two_processes_claiming_the_same_sends_at_once_never_claim_one_twice(ledger_at, request):
    Ledger(ledger_at).close()  # the schema exists before both start
    claimers = [subprocess.Popen([sys.executable, "-c", CLAIMER, ledger_at, name, order], cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
                for name, order in (("run-a", "forward"), ("run-b", "reversed"))]
    for claimer in claimers:
        assert claimer.stdout.readline().strip() == "ready"
    for claimer in claimers:
        claimer.stdin.write("go\n")
        claimer.stdin.flush()
    outputs = [claimer.communicate(timeout=300)[0] for claimer in claimers]
    assert [c.returncode for c in claimers] == [0, 0], outputs
    a, b = (set(json.loads(out.strip().splitlines()[-1])) for out in outputs)
    with Ledger(ledger_at) as ledger:
        ledger_rows = ledger.rows()
    backend = "postgres" if is_postgres(ledger_at) else "sqlite"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"[claims] {backend}: run-a {len(a)}, run-b {len(b)}, both {len(a & b)}, of {SENDS}")
    assert not a & b  # never both
    assert a | b == {r["send_id"] for r in rows()}  # and none lost
    assert len(ledger_rows) == SENDS and set(ledger_rows["status"]) == {"claimed"}
    assert set(ledger_rows["attempts"]) == {1}
    owner = dict(zip(ledger_rows["send_id"], ledger_rows["batch_id"], strict=True))
    assert all(owner[s].startswith("run-a-") for s in a) and all(owner[s].startswith("run-b-") for s in b)


def test_a_postgres_ledger_never_shows_its_password(postgres_url):
    password = urlsplit(postgres_url).password
    with Ledger(postgres_url) as ledger:
        assert password not in ledger.path and "***" in ledger.path
    assert redacted(postgres_url) == ledger.path
    assert redacted("postgresql://shop@db:5432/ledger?sslmode=require&password=hunter2") == (
        "postgresql://shop@db:5432/ledger?sslmode=require&password=***")
    wrong = postgres_url.replace(password, password + "-wrong")
    with pytest.raises(ConnectionError) as refused:
        Ledger(wrong)
    assert password not in str(refused.value) and refused.value.__cause__ is None
    assert str(refused.value).startswith("cannot open the ledger at postgresql://retention:***@127.0.0.1:")
