"""Request signatures of the providers' webhooks.

SendGrid signed Event Webhook: ``X-Twilio-Email-Event-Webhook-Signature`` is a base64 DER
ECDSA signature (P-256, SHA-256) over the bytes ``timestamp + raw body``, where ``timestamp`` is
the ``X-Twilio-Email-Event-Webhook-Timestamp`` header; the public key is base64 DER
SubjectPublicKeyInfo (``SENDGRID_WEBHOOK_PUBLIC_KEY``). A timestamp further than ``tolerance``
seconds from now (either side) is stale: it stops replays of captured requests.

Twilio: ``X-Twilio-Signature`` is base64 HMAC-SHA1 (auth token) over the public URL Twilio
requested plus the sorted form parameters; checked by the twilio package's RequestValidator,
which also accepts the URL with and without the default port.

Shopify's HMAC-SHA256 of the raw body: ``retention.live.shopify_webhooks``.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from twilio.request_validator import RequestValidator

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
DEFAULT_TOLERANCE_SECONDS = 300.0


class SignatureError(Exception):
    """Why a request was refused (no secret or payload in the message)."""


class SendGridVerifier:
    def __init__(self, public_key_b64: str, tolerance: float | None = DEFAULT_TOLERANCE_SECONDS, clock=time.time):
        try:
            key = load_der_public_key(base64.b64decode(public_key_b64, validate=True))
        except (ValueError, binascii.Error, TypeError) as exc:
            raise ValueError("SendGrid webhook public key is not base64 DER SubjectPublicKeyInfo") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("SendGrid webhook public key is not an EC key")
        self._key = key
        self.tolerance = tolerance  # None: no freshness check
        self.clock = clock

    def verify(self, body: bytes, signature: str | None, timestamp: str | None, now: float | None = None) -> None:
        """Raise ``SignatureError`` unless ``signature`` signs ``timestamp + body`` and is fresh."""
        if not signature or not timestamp:
            raise SignatureError("missing signature or timestamp header")
        try:
            sig = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("signature is not base64") from None
        try:
            self._key.verify(sig, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise SignatureError("bad signature") from None
        self.check_timestamp(timestamp, now)

    def check_timestamp(self, timestamp: str, now: float | None = None) -> None:
        """Raise ``SignatureError`` for a stale timestamp: the receiver asks this from the headers
        alone, before it reads a body that could not be accepted anyway."""
        if self.tolerance is not None:
            try:
                ts = float(timestamp)
            except ValueError:
                raise SignatureError("timestamp is not a number") from None
            current = self.clock() if now is None else now
            if abs(current - ts) > self.tolerance:
                raise SignatureError("stale timestamp")


class FormParams(dict):
    """Form parameters keeping repeated keys, in the shape RequestValidator reads (``getlist``)."""

    def getlist(self, key):
        return self[key]

    @classmethod
    def parse(cls, body: bytes) -> FormParams:
        params = cls()
        for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False):
            params.setdefault(key, []).append(value)
        return params


class TwilioVerifier:
    def __init__(self, auth_token: str):
        if not auth_token:
            raise ValueError("Twilio auth token is empty")
        self._validator = RequestValidator(auth_token)

    def verify(self, url: str, body: bytes, signature: str | None) -> None:
        if not signature:
            raise SignatureError("missing X-Twilio-Signature")
        try:
            if "bodySHA256" in parse_qs(urlsplit(url).query):
                params = body.decode("utf-8")  # JSON-body variant: the validator checks the body hash
            else:
                params = FormParams.parse(body)
        except UnicodeDecodeError:
            raise SignatureError("body is not UTF-8") from None
        if not self._validator.validate(url, params, signature):
            raise SignatureError("bad signature")

