"""Senders: what turns decided messages into provider requests (live) or outbox files (no keys).

    senders = build_senders(outbox, SenderSettings.from_mapping(settings), campaigns.settings.webhook)
    # {"email": ..., "sms": ..., "webhook": ...}
    results = senders["email"].send(messages)              # list[SendResult], same order
    found = senders["email"].lookup(send_ids)              # send_id -> True | False | None

Every sender follows ``messages.Sender``: ``channel``, ``mode`` ("live" | "outbox"), ``send`` and
``lookup`` (which also takes ``OutgoingMessage`` items; Twilio needs them).

- ``SendGridSender``: the official ``sendgrid`` client, ``POST /v3/mail/send`` with dynamic
  templates, up to ``batch_size`` (max 1,000) personalizations per request, messages grouped by
  template, unsubscribe group and categories. ``provider_message_id`` is the request's
  ``X-Message-Id`` plus ``#<personalization index>``.
- ``TwilioSender``: the official ``twilio`` client, one request per message, at most
  ``concurrency`` in flight. Error 21610 (the recipient replied STOP) gives status "suppressed".
- ``WebhookSender``: push, signed JSON batches of ``batch_size`` to one endpoint (``webhook.py``
  has the contract); a 2xx may reject single recipients, which become dead letters.
- ``OutboxSender``: writes the request bodies the live sender would send, built by the same
  code (``EmailRequests`` / ``SmsRequests`` / ``WebhookRequests``), to ``<outbox>/<channel>/<batch_id>.json``.

Failures. 429, 5xx and connections that were never made are retried (``retry.RetryPolicy``).
Any other 4xx turns every message of that request into a "dead_letter" result carrying the
provider's reason and the request body, for replay. When the outcome of a request is unknown
(the connection broke or timed out after the request was sent) or retries ran out, ``send``
raises ``SendInterrupted``: it carries the results obtained so far, the send ids that are in
doubt (the provider may have them; reconcile with ``lookup``, never resend blindly) and the send
ids certainly not sent (safe to send again). Nothing is resent inside a sender unless the
provider rejected it.

Lookup. Outbox: the send id is in a written file. SendGrid: the Email Activity API (a paid
add-on; 403/404 -> None, unknown); its data lags the send by minutes, so a False for a request
made moments ago is not yet proof. Twilio: messages to the number since ``since`` (default 3
days) whose body matches; it needs the ``OutgoingMessage`` (number and body), so a bare send id
gives None. Webhook: a receiver has nothing to ask, so always None (in doubt until an operator
releases it); a read timeout is in doubt, never retried.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioException
from twilio.base.values import unset as TWILIO_UNSET
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from retention.activation.messages import OutgoingMessage, Sender, SendResult, batch_id, grouped_batches
from retention.activation.retry import RetryableError, RetryPolicy
from retention.activation.webhook import (
    CHANNEL as WEBHOOK,
)
from retention.activation.webhook import (
    IDEMPOTENCY_HEADER,
    SECRET_ENV,
    SIGNATURE_HEADER,
    WebhookEndpoint,
    WebhookRequests,
    rejected,
    sign,
)
from retention.live.inbox_writer import write_atomic

log = logging.getLogger("retention.activation.senders")
# The provider clients log each request's query, payload and answer (addresses, names, codes, the
# SMS text; SendGrid's even the API key) at INFO or DEBUG: never let those through, whatever the
# level a deployment logs at. Our own lines count messages instead.
for _client_logger in ("python_http_client.client", "twilio.http_client"):
    logging.getLogger(_client_logger).setLevel(logging.WARNING)

SENDGRID_DEFAULT_HOST = "https://api.sendgrid.com"
TWILIO_DEFAULT_BASE = "https://api.twilio.com"
DEFAULT_EMAIL_FROM = "hello@example.com"     # RETENTION_EMAIL_FROM
DEFAULT_SMS_FROM = "+15005550006"            # TWILIO_FROM_NUMBER (Twilio's test "valid sender")
SENDGRID_MAX_PERSONALIZATIONS = 1000
TWILIO_STOP_ERROR = 21610
# Refusals that are about the account, not the message: a revoked key, a suspended or closed
# account, an unverified sender. Every message would meet them, so the channel stops for the run
# and the messages wait for the next one (none becomes a dead letter).
SENDGRID_ACCOUNT_STATUSES = frozenset({401, 403})
TWILIO_ACCOUNT_CODES = frozenset({20003, 10001, 20005})  # authenticate; account not active (twice)
# A webhook answer that every batch would get too (the signature or the URL is wrong; redirects too).
ENDPOINT_REFUSALS = frozenset({401, 403, 404, 405})
DEFAULT_RETRY = RetryPolicy()  # frozen: one instance serves every sender
NO_ENDPOINT = WebhookEndpoint()  # no webhook URL: push bodies go to the outbox
LookupItem = str | OutgoingMessage


class SendInterrupted(Exception):
    """A send stopped before every message had a known outcome."""

    def __init__(self, reason: str, results: list[SendResult], in_doubt: list[str], not_sent: list[str]):
        super().__init__(f"{reason} ({len(results)} done, {len(in_doubt)} in doubt, {len(not_sent)} not sent)")
        self.reason, self.results, self.in_doubt, self.not_sent = reason, results, in_doubt, not_sent


class _InDoubt(Exception):
    """The request left, but no answer came back: the provider may have accepted it."""


class _AccountRefused(Exception):
    """The provider refused the account (key, suspension): nothing was sent, nothing else will be."""


# ---------------------------------------------------------------- request bodies (live = outbox)

def encode(body) -> str:
    """The JSON text of a request body, serialised exactly as the sendgrid client does."""
    return json.dumps(body)


def custom_args(message: OutgoingMessage) -> dict[str, str]:
    # SendGrid wants string values; ids only, never personal data (they come back in every event).
    args = {"campaign": message.campaign, "step": str(message.step), "send_id": message.send_id}
    if message.variant:  # so every event of the message names its variant
        args["variant"] = message.variant
    return args


@dataclass(frozen=True)
class EmailRequests:
    """Builds ``POST /v3/mail/send`` bodies: one per (template, asm group, categories) chunk."""

    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    sandbox: bool = False
    batch_size: int = SENDGRID_MAX_PERSONALIZATIONS

    def __post_init__(self):
        if not self.from_email:
            raise ValueError("a sender address (from_email) is required")
        if not 1 <= self.batch_size <= SENDGRID_MAX_PERSONALIZATIONS:
            raise ValueError(f"batch_size must be 1..{SENDGRID_MAX_PERSONALIZATIONS}, got {self.batch_size}")

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides) -> EmailRequests:
        values = dict(from_email=env.get("RETENTION_EMAIL_FROM") or DEFAULT_EMAIL_FROM,
                      from_name=env.get("RETENTION_EMAIL_FROM_NAME") or None,
                      reply_to=env.get("RETENTION_EMAIL_REPLY_TO") or None,
                      sandbox=_truthy(env.get("SENDGRID_SANDBOX")))
        values.update(overrides)
        return cls(**values)

    def batches(self, messages: Sequence[OutgoingMessage]) -> list[tuple[list[OutgoingMessage], dict]]:
        return grouped_batches(messages, lambda m: (m.template_id, m.asm_group_id, tuple(m.categories)),
                               self.batch_size, self.body)

    def body(self, chunk: Sequence[OutgoingMessage]) -> dict:
        first = chunk[0]
        sender = {"email": self.from_email, **({"name": self.from_name} if self.from_name else {})}
        body: dict = {
            "from": sender,
            "template_id": first.template_id,
            "personalizations": [{"to": [{"email": m.to}], "dynamic_template_data": m.data,
                                  "custom_args": custom_args(m)} for m in chunk],
        }
        if self.reply_to:
            body["reply_to"] = {"email": self.reply_to}
        if first.categories:
            body["categories"] = list(first.categories)
        if first.asm_group_id is not None:
            body["asm"] = {"group_id": first.asm_group_id}
        if self.sandbox:
            body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return body


@dataclass(frozen=True)
class SmsRequests:
    """Builds the form of ``POST /2010-04-01/Accounts/{sid}/Messages.json`` for one message."""

    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None

    def __post_init__(self):
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("a from number or a messaging service sid is required")

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides) -> SmsRequests:
        service = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
        public = env.get("TWILIO_WEBHOOK_PUBLIC_URL")
        values = dict(from_number=env.get("TWILIO_FROM_NUMBER") or (None if service else DEFAULT_SMS_FROM),
                      messaging_service_sid=service,
                      status_callback=env.get("TWILIO_STATUS_CALLBACK_URL")
                      or (public.rstrip("/") + "/twilio/status" if public else None))
        values.update(overrides)
        return cls(**values)

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        form = {"To": message.to, "Body": message.body or ""}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        return form


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _send_id(item: LookupItem) -> str:
    return item if isinstance(item, str) else item.send_id


def _dead_letters(messages, reason: str, status: int | None, body: str) -> list[SendResult]:
    return [SendResult(m.send_id, "dead_letter", error=reason, http_status=status, request_body=body)
            for m in messages]


# ---------------------------------------------------------------- SendGrid

class SendGridSender:
    channel = "email"
    mode = "live"

    def __init__(self, api_key: str, from_email: str, from_name: str | None = None, host: str | None = None,
                 sandbox: bool = False, batch_size: int = SENDGRID_MAX_PERSONALIZATIONS,
                 retry: RetryPolicy = DEFAULT_RETRY, reply_to: str | None = None, timeout: float = 30.0):
        if not api_key:
            raise ValueError("SendGridSender needs an API key")
        self.requests = EmailRequests(from_email, from_name, reply_to, sandbox, batch_size)
        self.host = (host or SENDGRID_DEFAULT_HOST).rstrip("/")
        self.retry, self.timeout = retry, timeout
        self._client = SendGridAPIClient(api_key=api_key, host=self.host).client

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        batches = self.requests.batches(messages)
        for number, (chunk, body) in enumerate(batches):
            later = [m.send_id for rest, _ in batches[number + 1:] for m in rest]
            try:
                results.extend(self._send_batch(chunk, body))
            except RetryableError as error:
                raise SendInterrupted(f"SendGrid kept refusing: {error.reason}", results, [],
                                      [m.send_id for m in chunk] + later) from None
            except _InDoubt as error:
                raise SendInterrupted(f"SendGrid did not answer: {error}", results,
                                      [m.send_id for m in chunk], later) from None
            except _AccountRefused as error:
                raise SendInterrupted(f"SendGrid refused the account: {error}", results, [],
                                      [m.send_id for m in chunk] + later) from None
        log.info("sendgrid: %d messages in %d requests", len(results), len(batches))
        return results

    def _send_batch(self, chunk: list[OutgoingMessage], body: dict) -> list[SendResult]:
        def attempt():
            try:
                return self._client.mail.send.post(request_body=body, timeout=self.timeout)
            except HTTPError as error:
                if error.status_code == 429 or error.status_code >= 500:
                    raise RetryableError(f"HTTP {error.status_code}", error.status_code, error.headers or {})
                raise
            except urllib.error.URLError as error:  # raised while connecting/sending: never arrived
                raise RetryableError(f"connection failed: {type(error.reason).__name__}")
            except (OSError, http.client.HTTPException) as error:  # raised while awaiting the answer
                raise _InDoubt(type(error).__name__) from None

        try:
            response = self.retry.call(attempt)
        except HTTPError as error:
            reason = f"HTTP {error.status_code}: {_sendgrid_error_text(error.body)}"
            if error.status_code in SENDGRID_ACCOUNT_STATUSES:
                raise _AccountRefused(reason) from None
            return _dead_letters(chunk, reason, error.status_code, encode(body))
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return [SendResult(m.send_id, "sent", f"{message_id}#{index}" if message_id else None,
                           http_status=response.status_code) for index, m in enumerate(chunk)]

    def lookup(self, send_ids: Sequence[LookupItem]) -> dict[str, bool | None]:
        ids = [_send_id(item) for item in send_ids]
        found: dict[str, bool | None] = dict.fromkeys(ids)
        for send_id in ids:
            query = {"query": f"unique_args['send_id']=\"{send_id}\"", "limit": 10}

            def attempt(query=query):
                try:
                    return self._client.messages.get(query_params=query, timeout=self.timeout)
                except HTTPError as error:
                    if error.status_code == 429 or error.status_code >= 500:
                        raise RetryableError(f"HTTP {error.status_code}", error.status_code, error.headers or {})
                    raise
                except (OSError, http.client.HTTPException) as error:  # a read has nothing to duplicate
                    raise RetryableError(type(error).__name__)

            try:
                payload = json.loads(self.retry.call(attempt).body or b"{}")
            except (HTTPError, RetryableError, ValueError):
                return found  # the Email Activity API is not available: the rest stays unknown
            found[send_id] = bool(payload.get("messages"))
        return found


def _sendgrid_error_text(body) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        errors = json.loads(text).get("errors") or []
        return "; ".join(str(e.get("message")) + (f" ({e['field']})" if e.get("field") else "") for e in errors) or text
    except (ValueError, AttributeError):
        return text[:500]


# ---------------------------------------------------------------- Twilio

class _HeaderKeepingHttpClient(TwilioHttpClient):
    """The client's exceptions drop the response headers, and Retry-After lives there."""

    last_headers: Mapping[str, str] = {}

    def request(self, *args, **kwargs):
        self.last_headers = {}
        response = super().request(*args, **kwargs)
        self.last_headers = response.headers or {}
        return response


