"""The webhook receiver: SendGrid's signed Event Webhook and Twilio's status callbacks and
inbound messages, one small threaded HTTP service.

    python -m retention.live.webhooks --host 127.0.0.1 --port 8787 --data-dir ./data

Routes (paths configurable):

- ``POST /sendgrid/events``  verified with ``SENDGRID_WEBHOOK_PUBLIC_KEY``; the raw body is written
  as one file ``inbox/sendgrid/<UTC day>/events-<HHMMSS>-<key>.json`` (atomic, fsynced) before
  the 200, where the key is the digest of the batch's ``sg_event_id`` values.
- ``POST /twilio/status`` and ``POST /twilio/inbound``  verified with ``TWILIO_AUTH_TOKEN`` against
  the public URL (``TWILIO_WEBHOOK_PUBLIC_URL`` + the request path and query, since a proxy may sit
  in front; without it ``http://<Host header>``); the body is appended as one line to
  ``inbox/twilio/<UTC day>/<status|inbound>-<YYYYMMDDTHHMM00Z>.txt`` (one file a minute, a lock per
  file, fsynced before the answer). Inbound messages get an empty TwiML ``<Response/>``.
  STOP/START keywords need nothing here: ingestion derives ``keyword_action`` from ``Body``.
- ``POST /shopify/webhooks``  verified with ``SHOPIFY_API_SECRET`` (the app's client secret:
  HMAC-SHA256 of the raw body in ``X-Shopify-Hmac-Sha256``); the raw body is written once per
  ``X-Shopify-Webhook-Id`` to ``inbox/shopify/<UTC day>/webhooks/<topic>/`` (atomic, fsynced)
  before the 200; a redelivered id is acknowledged and not written again
  (``retention.live.shopify_inbox``).
- ``GET /healthz``.

Answers: 401 unsigned (no signature header), 403 bad or stale signature, 404 unknown route,
411/413/400 for a body that is missing, too large or not one form line, 503 when the route's
secret is not configured, 500 when the write failed (the provider retries). Nothing is written
for a refused request. Logs carry counts, never bodies, addresses or secrets.

Hardening (all in ``ReceiverConfig``):

- The headers are checked before the body is read: a request without its signature header (or
  with a SendGrid timestamp out of the window) is refused and its body never read; the body needs
  a ``Content-Length`` within the route's limit (``max_body_bytes``, ``max_form_bytes`` for
  Twilio's form lines; chunked bodies are refused). A connection whose body was not read is closed.
- ``request_timeout`` bounds one request from its first byte to its last, however slowly the
  bytes trickle in; the connection is then closed without an answer.
- ``max_connections`` bounds the connections served at once; one more is answered 503 from the
  accepting thread and closed, so threads and memory stay bounded.
- A request reads at most ``max_header_bytes`` of headers; the bodies held in memory at once, over
  all connections, stay within ``max_buffered_bytes`` (a request beyond it gets 503 from its
  headers): a forged signature header does get its body read, so that memory is bounded too.
- Replays: a delivery the inbox already holds (SendGrid's ``sg_event_id`` batch, Twilio's
  ``MessageSid`` + ``MessageStatus``, Shopify's ``X-Shopify-Webhook-Id``) is acknowledged with a
  200 and not written again, also after a restart (``retention.live.replays``).

Stopping (SIGTERM/SIGINT or ``WebhookServer.stop``) stops accepting, lets requests in flight finish
(they are acknowledged only after their bytes are on disk), and closes idle keep-alive connections.
"""

from __future__ import annotations

import argparse
import http.client
import io
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from retention.live.inbox_writer import AppendLog, write_atomic
from retention.live.replays import DeliveryIndex, sendgrid_key, twilio_key
from retention.live.shopify_inbox import ShopifyWebhookInbox, WebhookRefused
from retention.live.shopify_webhooks import HMAC_HEADER, ShopifyWebhookError, header, verify_webhook
from retention.live.signatures import (
    DEFAULT_TOLERANCE_SECONDS,
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SendGridVerifier,
    SignatureError,
    TwilioVerifier,
)
from retention.paths import DataDir

