"""The webhook receiver against hostile and unlucky clients, over real sockets on loopback:
unsigned bodies refused unread, Content-Length rules, a slow client cut off by the request
deadline, the connection bound, replays of each provider (also across a restart), a burst with
malformed and unsigned requests from several threads, the receiver's memory under 24 unsigned
15 MB requests, and kill -9 of the receiver mid-burst with the senders retrying."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from retention.live.webhooks import ReceiverConfig, WebhookServer, wait_until_healthy
from retention.paths import DataDir
from tests.test_live_shopify_webhook_route import headers as shopify_headers
from tests.test_live_webhooks import (
    SIG_HEADER,
    TW,
    Signer,
    _signed_form,
    files,
    inbound_fields,
    landed_ids,
    sendgrid_body,
    status_fields,
)

PUBLIC_URL = "https://hooks.example.com"
SHOPIFY_SECRET = "test_secret_key"
BIG = 15 * 1024 * 1024


def start(tmp_path: Path, signer: Signer | None = None, **kw) -> WebhookServer:
    values = dict(data_dir=DataDir(tmp_path), host="127.0.0.1", port=0, twilio_auth_token=TW["auth_token"],
                  twilio_public_url=PUBLIC_URL, shopify_api_secret=SHOPIFY_SECRET,
                  sendgrid_public_key=(signer or Signer()).public_key)
    values.update(kw)
    return WebhookServer(ReceiverConfig(**values)).start()


def post(port: int, path: str, body: bytes, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def raw_request(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    return sock


def status_of(sock: socket.socket) -> int:
    """The status code of the answer on ``sock``."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (EOF or reset) with no answer; polls for 50 ms."""
    if not select.select([sock], [], [], 0.05)[0]:
        return False
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    assert data == b"", f"an answer where none was due: {data[:40]!r}"
    return True


def wait_closed(sock: socket.socket, polls: int = 1200) -> None:
    """Wait (at most ``polls`` polls) until the server closes ``sock``."""
    for _ in range(polls):
        if closed_by_server(sock):
            return
    raise AssertionError("the server kept the connection open")


def sendgrid_request(signer: Signer, ids: list[str]) -> tuple[str, bytes, dict]:
    body = sendgrid_body(ids)
    return "/sendgrid/events", body, signer.headers(body)


def twilio_request(kind: str, fields: dict) -> tuple[str, bytes, dict]:
    body, headers = _signed_form(f"{PUBLIC_URL}/twilio/{kind}", fields)
    return f"/twilio/{kind}", body, headers


# -- refused before the body is read --------------------------------------------------------------
@pytest.mark.parametrize("path,signature_header", [
    ("/sendgrid/events", None), ("/twilio/status", None), ("/shopify/webhooks", None),
    ("/sendgrid/events", f"{SIG_HEADER}: c2ln\r\nX-Twilio-Email-Event-Webhook-Timestamp: 1000"),  # stale
], ids=["sendgrid", "twilio", "shopify", "sendgrid-stale"])
def test_an_unsigned_big_body_is_refused_without_being_read(tmp_path, path, signature_header):
    server = start(tmp_path)
    extra = f"{signature_header}\r\n" if signature_header else ""
    try:
        sock = raw_request(server.port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {BIG}\r\n{extra}\r\n"
                           .encode())
        sock.sendall(b"x" * 4096)  # the start of the body, the rest is never wanted
        assert status_of(sock) == (403 if signature_header else 401)
        sent_more = 0
        try:  # the server closed the connection: the client's send is cut well before 15 MB
            while sent_more < BIG:
                sent_more += sock.send(b"x" * 65536)
        except OSError:
            pass
        sock.close()
    finally:
        server.stop()
    assert sent_more < BIG
    assert server.receiver.stats["bytes read"] < 64 * 1024
    assert files(tmp_path, "sendgrid") == files(tmp_path, "twilio") == files(tmp_path, "shopify") == []


def test_content_length_is_required_and_bounded_before_reading(tmp_path):
    signer = Signer()
    server = start(tmp_path, signer, max_body_bytes=1024)
    path, body, headers = sendgrid_request(signer, ["e1"])
    signed = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k != "Content-Type")
    try:
        heads = {
            "no length": f"POST {path} HTTP/1.1\r\nHost: x\r\n{signed}\r\n",
            "not a number": f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n{signed}\r\n",
            "chunked": f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{signed}\r\n",
            "over the route's limit": f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n{signed}\r\n",
            "over Twilio's form limit": "POST /twilio/status HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n"
                                        "X-Twilio-Signature: c2ln\r\n\r\n",
        }
        answers = {}
        for name, head in heads.items():
            sock = raw_request(server.port, head.encode())
            answers[name] = status_of(sock)
            sock.close()
        assert post(server.port, path, body, headers) == 200  # the same request, well formed
    finally:
        server.stop()
    assert answers == {"no length": 411, "not a number": 411, "chunked": 411, "over the route's limit": 413,
                       "over Twilio's form limit": 413}
    assert server.receiver.stats["bytes read"] < 8 * 1024
    assert len(files(tmp_path, "sendgrid")) == 1