def _raise_if_retryable(error: TwilioException, client) -> None:
    """429 and 5xx are Twilio asking to come back later (with its rate headers); other errors are final."""
    status = getattr(error, "status", None) or 0
    if status == 429 or status >= 500:
        raise RetryableError(f"HTTP {status}", status, client.http_client.last_headers)


class TwilioSender:
    channel = "sms"
    mode = "live"

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, base_url: str | None = None,
                 status_callback: str | None = None, concurrency: int = 8,
                 retry: RetryPolicy = DEFAULT_RETRY, timeout: float = 30.0):
        if not (account_sid and auth_token):
            raise ValueError("TwilioSender needs an account sid and an auth token")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.requests = SmsRequests(from_number, messaging_service_sid, status_callback)
        self.base_url = (base_url or TWILIO_DEFAULT_BASE).rstrip("/")
        self.concurrency, self.retry, self.timeout = concurrency, retry, timeout
        self._credentials = (account_sid, auth_token)
        self._local = threading.local()  # one client per thread: its session and last headers are not shared

    def _client(self) -> TwilioClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = TwilioClient(*self._credentials, http_client=_HeaderKeepingHttpClient(timeout=self.timeout))
            client.api.base_url = self.base_url  # the Api domain builds every /2010-04-01 URL from it
            self._local.client = client
        return client

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        refused = threading.Event()  # once the account is refused, the rest are not tried

        def one(message: OutgoingMessage):
            if refused.is_set():
                return ("not_sent", message.send_id)
            outcome = self._send_one(message)
            if isinstance(outcome, tuple) and outcome[0] == "account":
                refused.set()
            return outcome

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="twilio-send") as pool:
            outcomes = list(pool.map(one, messages))
        results = [o for o in outcomes if isinstance(o, SendResult)]
        in_doubt = [o[1] for o in outcomes if isinstance(o, tuple) and o[0] == "in_doubt"]
        not_sent = [o[1] for o in outcomes if isinstance(o, tuple) and o[0] in ("not_sent", "account")]
        refusals = sorted({o[2] for o in outcomes if isinstance(o, tuple) and o[0] == "account"})
        log.info("twilio: %d messages, %d in doubt, %d not sent", len(results), len(in_doubt), len(not_sent))
        if refusals:
            raise SendInterrupted(f"Twilio refused the account: {'; '.join(refusals)}", results, in_doubt, not_sent)
        if in_doubt or not_sent:
            raise SendInterrupted("Twilio did not take every message", results, in_doubt, not_sent)
        return results

    def _send_one(self, message: OutgoingMessage):
        client = self._client()
        form = self.requests.form(message)
        kwargs = {"to": form["To"], "body": form["Body"], "from_": form.get("From", TWILIO_UNSET),
                  "messaging_service_sid": form.get("MessagingServiceSid", TWILIO_UNSET),
                  "status_callback": form.get("StatusCallback", TWILIO_UNSET)}

        def attempt():
            try:
                return client.api.v2010.account.messages.create(**kwargs)
            except TwilioException as error:
                _raise_if_retryable(error, client)
                raise
            except requests.ConnectionError as error:
                if _never_connected(error):
                    raise RetryableError("connection failed")
                raise _InDoubt(type(error).__name__) from None
            except requests.RequestException as error:
                raise _InDoubt(type(error).__name__) from None

        try:
            created = self.retry.call(attempt)
        except RetryableError:
            return ("not_sent", message.send_id)
        except _InDoubt:
            return ("in_doubt", message.send_id)
        except TwilioException as error:
            status, code = getattr(error, "status", None), getattr(error, "code", None)
            reason = f"HTTP {status} code {code}: {getattr(error, 'msg', None) or getattr(error, 'title', '')}"
            if code == TWILIO_STOP_ERROR:
                return SendResult(message.send_id, "suppressed", error=reason, http_status=status)
            if code in TWILIO_ACCOUNT_CODES:
                return ("account", message.send_id, reason)
            return _dead_letters([message], reason, status, encode(form))[0]
        return SendResult(message.send_id, "sent", created.sid, http_status=201)

    def lookup(self, send_ids: Sequence[LookupItem], since: datetime | None = None) -> dict[str, bool | None]:
        since = since or datetime.now(UTC) - timedelta(days=3)
        found: dict[str, bool | None] = {_send_id(item): None for item in send_ids}
        client = self._client()
        for item in send_ids:
            if isinstance(item, str):
                continue  # without the number and body there is nothing to match

            def attempt(item=item):
                try:
                    return client.api.v2010.account.messages.list(to=item.to, date_sent_after=since, limit=200)
                except TwilioException as error:
                    _raise_if_retryable(error, client)
                    raise
                except requests.RequestException as error:
                    raise RetryableError(type(error).__name__)

            try:
                listed = self.retry.call(attempt)
            except (TwilioException, RetryableError):
                return found
            found[item.send_id] = any(m.body == item.body for m in listed)
        return found


