"""The webhook receiver: SendGrid's signed Event Webhook and Twilio's status callbacks and
inbound messages, one small threaded HTTP service.

    python -m retention.live.webhooks --host 127.0.0.1 --port 8787 --data-dir ./data

Routes (paths configurable):

- ``POST /sendgrid/events``  verified with ``SENDGRID_WEBHOOK_PUBLIC_KEY``; the raw body is written
  as one file ``inbox/sendgrid/<UTC day>/events-<HHMMSS>-<unique>.json`` (atomic, fsynced) before
  the 200. Duplicated events (same ``sg_event_id``) are landed as they come; staging removes them.
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

Stopping (SIGTERM/SIGINT or ``WebhookServer.stop``) stops accepting, lets requests in flight finish
(they are acknowledged only after their bytes are on disk), and closes idle keep-alive connections.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from retention.live.inbox_writer import AppendLog, write_atomic
from retention.live.shopify_inbox import ShopifyWebhookInbox, WebhookRefused
from retention.live.shopify_webhooks import ShopifyWebhookError, verify_webhook
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
    max_body_bytes: int = 16 * 1024 * 1024
    idle_timeout: float = 30.0
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
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class _Refused(Exception):
    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.status = status
        self.why = why


class Receiver:
    """What the routes do, independent of the HTTP plumbing."""

    def __init__(self, config: ReceiverConfig):
        self.config = config
        self.sendgrid = (SendGridVerifier(config.sendgrid_public_key, config.sendgrid_tolerance, config.clock)
                         if config.sendgrid_public_key else None)
        self.twilio = TwilioVerifier(config.twilio_auth_token) if config.twilio_auth_token else None
        self.shopify = [config.shopify_api_secret] if config.shopify_api_secret else None  # secrets that may sign
        self.shopify_inbox = ShopifyWebhookInbox(config.data_dir)
        self.appender = AppendLog()
        self.stats: Counter = Counter()
        self._stats_lock = threading.Lock()

    def count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def now(self) -> datetime:
        """The receiver's clock (``config.clock``): it names the inbox day a request is filed under."""
        return datetime.fromtimestamp(self.config.clock(), UTC)

    def sendgrid_events(self, body: bytes, headers) -> Path:
        if self.sendgrid is None:
            raise _Refused(503, "SendGrid webhook public key not configured")
        signature, timestamp = headers.get(SENDGRID_SIGNATURE_HEADER), headers.get(SENDGRID_TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise _Refused(401, "unsigned")
        try:
            self.sendgrid.verify(body, signature, timestamp)
        except SignatureError as exc:
            raise _Refused(403, str(exc)) from None
        now = self.now()
        folder = self.config.data_dir.inbox_day("sendgrid", now.date())
        return write_atomic(folder / f"events-{now:%H%M%S}-{uuid.uuid4().hex[:16]}.json", body)

    def twilio_message(self, kind: str, body: bytes, headers, path_and_query: str) -> Path:
        if self.twilio is None:
            raise _Refused(503, "Twilio auth token not configured")
        signature = headers.get(TWILIO_SIGNATURE_HEADER)
        if not signature:
            raise _Refused(401, "unsigned")
        base = self.config.twilio_public_url or f"http://{headers.get('Host', '')}"
        try:
            self.twilio.verify(base.rstrip("/") + path_and_query, body, signature)
        except SignatureError as exc:
            raise _Refused(403, str(exc)) from None
        line = body[:-2] if body.endswith(b"\r\n") else body[:-1] if body.endswith(b"\n") else body
        if b"\n" in line or b"\r" in line:
            raise _Refused(400, "a form body with a raw line break")
        now = self.now()
        folder = self.config.data_dir.inbox_day("twilio", now.date())
        path = folder / f"{kind}-{now:%Y%m%dT%H%M}00Z.txt"
        self.appender.append(path, line)
        return path

    def shopify_webhook(self, body: bytes, headers) -> bool:
        """True when the delivery is new, False for a redelivery already in the inbox."""
        if self.shopify is None:
            raise _Refused(503, "Shopify API secret not configured")
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "retention-webhooks"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        self.busy = False
        self.connection.settimeout(self.server.receiver.config.idle_timeout)
        self.server.track(self, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self, False)

    def handle(self) -> None:
        self.close_connection = True
        while True:
            if self.server.stopping.is_set():
                break
            self.busy = False
            self.handle_one_request()
            if self.close_connection:
                break

    def parse_request(self) -> bool:
        self.busy = True
        return super().parse_request()

    def log_message(self, format, *args) -> None:  # noqa: A002 - no request lines in the logs
        pass

    def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.stopping.is_set():
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

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise _Refused(411, "chunked bodies are not accepted; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _Refused(411, "Content-Length required")
        size = int(length)
        if size > self.server.receiver.config.max_body_bytes:
            raise _Refused(413, "body too large")
        body = self.rfile.read(size)
        if len(body) != size:
            raise _Refused(400, "body shorter than Content-Length")
        return body

    def do_POST(self) -> None:  # noqa: N802
        receiver: Receiver = self.server.receiver
        config = receiver.config
        route = urlsplit(self.path).path
        routes = {config.sendgrid_path: "sendgrid", config.twilio_status_path: "status",
                  config.twilio_inbound_path: "inbound", config.shopify_path: "shopify"}
        kind = routes.get(route)
        try:
            if kind is None:
                self.close_connection = True
                raise _Refused(404, "not found")
            body = self._read_body()
            if kind == "sendgrid":
                receiver.sendgrid_events(body, self.headers)
                receiver.count("sendgrid accepted")
                self._reply(200)
            elif kind == "shopify":
                receiver.count("shopify accepted" if receiver.shopify_webhook(body, self.headers) else "shopify duplicate")
                self._reply(200)
            else:
                receiver.twilio_message(kind, body, self.headers, self.path)
                receiver.count(f"twilio {kind} accepted")
                if kind == "inbound":
                    self._reply(200, TWIML_EMPTY, "text/xml; charset=utf-8")
                else:
                    self._reply(200)
        except _Refused as exc:
            receiver.count(f"{kind or 'unknown route'} refused {exc.status}")
            if exc.status in (400, 411, 413):
                self.close_connection = True  # the rest of the stream cannot be trusted
            self._reply(exc.status, (exc.why + "\n").encode())
        except OSError:
            receiver.count(f"{kind} write failed")
            log.exception("webhook write failed (%s)", kind)
            self.close_connection = True
            self._reply(500, b"could not store the request\n")


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
        super().__init__(address, _Handler)

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data_dir = DataDir(Path(args.data_dir).resolve()) if args.data_dir else DataDir.from_mapping(os.environ)
    config = ReceiverConfig.from_mapping(os.environ, data_dir, host=args.host, port=args.port,
                                     sendgrid_tolerance=args.sendgrid_tolerance,
                                     twilio_public_url=args.twilio_public_url)
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
