"""Local stand-ins that answer like SendGrid and Twilio, over real HTTP on 127.0.0.1.

They are not the providers: they accept what the providers accept, refuse what they refuse
(the common validation errors, with the providers' error shapes) and remember every accepted
request, so tests and the benchmark can run the official clients end to end with no network.

    with FakeSendGrid() as sendgrid, FakeTwilio(stop_numbers={"+15550000001"}) as twilio:
        SendGridSender("key", "shop@example.com", host=sendgrid.url)
        TwilioSender(twilio.account_sid, twilio.auth_token, "+15005550006", base_url=twilio.url)
        sendgrid.script(Fail(429, {"Retry-After": "3"}), Fail(500))   # the next two sends fail
        twilio.script(Drop(accept=True))                              # accept, then hang up

FakeSendGrid: ``POST /v3/mail/send`` -> 202 + ``X-Message-Id`` (200 in sandbox mode), 400 with
``{"errors": [...]}`` for bodies SendGrid refuses (no from, no template, 0 or more than 1,000
personalizations, a recipient without an address, non-string custom_args); ``GET /v3/messages``
(Email Activity) finds accepted messages by ``unique_args['send_id']``, or answers
``activity_status`` (e.g. 403, the add-on missing).
FakeTwilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` -> 201 with the message resource,
400 with Twilio's error codes (21211 bad number, 21602 no body, 21603 no sender, 21610 for
``stop_numbers``); ``GET`` of the same path lists accepted messages (To, DateSent> filters).
Scripted failures (``script``) apply to sends, in order, one per request; ``latency`` slows every
send; ``max_in_flight`` is the most sends ever handled at once.

    python -m tests.fakes.providers --sendgrid-port 8025 --twilio-port 8026
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STOP_NUMBER = "+15550009999"  # the tests' FakeTwilio answers 21610 to it, as a number that replied STOP


@dataclass(frozen=True)
class Fail:
    """Answer with this status, headers and JSON body (default: the provider's error shape)."""

    status: int
    headers: dict = field(default_factory=dict)
    body: dict | None = None


@dataclass(frozen=True)
class Hang:
    """Wait ``seconds`` and close without answering (a client with a shorter timeout gives up)."""

    seconds: float = 5.0
    accept: bool = False


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer; with ``accept`` the request was taken first."""

    accept: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    fake: _FakeProvider

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.fake._handle(method, self.path, self.headers, body)
        if answer is None:  # hang up without a word
            self.close_connection = True
            return
        status, headers, payload = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # quiet: tests and benchmarks read counters, not logs
        pass


class _FakeProvider:
    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.port = 0               # 0: any free port
        self.attempts = 0           # every send request, answered or not
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._script: deque = deque()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None

    # -- lifecycle
    def __enter__(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__,
                         daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *actions) -> None:
        """The next sends get these answers, one each, in order; later sends behave normally."""
        with self._lock:
            self._script.extend(actions)

    # -- request handling
    def _handle(self, method, path, headers, body):
        raise NotImplementedError

    def _send(self, accept):
        """Run one send through the script, the latency and the in-flight gauge."""
        with self._lock:
            self.attempts += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            action = self._script.popleft() if self._script else None
        try:
            if self.latency:
                self._stopping.wait(self.latency)
            if isinstance(action, Fail):
                return action.status, {"Content-Type": "application/json", **action.headers}, \
                    json.dumps(action.body if action.body is not None else self._error_body(action.status)).encode()
            if isinstance(action, Hang):
                if action.accept:
                    accept()
                self._stopping.wait(action.seconds)
                return None
            if isinstance(action, Drop):
                if action.accept:
                    accept()
                return None
            return accept()
        finally:
            with self._lock:
                self.in_flight -= 1

    def _error_body(self, status: int) -> dict:
        raise NotImplementedError


def _json(status: int, doc, headers: dict | None = None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()


# ---------------------------------------------------------------- SendGrid

def _sendgrid_errors(*messages: tuple[str, str | None]) -> dict:
    return {"errors": [{"message": m, "field": f, "help": None} for m, f in messages]}


class FakeSendGrid(_FakeProvider):
    MAX_PERSONALIZATIONS = 1000

    def __init__(self, api_key: str | None = None, latency: float = 0.0, activity_status: int = 200):
        super().__init__(latency)
        self.api_key = api_key          # None accepts any bearer key
        self.activity_status = activity_status
        self._accepted: list[dict] = []

    @property
    def requests(self) -> list[dict]:
        """Accepted sends: {"body" (parsed), "raw" (bytes), "message_id", "sandbox", "headers"}."""
        with self._lock:
            return list(self._accepted)

    def send_ids(self) -> list[str]:
        return [p["custom_args"]["send_id"] for r in self.requests if not r["sandbox"]
                for p in r["body"]["personalizations"]]

    def _error_body(self, status):
        return _sendgrid_errors(("too many requests" if status == 429 else f"error {status}", None))

    def _handle(self, method, path, headers, body):
        route = urlsplit(path).path
        authorization = headers.get("Authorization") or ""
        if not authorization.startswith("Bearer ") or (self.api_key and authorization[7:] != self.api_key):
            return _json(401, _sendgrid_errors(("The provided authorization grant is invalid, expired, or revoked",
                                                None)))
        if method == "POST" and route == "/v3/mail/send":
            return self._mail_send(headers, body)
        if method == "GET" and route == "/v3/messages":
            return self._activity(path)
        return _json(404, _sendgrid_errors(("not found", None)))

    def _mail_send(self, headers, raw):
        try:
            doc = json.loads(raw)
        except ValueError:
            return _json(400, _sendgrid_errors(("Bad Request", None)))
        problems = self._validate(doc) if isinstance(doc, dict) else [("Bad Request", None)]
        if problems:
            with self._lock:
                self.attempts += 1
            return _json(400, _sendgrid_errors(*problems))
        message_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        sandbox = bool(((doc.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable"))

        def accept():
            with self._lock:
                self._accepted.append({"body": doc, "raw": raw, "message_id": message_id, "sandbox": sandbox,
                                       "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"}})
            # Sandbox mode validates and answers 200 without sending anything.
            return (200, {}, b"") if sandbox else (202, {"X-Message-Id": message_id}, b"")

        return self._send(accept)

    def _validate(self, doc: dict) -> list[tuple[str, str | None]]:
        problems = []
        if not isinstance((doc.get("from") or {}).get("email"), str) or "@" not in doc["from"]["email"]:
            problems.append(("The from object must be provided for every email send. It is an object that "
                             "requires the email parameter, but may also contain a name parameter.", "from.email"))
        if not doc.get("template_id") and not doc.get("content"):
            problems.append(("Unless a valid template_id is provided, the content parameter is required.",
                             "content"))
        personalizations = doc.get("personalizations")
        if not isinstance(personalizations, list) or not personalizations:
            problems.append(("The personalizations field is required and must have at least one "
                             "personalization.", "personalizations"))
            return problems
        if len(personalizations) > self.MAX_PERSONALIZATIONS:
            problems.append(("The personalizations field cannot have more than 1000 items",
                             "personalizations"))
        for index, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not to or not all(isinstance(r, dict) and "@" in str(r.get("email", "")) for r in to):
                problems.append(("Each email address in the personalization block should be a valid email "
                                 "address.", f"personalizations.{index}.to"))
            args = p.get("custom_args", {}) if isinstance(p, dict) else {}
            if not all(isinstance(v, str) for v in args.values()):
                problems.append(("Custom args values must be strings.", f"personalizations.{index}.custom_args"))
        return problems

    def _activity(self, path):
        if self.activity_status != 200:
            return _json(self.activity_status, _sendgrid_errors(("authorization required", None)))
        query = (parse_qs(urlsplit(path).query).get("query") or [""])[0]
        wanted = set(re.findall(r"unique_args\['send_id'\]=\"([^\"]*)\"", query))
        found = []
        for request in self.requests:
            if request["sandbox"]:
                continue
            for index, p in enumerate(request["body"]["personalizations"]):
                if p.get("custom_args", {}).get("send_id") in wanted:
                    found.append({"from_email": request["body"]["from"]["email"], "subject": "",
                                  "msg_id": f"{request['message_id']}.filter{index:04d}",
                                  "to_email": p["to"][0]["email"], "status": "delivered",
                                  "opens_count": 0, "clicks_count": 0,
                                  "last_event_time": datetime.now(UTC).isoformat()})
        return _json(200, {"messages": found})


# ---------------------------------------------------------------- Twilio

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _twilio_error(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


class FakeTwilio(_FakeProvider):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token",
                 stop_numbers=(), latency: float = 0.0):
        super().__init__(latency)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.stop_numbers = set(stop_numbers)
        self._accepted: list[dict] = []

    @property
    def requests(self) -> list[dict]:
        """Accepted messages: the form fields sent plus "sid" and "date_sent" (datetime)."""
        with self._lock:
            return list(self._accepted)

    def _error_body(self, status):
        return _twilio_error(status, 20429 if status == 429 else 20500, "Too Many Requests"
                             if status == 429 else "Internal Server Error")

    def _handle(self, method, path, headers, body):
        match = _MESSAGES.match(urlsplit(path).path)
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if headers.get("Authorization") != expected:
            return _json(401, _twilio_error(401, 20003, "Authenticate"))
        if not match or match["sid"] != self.account_sid:
            return _json(404, _twilio_error(404, 20404, "The requested resource was not found"))
        if method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            return self._create(form)
        return self._list(path)

    def _create(self, form: dict):
        to = form.get("To", "")
        problem = None
        if not _E164.match(to):
            problem = (21211, f"The 'To' number {to} is not a valid phone number.")
        elif not form.get("Body"):
            problem = (21602, "Message body is required.")
        elif not (form.get("From") or form.get("MessagingServiceSid")):
            problem = (21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
        elif to in self.stop_numbers:
            problem = (21610, "Attempt to send to unsubscribed recipient")
        if problem:
            with self._lock:
                self.attempts += 1
            return _json(400, _twilio_error(400, *problem))
        record = {**form, "sid": "SM" + uuid.uuid4().hex, "date_sent": datetime.now(UTC)}

        def accept():
            with self._lock:
                self._accepted.append(record)
            return _json(201, self._resource(record))

        return self._send(accept)

    def _list(self, path):
        query = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
        after = query.get("DateSent>")
        after_time = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        rows = [r for r in self.requests if ("To" not in query or r["To"] == query["To"])
                and (after_time is None or r["date_sent"] >= after_time)]
        size = int(query.get("PageSize") or 50)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return _json(200, {"messages": [self._resource(r) for r in rows[:size]], "end": min(size, len(rows)) - 1,
                           "first_page_uri": uri, "next_page_uri": None, "page": 0, "page_size": size,
                           "previous_page_uri": None, "start": 0, "uri": uri})

    def _resource(self, record: dict) -> dict:
        stamp = format_datetime(record["date_sent"], usegmt=True)
        return {"account_sid": self.account_sid, "api_version": "2010-04-01", "body": record.get("Body"),
                "date_created": stamp, "date_sent": stamp, "date_updated": stamp, "direction": "outbound-api",
                "error_code": None, "error_message": None, "from": record.get("From"),
                "messaging_service_sid": record.get("MessagingServiceSid"), "num_media": "0",
                "num_segments": "1", "price": None, "price_unit": "USD", "sid": record["sid"],
                "status": "queued", "to": record["To"],
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{record['sid']}.json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.providers",
                                     description="Serve local stand-ins for SendGrid and Twilio until interrupted.")
    parser.add_argument("--sendgrid-port", type=int, default=0)
    parser.add_argument("--twilio-port", type=int, default=0)
    args = parser.parse_args(argv)
    sendgrid, twilio = FakeSendGrid(), FakeTwilio()
    sendgrid.port, twilio.port = args.sendgrid_port, args.twilio_port
    with sendgrid, twilio:
        print(f"SENDGRID_API_HOST={sendgrid.url}\nTWILIO_API_BASE={twilio.url}\n"
              f"TWILIO_ACCOUNT_SID={twilio.account_sid} TWILIO_AUTH_TOKEN={twilio.auth_token}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