def test_headers_and_bodies_held_in_memory_are_bounded(tmp_path):
    """Forged signature headers get a body read, so what bodies may hold is capped over all
    connections (``max_buffered_bytes``), and headers are capped per request."""
    server = start(tmp_path, max_buffered_bytes=1000, request_timeout=60)
    forged = "POST /shopify/webhooks HTTP/1.1\r\nHost: x\r\nX-Shopify-Hmac-Sha256: Zm9yZ2Vk\r\nContent-Length: 800\r\n\r\n"
    try:
        huge_headers = raw_request(server.port, b"POST /shopify/webhooks HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 60000
                                   + b"\r\nX-Pad2: " + b"p" * 60000 + b"\r\n\r\n")
        wait_closed(huge_headers)  # cut, unanswered, after 64 KiB
        huge_headers.close()
        holder = raw_request(server.port, forged.encode() + b"{" * 10)  # holds 800 bytes of budget
        while server.httpd.bodies.used < 800:
            time.sleep(0.01)
        second = raw_request(server.port, forged.encode())
        assert status_of(second) == 503  # refused from its headers: its 800 bytes would pass the budget
        second.close()
        holder.close()  # the first one's reservation is released once it is gone
        while server.httpd.bodies.used:
            time.sleep(0.01)
        assert post(server.port, "/shopify/webhooks", b"{" * 800, {"X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"}) == 403
    finally:
        server.stop()
    assert server.receiver.stats["bytes read"] < 64 * 1024 + 8 * 1024 + 2000
    assert files(tmp_path, "shopify") == []


# -- slow clients and many clients ----------------------------------------------------------------
@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_client_trickling_bytes_is_cut_off_by_the_request_deadline(tmp_path, phase):
    """Each byte arrives well within the idle timeout (30 s): only the request's deadline ends it."""
    signer = Signer()
    server = start(tmp_path, signer, request_timeout=1.0)
    path, body, headers = sendgrid_request(signer, ["slow-1"])
    signed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{signed}\r\n".encode()
    trickle = head if phase == "headers" else body
    try:
        sock = raw_request(server.port, b"" if phase == "headers" else head)
        sent = 0
        while sent < len(trickle) and not closed_by_server(sock):
            try:
                sock.send(trickle[sent:sent + 1])
            except OSError:
                break
            sent += 1
            time.sleep(0.05)
        assert sent < len(trickle), "the whole request trickled in without being cut off"
        wait_closed(sock)  # the server closes: no answer, no file
        sock.close()
        silent = raw_request(server.port, b"")  # connects and never speaks: closed by the same deadline
        wait_closed(silent)
        silent.close()
    finally:
        server.stop()
    assert files(tmp_path, "sendgrid") == []


def test_connections_beyond_the_bound_are_refused_at_once_and_served_again_later(tmp_path):
    server = start(tmp_path, max_connections=4, request_timeout=60)
    held = []
    try:
        for _ in range(4):  # four slow clients, each holding a connection mid-headers
            held.append(raw_request(server.port, b"POST /sendgrid/events HTTP/1.1\r\nHost: x\r\n"))
        while server.httpd.connections < 4:  # all four accepted and handed a thread
            time.sleep(0.01)
        threads_held = threading.active_count()
        refused = []
        for _ in range(20):
            sock = raw_request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                refused.append(status_of(sock))
            except (AssertionError, ConnectionResetError):
                refused.append("closed")
            sock.close()
        assert threading.active_count() == threads_held  # no thread for a refused connection
        for sock in held:
            sock.close()
        while True:  # once the slow clients are gone, requests are served again
            sock = raw_request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                if status_of(sock) == 200:
                    break
            except (AssertionError, ConnectionResetError):
                pass
            finally:
                sock.close()
    finally:
        server.stop()
    assert set(refused) <= {503, "closed"} and 503 in refused
    assert server.receiver.stats["connections refused 503"] >= 20