def _never_connected(error: requests.ConnectionError) -> bool:
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


# ---------------------------------------------------------------- webhook (push)

class WebhookSender:
    """Signed JSON batches to one HTTPS endpoint (``retention.activation.webhook`` has the contract).

    A generic receiver has no message list to ask, so ``lookup`` knows nothing (None): a batch left
    in doubt by a crash or a timeout waits for an operator, as Twilio's do when its list cannot tell."""

    channel = WEBHOOK
    mode = "live"

    def __init__(self, url: str, secret: str, batch_size: int = WebhookEndpoint.batch_size,
                 timeout: float = WebhookEndpoint.timeout_seconds, retry: RetryPolicy = DEFAULT_RETRY,
                 clock: Callable[[], float] = time.time):
        if not url:
            raise ValueError("WebhookSender needs an endpoint URL")
        if not secret:
            raise ValueError(f"WebhookSender needs a signing secret ({SECRET_ENV})")
        self.url, self.requests = url, WebhookRequests(batch_size)
        self.timeout, self.retry, self.clock = timeout, retry, clock
        self._secret = secret
        self._session = requests.Session()

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        batches = self.requests.batches(messages)
        for number, (chunk, body) in enumerate(batches):
            later = [m.send_id for rest, _ in batches[number + 1:] for m in rest]
            ids = [m.send_id for m in chunk]
            try:
                results.extend(self._send_batch(chunk, body))
            except RetryableError as error:
                raise SendInterrupted(f"the webhook kept refusing: {error.reason}", results, [], ids + later) from None
            except _InDoubt as error:
                raise SendInterrupted(f"the webhook did not answer: {error}", results, ids, later) from None
            except _AccountRefused as error:
                raise SendInterrupted(f"the webhook refused the signature or the URL: {error}", results, [],
                                      ids + later) from None
        log.info("webhook: %d messages in %d requests", len(results), len(batches))
        return results

    def _send_batch(self, chunk: list[OutgoingMessage], body: bytes) -> list[SendResult]:
        key = batch_id(WEBHOOK, [m.send_id for m in chunk])  # the body's batch_id

        def attempt():
            headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key,
                       SIGNATURE_HEADER: sign(self._secret, body, int(self.clock()))}  # signed afresh each try
            try:
                response = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                              allow_redirects=False)  # a redirect is a wrong URL, not a resend
            except requests.ConnectionError as error:
                if _never_connected(error):
                    raise RetryableError("connection failed")
                raise _InDoubt(type(error).__name__) from None
            except requests.RequestException as error:  # a read timeout: the receiver may have it
                raise _InDoubt(type(error).__name__) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableError(f"HTTP {response.status_code}", response.status_code, response.headers)
            return response

        response = self.retry.call(attempt)
        status = response.status_code
        if 200 <= status < 300:
            refused = rejected(response.content)
            return [SendResult(m.send_id, "dead_letter", error=f"HTTP {status}: {refused[m.send_id]}",
                               http_status=status, request_body=body.decode())
                    if m.send_id in refused else SendResult(m.send_id, "sent", http_status=status)
                    for m in chunk]
        reason = f"HTTP {status}: {response.text[:200]}"
        if status in ENDPOINT_REFUSALS or 300 <= status < 400:
            raise _AccountRefused(reason)
        return _dead_letters(chunk, reason, status, body.decode())

    def lookup(self, send_ids: Sequence[LookupItem]) -> dict[str, bool | None]:
        return dict.fromkeys((_send_id(item) for item in send_ids), None)


