"""The webhook receiver over real HTTP on loopback: SendGrid's published signed vectors and
Twilio's validator vectors accepted, unsigned/tampered/stale refused with nothing written, a
bounded load test (every event exactly once), and a restart mid-stream (every acknowledged
request on disk)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from retention.ingest import ingest_day, parse_file, parse_files
from retention.live.webhooks import ReceiverConfig, WebhookServer, wait_until_healthy
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES

SG = PROVIDER_FIXTURES / "sendgrid"
VECTOR = json.loads((SG / "signed_vector.json").read_text())
VECTOR_BODY = (SG / "signed_vector_payload.raw").read_bytes()
MULTI = json.loads((SG / "signed_vector_multi.json").read_text())
MULTI_BODY = (SG / "signed_vector_multi_payload.raw").read_bytes()
TW = json.loads((PROVIDER_FIXTURES / "twilio" / "request_validator_vector.json").read_text())
SIG_HEADER, TS_HEADER = VECTOR["signature_header"], VECTOR["timestamp_header"]
ACCOUNT = "AC" + "a" * 32


def start(tmp_path: Path, port: int = 0, **kw) -> WebhookServer:
    values = dict(data_dir=DataDir(tmp_path), host="127.0.0.1", port=port, twilio_auth_token=TW["auth_token"],
                  twilio_public_url="https://mycompany.com", twilio_inbound_path="/myapp.php")
    values.update(kw)
    return WebhookServer(ReceiverConfig(**values)).start()


def post(server: WebhookServer, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def files(root: Path, source: str) -> list[Path]:
    folder = root / "inbox" / source
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def vector_clock(vector):
    return lambda: float(vector["timestamp"]) + 60  # the vectors are years old: "now" is just after


# -- SendGrid -------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector,body", [(VECTOR, VECTOR_BODY), (MULTI, MULTI_BODY)], ids=["single", "multi"])
def test_sendgrid_signed_vectors_accepted(tmp_path, vector, body):
    server = start(tmp_path, sendgrid_public_key=vector["public_key"], clock=vector_clock(vector))
    try:
        status, _ = post(server, "/sendgrid/events", body,
                         {SIG_HEADER: vector["signature"], TS_HEADER: vector["timestamp"],
                          "Content-Type": "application/json"})
    finally:
        server.stop()
    assert status == 200
    [landed] = files(tmp_path, "sendgrid")
    assert landed.read_bytes() == body  # unchanged, CRLF and all
    # filed under the day of the receiver's clock (here the vector's moment)
    filed_on = datetime.fromtimestamp(vector_clock(vector)(), UTC).date().isoformat()
    assert landed.name.startswith("events-") and landed.parent.name == filed_on
    parsed = parse_file("sendgrid", landed)
    assert parsed.counts["events"].landed == body.count(b'"sg_event_id"') and not parsed.quarantine.num_rows


def test_sendgrid_refusals_write_nothing(tmp_path):
    server = start(tmp_path, sendgrid_public_key=VECTOR["public_key"], clock=vector_clock(VECTOR))
    neg = VECTOR["negative_cases"]
    good = {SIG_HEADER: VECTOR["signature"], TS_HEADER: VECTOR["timestamp"]}
    try:
        cases = {
            "unsigned": (VECTOR_BODY, {}),
            "no timestamp": (VECTOR_BODY, {SIG_HEADER: VECTOR["signature"]}),
            "tampered body": (VECTOR_BODY.replace(b"dropped", b"dropped ", 1), good),
            "bad signature": (VECTOR_BODY, {**good, SIG_HEADER: neg["bad_signature"]}),
            "garbage signature": (VECTOR_BODY, {**good, SIG_HEADER: "not base64!"}),
            "other timestamp": (VECTOR_BODY, {**good, TS_HEADER: str(int(VECTOR["timestamp"]) + 1)}),
        }
        results = {name: post(server, "/sendgrid/events", body, headers)[0] for name, (body, headers) in cases.items()}
    finally:
        server.stop()
    assert results["unsigned"] == 401 and results["no timestamp"] == 401
    assert all(results[name] == 403 for name in cases if name not in ("unsigned", "no timestamp"))
    # the right signature, but replayed later than the tolerance
    stale = start(tmp_path, sendgrid_public_key=VECTOR["public_key"], sendgrid_tolerance=300,
                  clock=lambda: float(VECTOR["timestamp"]) + 301)
    try:
        assert post(stale, "/sendgrid/events", VECTOR_BODY, good)[0] == 403
    finally:
        stale.stop()
    # a key other than the signer's
    other = start(tmp_path, sendgrid_public_key=neg["bad_public_key"], sendgrid_tolerance=None)
    try:
        assert post(other, "/sendgrid/events", VECTOR_BODY, good)[0] == 403
    finally:
        other.stop()
    assert files(tmp_path, "sendgrid") == []


def test_sendgrid_without_key_is_closed(tmp_path):
    server = start(tmp_path)
    try:
        assert post(server, "/sendgrid/events", VECTOR_BODY,
                    {SIG_HEADER: VECTOR["signature"], TS_HEADER: VECTOR["timestamp"]})[0] == 503
        assert post(server, "/nowhere", b"x", {})[0] == 404
    finally:
        server.stop()
    assert files(tmp_path, "sendgrid") == []


# -- Twilio ---------------------------------------------------------------------------------------
def test_twilio_validator_vector(tmp_path):
    server = start(tmp_path)
    body = urlencode(TW["params"]).encode()
    try:
        ok = post(server, "/myapp.php?foo=1&bar=2", body,
                  {"X-Twilio-Signature": TW["expected_signature"],
                   "Content-Type": "application/x-www-form-urlencoded"})
        tampered = post(server, "/myapp.php?foo=1&bar=2", body.replace(b"1234", b"9999"),
                        {"X-Twilio-Signature": TW["expected_signature"]})
        other_url = post(server, "/myapp.php?foo=1&bar=3", body, {"X-Twilio-Signature": TW["expected_signature"]})
        unsigned = post(server, "/myapp.php?foo=1&bar=2", body, {})
    finally:
        server.stop()
    assert ok[0] == 200 and ok[1] == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert (tampered[0], other_url[0], unsigned[0]) == (403, 403, 401)
    [landed] = files(tmp_path, "twilio")
    assert landed.read_bytes() == body + b"\n"  # only the accepted request, as sent


def _signed_form(url: str, fields: dict) -> tuple[bytes, dict]:
    body = urlencode(fields).encode()
    signature = RequestValidator(TW["auth_token"]).compute_signature(url, fields)
    return body, {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}


def inbound_fields(sid: str, text: str) -> dict:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": "+15017122661",
            "To": "+15558675310", "Body": text, "NumMedia": "0", "FromCountry": "US"}


def status_fields(sid: str, status: str) -> dict:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": ACCOUNT, "From": "+15017122661", "To": "+15558675310", "ApiVersion": "2010-04-01"}


def test_twilio_stop_start_and_status_land(tmp_path):
    server = start(tmp_path, twilio_public_url="https://hooks.example.com/prefix",
                   twilio_inbound_path="/twilio/inbound")
    sent = [("inbound", inbound_fields("SM1", "STOP")), ("inbound", inbound_fields("SM2", "start")),
            ("inbound", inbound_fields("SM3", "hello there\nsecond line")),
            ("status", status_fields("SM9", "delivered")), ("status", status_fields("SM8", "undelivered"))]
    try:
        for kind, fields in sent:
            body, headers = _signed_form(f"https://hooks.example.com/prefix/twilio/{kind}", fields)
            status, reply = post(server, f"/twilio/{kind}", body, headers)
            assert status == 200
            assert reply == (b'<?xml version="1.0" encoding="UTF-8"?><Response/>' if kind == "inbound" else b"")
    finally:
        server.stop()
    landed = files(tmp_path, "twilio")
    assert {p.name.split("-")[0] for p in landed} == {"inbound", "status"}
    day = datetime.strptime(landed[0].parent.name, "%Y-%m-%d").date()
    report = ingest_day(DataDir(tmp_path), "twilio", day)
    assert report.quarantined == 0
    assert report.tables["inbound_messages"].landed == 3 and report.tables["message_status"].landed == 2
    import pyarrow.parquet as pq

    table = pq.read_table(DataDir(tmp_path).landing_partition("twilio", "inbound_messages", day)).to_pylist()
    actions = {r["message_sid"]: r["keyword_action"] for r in table}
    assert actions == {"SM1": "opt_out", "SM2": "opt_in", "SM3": None}
    assert all(r["received_at"] is not None for r in table)


# -- load and restart -----------------------------------------------------------------------------
class Signer:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes) -> dict:
        ts = str(int(time.time()))
        sig = self.key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {SIG_HEADER: base64.b64encode(sig).decode(), TS_HEADER: ts, "Content-Type": "application/json"}


def sendgrid_body(event_ids: list[str]) -> bytes:
    events = [{"email": f"user{i}@example.com", "event": "delivered", "timestamp": 1783000000 + i,
               "sg_event_id": eid, "sg_message_id": "m." + eid, "campaign": "c1"} for i, eid in enumerate(event_ids)]
    return json.dumps(events).encode() + b"\r\n"


def request_plan(n: int, signer: Signer, public_url: str) -> list[tuple[str, bytes, dict, list[str]]]:
    """n requests: 3 of 4 SendGrid bodies of 1-3 events, 1 of 4 Twilio inbound or status."""
    plan = []
    for i in range(n):
        if i % 4 == 3:
            sid = f"SM{uuid.uuid4().hex}"
            kind = "inbound" if i % 8 == 3 else "status"
            fields = inbound_fields(sid, "STOP" if i % 16 == 3 else "thanks") if kind == "inbound" \
                else status_fields(sid, "delivered")
            body, headers = _signed_form(f"{public_url}/twilio/{kind}", fields)
            plan.append((f"/twilio/{kind}", body, headers, [sid]))
        else:
            ids = [uuid.uuid4().hex for _ in range(1 + i % 3)]
            body = sendgrid_body(ids)
            plan.append(("/sendgrid/events", body, signer.headers(body), ids))
    return plan


def run_clients(port_ref, plan, threads: int, deadline: float, acked: list, on_ack=None) -> list[str]:
    """Send every request (keep-alive), retrying a request until it is acknowledged with a 2xx;
    ``acked`` collects the ids of acknowledged requests. Returns errors (other than retried
    connection failures)."""
    errors: list[str] = []
    lock = threading.Lock()
    chunks = [plan[i::threads] for i in range(threads)]

    def worker(chunk):
        conn = None
        for path, body, headers, ids in chunk:
            while True:
                if time.monotonic() > deadline:
                    with lock:
                        errors.append("deadline")
                    return
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port_ref[0], timeout=30)
                    conn.request("POST", path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.02)
                    continue
                if resp.status == 200:
                    with lock:
                        acked.extend(ids)
                    if on_ack:
                        on_ack()
                    break
                with lock:
                    errors.append(f"{path}: {resp.status}")
                break
        if conn is not None:
            conn.close()

    workers = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def landed_ids(root: Path) -> tuple[list[str], list[str]]:
    """(sg_event_ids, twilio MessageSids) as ingestion parses them from the inbox."""
    sg_files, tw_files = files(root, "sendgrid"), files(root, "twilio")
    assert not [p for p in sg_files + tw_files if p.name.startswith(".")], "temp files left behind"
    sg = parse_files("sendgrid", sg_files)
    tw = parse_files("twilio", tw_files)
    assert sg.quarantine.num_rows == 0 and tw.quarantine.num_rows == 0
    sids = tw.tables["inbound_messages"].column("message_sid").to_pylist() + \
        tw.tables["message_status"].column("message_sid").to_pylist()
    return sg.tables["events"].column("sg_event_id").to_pylist(), sids


def test_load_every_event_exactly_once(tmp_path):
    signer = Signer()
    server = start(tmp_path, sendgrid_public_key=signer.public_key, twilio_public_url="https://hooks.example.com",
                   twilio_inbound_path="/twilio/inbound")
    plan = request_plan(2000, signer, "https://hooks.example.com")
    acked: list[str] = []
    try:
        errors = run_clients([server.port], plan, threads=4, deadline=time.monotonic() + 240, acked=acked)
    finally:
        server.stop()
    assert errors == []
    sent = [i for *_, ids in plan for i in ids]
    sg_ids, sids = landed_ids(tmp_path)
    assert sorted(sg_ids + sids) == sorted(sent) == sorted(acked)  # each exactly once


def test_restart_mid_stream_loses_nothing_acknowledged(tmp_path):
    signer = Signer()
    kw = dict(sendgrid_public_key=signer.public_key, twilio_public_url="https://hooks.example.com",
              twilio_inbound_path="/twilio/inbound")
    server = start(tmp_path, **kw)
    port = [server.port]
    plan = request_plan(600, signer, "https://hooks.example.com")
    acked: list[str] = []
    count = [0]
    halfway = threading.Event()

    def on_ack():
        count[0] += 1
        if count[0] == 200:
            halfway.set()

    result: dict = {}
    clients = threading.Thread(target=lambda: result.setdefault(
        "errors", run_clients(port, plan, threads=3, deadline=time.monotonic() + 240, acked=acked, on_ack=on_ack)))
    clients.start()
    assert halfway.wait(120)
    server.stop()  # while clients keep sending: they see refused connections and retry
    time.sleep(0.3)
    server = start(tmp_path, port=port[0], **kw)
    clients.join()
    server.stop()
    assert result["errors"] == []
    assert sum(server.receiver.stats.values()) > 0  # the stream really continued after the restart
    sent = {i for *_, ids in plan for i in ids}
    sg_ids, sids = landed_ids(tmp_path)
    on_disk = sg_ids + sids
    assert set(acked) == sent  # everything was eventually acknowledged
    assert set(acked) <= set(on_disk)  # and every acknowledged request is on disk
    assert sorted(on_disk) == sorted(sent)  # nothing else, and once: a retry of an unanswered request is a replay


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    signer = Signer()
    env = {**os.environ, "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key, "TWILIO_AUTH_TOKEN": "cli-token"}
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "retention.live.webhooks", "--host", "127.0.0.1", "--port",
                             str(port), "--data-dir", str(tmp_path)], env=env, stderr=subprocess.PIPE)
    try:
        wait_until_healthy("127.0.0.1", port, timeout=30)
        body = sendgrid_body(["cli-event"])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/sendgrid/events", body=body, headers=signer.headers(body))
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert b"cli-token" not in err and signer.public_key.encode() not in err
    [landed] = files(tmp_path, "sendgrid")
    assert landed.read_bytes() == body