# -- replays --------------------------------------------------------------------------------------
def test_replays_of_each_provider_are_acknowledged_and_stored_once_across_a_restart(tmp_path):
    signer = Signer()
    shopify_body = b'{"id": 7, "updated_at": "2026-03-14T10:00:00Z"}'
    requests = {
        "sendgrid": sendgrid_request(signer, ["ev-1", "ev-2"]),
        "twilio status": twilio_request("status", status_fields("SM1", "delivered")),
        "twilio inbound": twilio_request("inbound", inbound_fields("SM2", "STOP")),
        "shopify": ("/shopify/webhooks", shopify_body, shopify_headers(shopify_body, "orders/updated", "w-1")),
    }
    later_status = twilio_request("status", status_fields("SM1", "read"))  # the same message, a new status
    for _ in range(2):  # the second receiver knows nothing but what the inbox holds
        server = start(tmp_path, signer)
        try:
            answers = {name: [post(server.port, *request) for _ in range(3)] for name, request in requests.items()}
            answers["later status"] = [post(server.port, *later_status)]
        finally:
            server.stop()
        assert all(statuses == [200] * len(statuses) for statuses in answers.values()), answers
    sg_ids, sids = landed_ids(tmp_path)
    assert sorted(sg_ids) == ["ev-1", "ev-2"] and sorted(sids) == ["SM1", "SM1", "SM2"]
    assert len(files(tmp_path, "shopify")) == 1
    assert server.receiver.stats["sendgrid duplicate"] == 3 and server.receiver.stats["shopify duplicate"] == 3


# -- a burst, and kill -9 in the middle of one ----------------------------------------------------
def burst_plan(n: int, signer: Signer) -> list[tuple[str, bytes, dict, list[str], int]]:
    """n requests of all three providers, one in five bad: (path, body, headers, ids, expected status)."""
    plan = []
    for i in range(n):
        uid = uuid.uuid4().hex
        if i % 3 == 0:
            path, body, headers = twilio_request("status" if i % 2 else "inbound",
                                                 status_fields(f"SM{uid}", "sent") if i % 2 else
                                                 inbound_fields(f"SM{uid}", "hi"))
        elif i % 3 == 1:
            path, body, headers = sendgrid_request(signer, [uid])
        else:
            body = json.dumps({"id": i}).encode()
            path, headers = "/shopify/webhooks", shopify_headers(body, "orders/create", f"w-{uid}")
        ids, expected = [uid], 200
        if i % 5 == 4:  # unsigned, tampered or malformed: refused, never stored
            ids = []
            if i % 15 == 4:
                headers, expected = {k: v for k, v in headers.items() if "ignature" not in k and "Hmac" not in k}, 401
            elif i % 15 == 9:
                body, expected = body.replace(b"1", b"2", 1) + b" ", 403
            else:
                body, expected = b"{not json" if path != "/shopify/webhooks" else body, 403
                headers = {**headers, **({"X-Shopify-Hmac-Sha256": "bm90IGl0"} if path == "/shopify/webhooks"
                                         else {})}
        plan.append((path, body, headers, ids, expected))
    return plan


