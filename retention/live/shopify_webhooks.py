"""Shopify webhook verification (pure: no HTTP server, no I/O).

Shopify signs every webhook delivery with the app's client secret: ``X-Shopify-Hmac-Sha256`` is
``base64(HMAC-SHA256(secret, raw request body))``. The check must run on the raw bytes as
received (before any JSON parsing or re-encoding) and compares in constant time. During a secret
rotation both secrets may be given; the delivery is accepted if either signs it.

Other headers: ``X-Shopify-Topic`` (``orders/create``, ``customers/redact``...),
``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id`` (the same for every
retry of one delivery: the dedupe key), ``X-Shopify-Event-Id``, ``X-Shopify-Triggered-At``.
Header names are matched case-insensitively. Errors carry a short reason, never the secret or
the body.

    webhook = verify_webhook(request_headers, raw_body, [secret])

The receiver stores a verified delivery once per webhook id (``retention.live.shopify_inbox``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
API_VERSION_HEADER = "X-Shopify-API-Version"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class ShopifyWebhookError(ValueError):
    """A delivery refused; ``reason`` is one of ``missing_hmac``, ``invalid_hmac``, ``no_secret``,
    ``missing_topic``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ShopifyWebhook:
    topic: str
    shop_domain: str | None
    api_version: str | None
    webhook_id: str | None
    event_id: str | None
    triggered_at: str | None
    body: bytes = field(repr=False)

    @property
    def dedupe_key(self) -> str | None:
        """``X-Shopify-Webhook-Id``: a retried delivery carries the same one."""
        return self.webhook_id

    @property
    def is_compliance(self) -> bool:
        return self.topic in COMPLIANCE_TOPICS


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode("utf-8")


def compute_hmac(secret: str | bytes, raw_body: bytes) -> str:
    """``base64(HMAC-SHA256(secret, raw_body))``, the value Shopify sends."""
    return base64.b64encode(hmac.new(_secret_bytes(secret), raw_body, hashlib.sha256).digest()).decode("ascii")


def hmac_matches(secret: str | bytes, raw_body: bytes, header_value: str | bytes | None) -> bool:
    """Constant-time comparison of the computed HMAC with the header's value (as bytes, so any
    header value, even one that is not base64 or not ASCII, is simply not equal)."""
    if not header_value:
        return False
    given = header_value if isinstance(header_value, bytes) else header_value.strip().encode("utf-8", "replace")
    return hmac.compare_digest(compute_hmac(secret, raw_body).encode("ascii"), given)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (works with plain dicts and ``http.client`` messages)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_webhook(headers: Mapping[str, str], raw_body: bytes, secrets: Iterable[str | bytes]) -> ShopifyWebhook:
    """The delivery, if one of ``secrets`` signs ``raw_body``; ``ShopifyWebhookError`` otherwise."""
    secrets = [s for s in secrets if s]
    if not secrets:
        raise ShopifyWebhookError("no_secret", "no Shopify webhook secret is configured")
    signature = header(headers, HMAC_HEADER)
    if not signature:
        raise ShopifyWebhookError("missing_hmac", f"missing {HMAC_HEADER} header")
    # every secret is tried (no early exit), so timing does not tell which one matched
    matched = False
    for secret in secrets:
        matched |= hmac_matches(secret, raw_body, signature)
    if not matched:
        raise ShopifyWebhookError("invalid_hmac", f"{HMAC_HEADER} does not match the body")
    topic = header(headers, TOPIC_HEADER)
    if not topic:
        raise ShopifyWebhookError("missing_topic", f"missing {TOPIC_HEADER} header")
    return ShopifyWebhook(
        topic=topic.strip(), shop_domain=header(headers, SHOP_HEADER), api_version=header(headers, API_VERSION_HEADER),
        webhook_id=header(headers, WEBHOOK_ID_HEADER), event_id=header(headers, EVENT_ID_HEADER),
        triggered_at=header(headers, TRIGGERED_AT_HEADER), body=raw_body,
    )