# ---------------------------------------------------------------- outbox

class OutboxSender:
    """No keys: the request bodies go to files, nothing reaches anyone."""

    mode = "outbox"

    def __init__(self, outbox_dir: str | os.PathLike, channel: str, email: EmailRequests | None = None,
                 sms: SmsRequests | None = None, batch_size: int = SENDGRID_MAX_PERSONALIZATIONS,
                 webhook: WebhookRequests | None = None):
        if channel not in ("email", "sms", WEBHOOK):
            raise ValueError(f"unknown channel {channel!r}")
        self.channel = channel
        self.folder = Path(outbox_dir) / channel
        self.email = email or (EmailRequests.from_mapping({}, batch_size=batch_size) if channel == "email" else None)
        self.sms = sms or (SmsRequests.from_mapping({}) if channel == "sms" else None)
        self.webhook = webhook or (WebhookRequests() if channel == WEBHOOK else None)
        self.batch_size = batch_size

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        written: dict[str, SendResult] = {}
        if self.channel == "email":
            for chunk, body in self.email.batches(messages):
                self._write(chunk, encode(body))
                written.update((m.send_id, SendResult(m.send_id, "outbox")) for m in chunk)
        elif self.channel == WEBHOOK:  # the exact bytes the endpoint would be sent (unsigned: no secret)
            for chunk, body in self.webhook.batches(messages):
                self._write(chunk, body.decode())
                written.update((m.send_id, SendResult(m.send_id, "outbox")) for m in chunk)
        else:
            for start in range(0, len(messages), self.batch_size):
                chunk = list(messages[start:start + self.batch_size])
                entries = [{"send_id": m.send_id, "form": self.sms.form(m)} for m in chunk]
                self._write(chunk, json.dumps(entries, indent=1))
                written.update((m.send_id, SendResult(m.send_id, "outbox")) for m in chunk)
        return [written[m.send_id] for m in messages]

    def _write(self, chunk: Sequence[OutgoingMessage], text: str) -> Path:
        path = self.folder / f"{batch_id(self.channel, [m.send_id for m in chunk])}.json"
        return write_atomic(path, text.encode("utf-8"))

    def lookup(self, send_ids: Sequence[LookupItem]) -> dict[str, bool | None]:
        wanted = [_send_id(item) for item in send_ids]
        present = self.written_send_ids()
        return {send_id: send_id in present for send_id in wanted}

    def written_send_ids(self) -> set[str]:
        present: set[str] = set()
        for path in sorted(self.folder.glob("[!.]*.json")):
            doc = json.loads(path.read_text("utf-8"))
            if isinstance(doc, dict) and "recipients" in doc:
                present.update(r["send_id"] for r in doc["recipients"])
            elif isinstance(doc, dict):
                present.update(p["custom_args"]["send_id"] for p in doc.get("personalizations", []))
            else:
                present.update(entry["send_id"] for entry in doc)
        return present