log = logging.getLogger("retention.live.webhooks")
TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass
class ReceiverConfig:
    data_dir: DataDir
    host: str = "127.0.0.1"
    port: int = 8787
    sendgrid_public_key: str | None = None
    sendgrid_tolerance: float | None = DEFAULT_TOLERANCE_SECONDS
    twilio_auth_token: str | None = None
    twilio_public_url: str | None = None
    shopify_api_secret: str | None = None
    sendgrid_path: str = "/sendgrid/events"
    twilio_status_path: str = "/twilio/status"
    twilio_inbound_path: str = "/twilio/inbound"
    shopify_path: str = "/shopify/webhooks"
    max_body_bytes: int = 16 * 1024 * 1024  # SendGrid batches and Shopify deliveries
    max_form_bytes: int = 64 * 1024  # a Twilio callback is one short form line
    idle_timeout: float = 30.0  # a keep-alive connection waiting for its next request
    request_timeout: float = 10.0  # one request, first byte to last, however it trickles in
    max_connections: int = 64  # beyond it a new connection gets 503 at once: threads and memory stay bounded
    max_header_bytes: int = 64 * 1024  # request line and headers
    max_buffered_bytes: int = 64 * 1024 * 1024  # bodies held in memory at once, over all connections
    clock: object = field(default=time.time, repr=False)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], data_dir: DataDir | None = None, **overrides) -> ReceiverConfig:
        """From settings named after the environment variables (RETENTION_WEBHOOK_HOST and friends)."""
        tolerance = env.get("SENDGRID_WEBHOOK_TOLERANCE_SECONDS")
        values = dict(
            data_dir=data_dir or DataDir.from_mapping(env),
            host=env.get("RETENTION_WEBHOOK_HOST", "127.0.0.1"),
            port=int(env.get("RETENTION_WEBHOOK_PORT", "8787")),
            sendgrid_public_key=env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
            sendgrid_tolerance=float(tolerance) if tolerance else DEFAULT_TOLERANCE_SECONDS,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_public_url=env.get("TWILIO_WEBHOOK_PUBLIC_URL") or None,
            shopify_api_secret=env.get("SHOPIFY_API_SECRET") or None,
            request_timeout=float(env.get("RETENTION_WEBHOOK_REQUEST_TIMEOUT") or 10.0),
            max_connections=int(env.get("RETENTION_WEBHOOK_MAX_CONNECTIONS") or 64),
            max_buffered_bytes=int(env.get("RETENTION_WEBHOOK_MAX_BUFFERED_BYTES") or 64 * 1024 * 1024),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class _Refused(Exception):
    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.status = status
        self.why = why


class _Cut(Exception):
    """The client ran out of time or went away before its body arrived: nothing to answer."""


class Receiver:
    """What the routes do, independent of the HTTP plumbing."""

    def __init__(self, config: ReceiverConfig):
        self.config = config
        self.sendgrid = (SendGridVerifier(config.sendgrid_public_key, config.sendgrid_tolerance, config.clock)
                         if config.sendgrid_public_key else None)
        self.twilio = TwilioVerifier(config.twilio_auth_token) if config.twilio_auth_token else None
        self.shopify = [config.shopify_api_secret] if config.shopify_api_secret else None  # secrets that may sign
        self.shopify_inbox = ShopifyWebhookInbox(config.data_dir)
        self.sendgrid_index = DeliveryIndex(self._sendgrid_keys)
        self.twilio_index = DeliveryIndex(self._twilio_keys)
        self.appender = AppendLog()
        self.stats: Counter = Counter()
        self._stats_lock = threading.Lock()
        self.routes = {config.sendgrid_path: "sendgrid", config.twilio_status_path: "status",
                       config.twilio_inbound_path: "inbound", config.shopify_path: "shopify"}

    def count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def now(self) -> datetime:
        """The receiver's clock (``config.clock``): it names the inbox day a request is filed under."""
        return datetime.fromtimestamp(self.config.clock(), UTC)

    def receive(self, kind: str, headers, read_body, path_and_query: str) -> bool:
        """Check the headers, then read the body (``read_body(limit)``), verify and store it once.
        True for a new delivery, False for a replay the inbox already holds."""
        self.check_headers(kind, headers)
        body = read_body(self.config.max_form_bytes if kind in ("status", "inbound") else self.config.max_body_bytes)
        if kind == "sendgrid":
            return self.sendgrid_events(body, headers)
        if kind == "shopify":
            return self.shopify_webhook(body, headers)
        return self.twilio_message(kind, body, headers, path_and_query)

    def check_headers(self, kind: str, headers) -> None:
        """Refusals the headers alone decide, so an unsigned or stale request's body is never read:
        503 for a route without its secret, 401 unsigned, 403 a SendGrid timestamp out of its window."""
        if kind == "sendgrid":
            if self.sendgrid is None:
                raise _Refused(503, "SendGrid webhook public key not configured")
            signature, timestamp = headers.get(SENDGRID_SIGNATURE_HEADER), headers.get(SENDGRID_TIMESTAMP_HEADER)
            if not signature or not timestamp:
                raise _Refused(401, "unsigned")
            try:
                self.sendgrid.check_timestamp(timestamp)
            except SignatureError as exc:
                raise _Refused(403, str(exc)) from None
        elif kind == "shopify":
            if self.shopify is None:
                raise _Refused(503, "Shopify API secret not configured")
            if not header(headers, HMAC_HEADER):
                raise _Refused(401, "unsigned")
        else:
            if self.twilio is None:
                raise _Refused(503, "Twilio auth token not configured")
            if not headers.get(TWILIO_SIGNATURE_HEADER):
                raise _Refused(401, "unsigned")

    def sendgrid_events(self, body: bytes, headers) -> bool:
        try:
            self.sendgrid.verify(body, headers.get(SENDGRID_SIGNATURE_HEADER), headers.get(SENDGRID_TIMESTAMP_HEADER))
        except SignatureError as exc:
            raise _Refused(403, str(exc)) from None
        now = self.now()
        key = sendgrid_key(body)  # the file name carries it: the inbox is the replay record
        path = self.config.data_dir.inbox_day("sendgrid", now.date()) / f"events-{now:%H%M%S}-{key}.json"
        return self.sendgrid_index.store_once(key, now.date(), lambda: write_atomic(path, body))[1]

    def _sendgrid_keys(self, day) -> set[str]:
        folder = self.config.data_dir.inbox_day("sendgrid", day)
        return {p.stem.rsplit("-", 1)[1] for p in folder.glob("events-*.json")}

    def twilio_message(self, kind: str, body: bytes, headers, path_and_query: str) -> bool:
        base = self.config.twilio_public_url or f"http://{headers.get('Host', '')}"
        try:
            self.twilio.verify(base.rstrip("/") + path_and_query, body, headers.get(TWILIO_SIGNATURE_HEADER))
        except SignatureError as exc:
            raise _Refused(403, str(exc)) from None
        line = body[:-2] if body.endswith(b"\r\n") else body[:-1] if body.endswith(b"\n") else body
        if b"\n" in line or b"\r" in line:
            raise _Refused(400, "a form body with a raw line break")
        now = self.now()
        path = self.config.data_dir.inbox_day("twilio", now.date()) / f"{kind}-{now:%Y%m%dT%H%M}00Z.txt"
        return self.twilio_index.store_once(twilio_key(kind, line), now.date(),
                                            lambda: self.appender.append(path, line))[1]

    def _twilio_keys(self, day) -> set[str]:
        keys = set()
        for path in self.config.data_dir.inbox_day("twilio", day).glob("*.txt"):
            kind = path.name.split("-", 1)[0]
            keys.update(twilio_key(kind, line) for line in path.read_bytes().splitlines() if line)
        return keys

    def shopify_webhook(self, body: bytes, headers) -> bool:
        """True when the delivery is new, False for a redelivery already in the inbox."""
        try:
            verify_webhook(headers, body, self.shopify)
        except ShopifyWebhookError as exc:
            status = {"missing_hmac": 401, "invalid_hmac": 403}.get(exc.reason, 400)
            raise _Refused(status, str(exc)) from None
        try:
            return self.shopify_inbox.store(body, headers, self.now())[1]
        except WebhookRefused as exc:
            raise _Refused(400, str(exc)) from None

    def close(self) -> None:
        self.appender.close()


class _DeadlineReader(io.RawIOBase):
    """The reading side of a connection, bounded per request rather than per recv: a client that
    trickles its request a byte at a time (every recv in time, the whole too slow) is cut off once
    ``request_timeout`` has passed since the request's first byte (for a new connection: since it
    was accepted, so a connection that never speaks holds its thread no longer); between requests
    on a kept-alive connection the wait is ``idle_timeout``. A request may read ``head_bytes`` plus
    the body it was allowed (``allow``), so headers cannot grow without end either. Counts the
    bytes it reads."""

    def __init__(self, sock: socket.socket, idle_timeout: float, request_timeout: float, head_bytes: int):
        self.sock = sock
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.head_bytes = head_bytes
        self.deadline: float | None = time.monotonic() + request_timeout  # None: waiting for the next request
        self.allowed, self.request_bytes = head_bytes, 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def allow(self, size: int) -> None:
        self.allowed += size

    def readinto(self, buffer) -> int:
        if self.deadline is None:
            self.sock.settimeout(self.idle_timeout)
            self.allowed, self.request_bytes = self.head_bytes, 0
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request deadline passed")
            self.sock.settimeout(left)
        room = self.allowed - self.request_bytes
        if room <= 0:
            raise TimeoutError("request larger than its headers and body allow")  # ends it as a deadline does
        n = self.sock.recv_into(memoryview(buffer)[:room])
        if self.deadline is None and n:  # the next request's first byte
            self.deadline = time.monotonic() + self.request_timeout
        self.request_bytes += n
        self.bytes_read += n
        return n


class _ByteBudget:
    """Bytes of request bodies held in memory at once, over all connections."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, size: int) -> bool:
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self.used -= size


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "retention-webhooks"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        self.busy = False
        self.body_read = False
        config = self.server.receiver.config
        self.reader = _DeadlineReader(self.connection, config.idle_timeout, config.request_timeout,
                                      config.max_header_bytes)
        self.reserved = 0
        self.rfile.close()
        self.rfile = io.BufferedReader(self.reader)
        self.server.track(self, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self, False)
            self.server.receiver.count("bytes read", self.reader.bytes_read)

    def handle(self) -> None:
        self.close_connection = True
        while True:
            if self.server.stopping.is_set():
                break
            self.busy = False
            self.handle_one_request()
            if self.close_connection:
                break
            self.reader.deadline = None  # served: the next request's clock starts with its first byte

    def parse_request(self) -> bool:
        self.busy = True
        self.body_read = False
        return super().parse_request()

    def log_message(self, format, *args) -> None:  # noqa: A002 - no request lines in the logs
        pass

    def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.stopping.is_set() or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/healthz":
            self._reply(200, b"ok\n")
        else:
            self._reply(404, b"not found\n")

    def _read_body(self, limit: int) -> bytes:
        """The body, once the headers allow it: a declared length within ``limit``, read in full
        before the request's deadline."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise _Refused(411, "chunked bodies are not accepted; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _Refused(411, "Content-Length required")
        size = int(length)
        if size > limit:
            raise _Refused(413, "body too large")
        if not self.server.bodies.reserve(size):  # memory stays bounded whatever the headers claim
            raise _Refused(503, "busy")
        self.reserved = size
        self.reader.allow(size)
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            raise _Cut("deadline") from None
        except OSError:
            raise _Cut("connection lost") from None
        if len(body) != size:
            raise _Refused(400, "body shorter than Content-Length")
        self.body_read = True
        return body

    def do_POST(self) -> None:  # noqa: N802
        try:
            self._post()
        finally:
            self.server.bodies.release(self.reserved)
            self.reserved = 0

    def _post(self) -> None:
        receiver: Receiver = self.server.receiver
        kind = receiver.routes.get(urlsplit(self.path).path)
        name = f"twilio {kind}" if kind in ("status", "inbound") else kind
        try:
            if kind is None:
                raise _Refused(404, "not found")
            new = receiver.receive(kind, self.headers, self._read_body, self.path)
        except _Refused as exc:
            receiver.count(f"{name or 'unknown route'} refused {exc.status}")
            if not self.body_read:
                self.close_connection = True  # the unread body is still on the stream: it cannot be reused
            self._reply(exc.status, (exc.why + "\n").encode())
            return
        except _Cut as exc:
            receiver.count(f"{name} cut: {exc}")
            self.close_connection = True
            return
        except OSError:
            receiver.count(f"{name} write failed")
            log.exception("webhook write failed (%s)", name)
            self.close_connection = True
            self._reply(500, b"could not store the request\n")
            return
        receiver.count(f"{name} {'accepted' if new else 'duplicate'}")  # a replay is acknowledged, not rewritten
        if kind == "inbound":
            self._reply(200, TWIML_EMPTY, "text/xml; charset=utf-8")
        else:
            self._reply(200)


BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
        b"Retry-After: 1\r\nConnection: close\r\n\r\nbusy\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, receiver: Receiver):
        self.receiver = receiver
        self.stopping = threading.Event()
        self._handlers: set = set()
        self._handlers_lock = threading.Lock()
        self._connections = 0  # connections with a thread, at most config.max_connections
        self.bodies = _ByteBudget(receiver.config.max_buffered_bytes)
        super().__init__(address, _Handler)

    @property
    def connections(self) -> int:
        """Connections being served now (each with its thread)."""
        with self._handlers_lock:
            return self._connections

    def process_request(self, request, client_address) -> None:
        with self._handlers_lock:
            full = self._connections >= self.receiver.config.max_connections
            if not full:
                self._connections += 1
        if full:  # answered from the accepting thread, no thread and no read: the sender retries later
            self.receiver.count("connections refused 503")
            request.setblocking(False)
            try:
                request.send(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._released()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._released()

    def _released(self) -> None:
        with self._handlers_lock:
            self._connections -= 1

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a client that went away mid-answer: nothing to report but the count
            self.receiver.count("connections lost")
        else:
            log.exception("webhook connection failed")

    def track(self, handler, alive: bool) -> None:
        with self._handlers_lock:
            (self._handlers.add if alive else self._handlers.discard)(handler)

    def close_idle(self) -> int:
        with self._handlers_lock:
            handlers = list(self._handlers)
        for handler in handlers:
            if not handler.busy:
                try:
                    handler.connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
        return len(handlers)


class WebhookServer:
    """The receiver on a socket; ``start()`` serves in a background thread, ``stop()`` drains."""

    def __init__(self, config: ReceiverConfig):
        self.config = config
        self.receiver = Receiver(config)
        self.httpd = _Server((config.host, config.port), self.receiver)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> WebhookServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="webhooks", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self, drain_seconds: float = 10.0) -> None:
        self.httpd.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        deadline = time.monotonic() + drain_seconds
        while self.httpd.close_idle() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.httpd.server_close()
        self.receiver.close()

    def __enter__(self) -> WebhookServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until_healthy(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until a receiver answers `GET /healthz` (e.g. one just started in another process)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no webhook receiver answered on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention.live.webhooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", help="bind address (RETENTION_WEBHOOK_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (RETENTION_WEBHOOK_PORT, default 8787)")
    parser.add_argument("--data-dir", help="data directory (RETENTION_DATA_DIR, default ./data)")
    parser.add_argument("--sendgrid-tolerance", type=float,
                        help="seconds a SendGrid signature timestamp may be off (default 300)")
    parser.add_argument("--twilio-public-url",
                        help="scheme://host[:port][/prefix] Twilio calls, as the signature covers it "
                             "(TWILIO_WEBHOOK_PUBLIC_URL)")
    parser.add_argument("--request-timeout", type=float,
                        help="seconds one request may take, first byte to last (RETENTION_WEBHOOK_REQUEST_TIMEOUT, "
                             "default 10)")
    parser.add_argument("--max-connections", type=int,
                        help="connections served at once; more get 503 (RETENTION_WEBHOOK_MAX_CONNECTIONS, default 64)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data_dir = DataDir(Path(args.data_dir).resolve()) if args.data_dir else DataDir.from_mapping(os.environ)
    config = ReceiverConfig.from_mapping(os.environ, data_dir, host=args.host, port=args.port,
                                     sendgrid_tolerance=args.sendgrid_tolerance,
                                     twilio_public_url=args.twilio_public_url,
                                     request_timeout=args.request_timeout, max_connections=args.max_connections)
    server = WebhookServer(config)
    if server.receiver.sendgrid is None:
        log.warning("SENDGRID_WEBHOOK_PUBLIC_KEY not set: %s answers 503", config.sendgrid_path)
    if server.receiver.twilio is None:
        log.warning("TWILIO_AUTH_TOKEN not set: Twilio routes answer 503")
    if server.receiver.shopify is None:
        log.warning("SHOPIFY_API_SECRET not set: %s answers 503", config.shopify_path)

    def _stop(signum, frame):
        threading.Thread(target=server.httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("webhook receiver on %s, inbox %s", server.url, data_dir.inbox)
    server.serve_forever()
    server.stop()
    log.info("stopped; %s", dict(server.receiver.stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