def send_all(port: int, plan, threads: int, acked: list, stop_after: int = 10_000) -> list[str]:
    """Each thread sends its share over keep-alive connections; a connection error is retried (the
    receiver may be down), any answer is final. Returns the requests answered otherwise than expected."""
    wrong: list[str] = []
    lock = threading.Lock()

    def worker(chunk):
        conn = None
        for path, body, headers, ids, expected in chunk:
            for _attempt in range(stop_after):
                try:
                    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.02)
                    continue
                if response.will_close:
                    conn.close()
                    conn = None
                if response.status == 503:  # busy: retry
                    continue
                with lock:
                    if response.status == 200 and expected == 200:
                        acked.extend(ids)
                    elif response.status != expected:
                        wrong.append(f"{path}: {response.status}, expected {expected}")
                break
            else:
                with lock:
                    wrong.append(f"{path}: never answered")
        if conn is not None:
            conn.close()

    workers = [threading.Thread(target=worker, args=(plan[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return wrong


def on_disk_ids(root: Path) -> list[str]:
    sg_ids, sids = landed_ids(root)
    shopify = [p.stem.split("-w-", 1)[1] for p in files(root, "shopify")]
    return sg_ids + [s.removeprefix("SM") for s in sids] + shopify


def test_a_burst_with_bad_requests_stores_every_good_one_exactly_once(tmp_path):
    signer = Signer()
    plan = burst_plan(500, signer)
    server = start(tmp_path, signer)
    acked: list[str] = []
    try:
        began = time.monotonic()
        wrong = send_all(server.port, plan, threads=6, acked=acked)
        elapsed = time.monotonic() - began
    finally:
        server.stop()
    assert wrong == []
    valid = [i for *_, ids, _ in plan for i in ids]
    assert len(valid) == 400
    on_disk = on_disk_ids(tmp_path)
    assert sorted(on_disk) == sorted(acked) == sorted(valid)  # every good one, once; no bad one
    refused = sum(n for key, n in server.receiver.stats.items() if " refused " in key)
    assert refused == 100
    print(f"\nburst: {len(plan)} requests ({refused} refused) in {elapsed:.2f} s = {len(plan) / elapsed:.0f} req/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(tmp_path: Path, port: int, signer: Signer) -> subprocess.Popen:
    env = {**os.environ, "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key, "TWILIO_AUTH_TOKEN": TW["auth_token"],
           "TWILIO_WEBHOOK_PUBLIC_URL": PUBLIC_URL, "SHOPIFY_API_SECRET": SHOPIFY_SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "retention.live.webhooks", "--host", "127.0.0.1", "--port",
                             str(port), "--data-dir", str(tmp_path)], env=env, stderr=subprocess.DEVNULL)
    wait_until_healthy("127.0.0.1", port, timeout=60)
    return proc


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_stays_flat_under_unsigned_big_bodies(tmp_path):
    signer = Signer()
    port = free_port()
    proc = spawn(tmp_path, port, signer)
    try:
        path, body, headers = sendgrid_request(signer, ["warm-up"])
        assert post(port, path, body, headers) == 200
        before = rss_kib(proc.pid)
        big = b"x" * BIG

        def upload(path, extra=""):
            try:
                sock = raw_request(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {BIG}\r\n{extra}\r\n"
                                   .encode())
                sock.sendall(big)
                status_of(sock)
            except (OSError, AssertionError):
                return  # cut off by the server, as it should be
            sock.close()

        def burst(extra=""):
            senders = [threading.Thread(target=upload, args=(p, extra))
                       for p in ["/sendgrid/events", "/shopify/webhooks"] * 12]
            for s in senders:
                s.start()
            for s in senders:
                s.join()

        burst()
        after = rss_kib(proc.pid)
        burst("X-Shopify-Hmac-Sha256: Zm9yZ2Vk\r\n")  # forged: these bodies are read, within the budget
        forged = rss_kib(proc.pid)
        assert post(port, path, body, headers) == 200  # still serving (a replay: acknowledged)
    finally:
        proc.kill()
        proc.wait()
    print(f"\nreceiver RSS before {before / 1024:.1f} MB, after 24 unsigned 15 MB requests {after / 1024:.1f} MB, "
          f"after 24 with a forged signature header {forged / 1024:.1f} MB")
    assert after - before < BIG // 1024 // 2  # not even half of one body was held
    assert forged - before < 64 * 1024 + BIG // 1024  # the bodies' budget (64 MB), not 24 bodies
    assert len(files(tmp_path, "sendgrid")) == 1


def test_kill_9_mid_burst_then_restart_keeps_every_acknowledged_event_exactly_once(tmp_path):
    signer = Signer()
    port = free_port()
    plan = burst_plan(300, signer)
    acked: list[str] = []
    result: dict = {}
    proc = spawn(tmp_path, port, signer)
    senders = threading.Thread(target=lambda: result.setdefault("wrong", send_all(port, plan, 4, acked)))
    senders.start()
    while len(acked) < 80 and senders.is_alive():
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # mid-burst: requests in flight are unanswered, the senders retry
    proc.wait()
    killed_at = len(acked)
    proc = spawn(tmp_path, port, signer)
    try:
        senders.join()
    finally:
        proc.terminate()
        proc.wait()
    assert 80 <= killed_at < 240 and result["wrong"] == []
    # a write cut by the kill leaves at most a hidden temp file, which ingestion skips
    leftovers = [p for source in ("sendgrid", "shopify") for p in files(tmp_path, source) if p.name.startswith(".")]
    assert all(p.name.endswith(".tmp") for p in leftovers)
    for p in leftovers:
        p.unlink()
    valid = [i for *_, ids, _ in plan for i in ids]
    on_disk = Counter(on_disk_ids(tmp_path))
    assert sorted(acked) == sorted(valid)  # everything was acknowledged in the end
    assert set(on_disk) == set(valid) and set(on_disk.values()) == {1}  # each on disk exactly once