# ---------------------------------------------------------------- from settings

@dataclass(frozen=True)
class SenderSettings:
    """The senders' settings, named after the environment variables the resources read them from.

    SENDGRID_API_KEY (+ SENDGRID_API_HOST, SENDGRID_BATCH_SIZE [1000], SENDGRID_SANDBOX, RETENTION_EMAIL_FROM [hello@example.com],
    RETENTION_EMAIL_FROM_NAME, RETENTION_EMAIL_REPLY_TO); TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN
    (+ TWILIO_API_BASE, TWILIO_FROM_NUMBER [+15005550006] or TWILIO_MESSAGING_SERVICE_SID,
    TWILIO_STATUS_CALLBACK_URL or TWILIO_WEBHOOK_PUBLIC_URL + /twilio/status); RETENTION_WEBHOOK_SECRET
    (the webhook channel's signing secret; its endpoint is campaigns.yml's ``settings.webhook``).
    """

    email: EmailRequests
    sms: SmsRequests
    sendgrid_api_key: str | None = field(default=None, repr=False)
    sendgrid_host: str | None = None
    sendgrid_batch_size: int = SENDGRID_MAX_PERSONALIZATIONS
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_base_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> SenderSettings:
        return cls(email=EmailRequests.from_mapping(env), sms=SmsRequests.from_mapping(env),
                   sendgrid_batch_size=int(env.get("SENDGRID_BATCH_SIZE") or SENDGRID_MAX_PERSONALIZATIONS),
                   sendgrid_api_key=env.get("SENDGRID_API_KEY") or None,
                   sendgrid_host=env.get("SENDGRID_API_HOST") or None,
                   twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
                   twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
                   twilio_base_url=env.get("TWILIO_API_BASE") or None,
                   webhook_secret=env.get(SECRET_ENV) or None)


