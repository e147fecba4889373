"""The push / webhook channel's wire format: the signed JSON batches a receiver gets, and how it checks them.

    POST <settings.webhook.url>
    Content-Type: application/json
    Idempotency-Key: webhook-<hash of the batch's send ids>
    X-Retention-Signature: t=1784044800,v1=<hex HMAC-SHA256(secret, "1784044800." + raw body)>

    {"batch_id": "webhook-...", "campaign": "cart", "step": 1, "variant": null,
     "recipients": [{"send_id": "...", "customer_key": "c42", "data": {...}}, ...]}

One request carries one campaign, step and variant, up to ``batch_size`` recipients. ``send_id`` is
the ledger's idempotency key: a receiver that has seen it already must not notify again. ``data`` is
what an email's template gets (the audience payload, first_name, coupon_code, discount_percent, step);
``email`` / ``phone`` are added only for a campaign that lists them in ``webhook_include``.

The signature is Stripe's and Shopify's scheme: the timestamp is signed with the body, so a captured
request cannot be replayed later. A receiver (``verify_signature``) recomputes the HMAC over the raw
bytes it read, before parsing them, compares in constant time, and refuses a timestamp further than
``tolerance`` (300 s) from its clock; within that window it drops send ids it has already handled.
Each retry is signed again with a fresh timestamp; the body is the same bytes. A receiver:

    raw = request.body                      # the bytes as they arrived, before any JSON parsing
    try:
        verify_signature(secret, raw, request.headers.get("X-Retention-Signature"), time.time())
    except SignatureError as error:
        return 401, str(error)              # the sender stops the channel for this run
    for recipient in json.loads(raw)["recipients"]:
        if not seen(recipient["send_id"]):  # a retry, or a replay inside the window
            notify(recipient["customer_key"], recipient["data"])

The answer: a 2xx accepts the batch, except the recipients listed in an optional JSON body
``{"rejected": [{"send_id": "...", "reason": "..."}]}``, which are permanent failures (dead
letters, one each; the others of the batch stay sent). 429 and 5xx are retried (``Retry-After``
honoured); 401, 403, 404, 405 and redirects refuse the signature or the URL, which every batch
would meet, so nothing more is sent in that run (and nothing becomes a dead letter); any other 4xx
rejects the whole batch (every recipient a dead letter).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from retention.activation.messages import OutgoingMessage, batch_id, grouped_batches

CHANNEL = "webhook"
SIGNATURE_HEADER = "X-Retention-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300.0  # seconds a signed request stays acceptable: Stripe's default
DEFAULT_BATCH_SIZE = 100
DEFAULT_TIMEOUT = 10.0  # seconds to wait for the receiver's answer before the batch is in doubt
MAX_BATCH_SIZE = 1000
SECRET_ENV = "RETENTION_WEBHOOK_SECRET"
INCLUDABLE = ("email", "phone")  # the personal fields a campaign may ask to send with each recipient


class SignatureError(ValueError):
    """A request's signature does not prove it came from us, now: the reason says which check failed."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Retention-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},{SIGNATURE_VERSION}={_digest(secret, body, timestamp)}"


def verify_signature(secret: str, body: bytes, header: str | None, now: float,
                     tolerance: float = DEFAULT_TOLERANCE) -> int:
    """The request's timestamp when ``header`` signs ``body`` with ``secret`` within ``tolerance``
    seconds of ``now``; otherwise ``SignatureError``. Several ``v1`` values may be given (during a
    secret rotation the sender signs with both); one matching is enough."""
    if not secret:
        raise SignatureError("no secret to verify with")
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"timestamp {value!r} is not a whole number of seconds") from None
        elif key == SIGNATURE_VERSION:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("no timestamp (t=) in the signature header")
    if not signatures:
        raise SignatureError(f"no {SIGNATURE_VERSION}= signature in the signature header")
    expected = _digest(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureError("signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp is {abs(now - timestamp):.0f} s from now (tolerance {tolerance:.0f} s)")
    return timestamp


@dataclass(frozen=True)
class WebhookEndpoint:
    """``settings.webhook`` of campaigns.yml. Without ``url`` the bodies go to the outbox; the
    signing secret is never here but in the environment (``RETENTION_WEBHOOK_SECRET``)."""

    url: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    timeout_seconds: float = DEFAULT_TIMEOUT


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookRequests:
    """Builds the request bodies: one per (campaign, step, variant) chunk of up to ``batch_size``."""

    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self):
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"webhook batch_size must be 1..{MAX_BATCH_SIZE}, got {self.batch_size}")

    def batches(self, messages: Sequence[OutgoingMessage]) -> list[tuple[list[OutgoingMessage], bytes]]:
        return grouped_batches(messages, lambda m: (m.campaign, m.step, m.variant), self.batch_size, self.body)

    @staticmethod
    def body(chunk: Sequence[OutgoingMessage]) -> bytes:
        first = chunk[0]
        doc = {"batch_id": batch_id(CHANNEL, [m.send_id for m in chunk]), "campaign": first.campaign,
               "step": first.step, "variant": first.variant,
               "recipients": [{"send_id": m.send_id, "customer_key": m.customer_key, "data": m.data}
                              for m in chunk]}
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def rejected(answer: bytes) -> dict[str, str]:
    """send_id -> reason for the recipients a 2xx answer refused; an empty or other body refuses none."""
    try:
        doc = json.loads(answer or b"{}")
    except ValueError:
        return {}
    items = doc.get("rejected") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return {}
    return {str(item["send_id"]): str(item.get("reason") or "rejected by the receiver")
            for item in items if isinstance(item, dict) and item.get("send_id")}