def build_senders(outbox_dir: str | os.PathLike, settings: SenderSettings,
                  webhook: WebhookEndpoint = NO_ENDPOINT) -> dict[str, Sender]:
    """Live senders for the channels whose keys are set, the outbox for the others. The webhook
    channel is live when campaigns.yml names an endpoint; an endpoint without a secret gets no
    sender at all (its campaigns report the error), since an unsigned push must not leave and an
    outbox file would count as sent."""
    email, sms = settings.email, settings.sms
    senders: dict[str, Sender] = {}
    if settings.sendgrid_api_key:
        senders["email"] = SendGridSender(settings.sendgrid_api_key, email.from_email, email.from_name,
                                          host=settings.sendgrid_host, sandbox=email.sandbox,
                                          reply_to=email.reply_to, batch_size=settings.sendgrid_batch_size)
    else:
        senders["email"] = OutboxSender(outbox_dir, "email", email=email)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        senders["sms"] = TwilioSender(settings.twilio_account_sid, settings.twilio_auth_token, sms.from_number,
                                      sms.messaging_service_sid, base_url=settings.twilio_base_url,
                                      status_callback=sms.status_callback)
    else:
        senders["sms"] = OutboxSender(outbox_dir, "sms", sms=sms)
    if webhook.url and settings.webhook_secret:
        senders[WEBHOOK] = WebhookSender(webhook.url, settings.webhook_secret, webhook.batch_size,
                                         webhook.timeout_seconds)
    elif webhook.url:
        log.error("settings.webhook.url is set but %s is not: the webhook channel does not send", SECRET_ENV)
    else:
        senders[WEBHOOK] = OutboxSender(outbox_dir, WEBHOOK, webhook=WebhookRequests(webhook.batch_size))
    return senders
