"""Discount codes: one per campaign, customer and occurrence, the same on every run.

    code = coupon_code(policy, "abandoned_cart", customer_key, occurrence)   # e.g. CART-7K2M4Q9XPA3B

An HMAC-SHA256 of ``campaign|customer_key|occurrence`` under a secret, base32, 12 characters
(60 bits): deterministic, so a rerun or the next step of a sequence quotes the same code, and
unguessable without the secret, so nobody derives a neighbour's code from their own. Before a
batch is claimed, the engine has each of its codes created in the store (``discounts.CodeIssuer``:
one Shopify discount per campaign and renewal window, the codes added to it in bulk, every request
recorded in the ledger's ``store_discounts`` / ``store_codes`` tables first); a message whose code
the store has not confirmed is not sent. At the claim, the code is recorded in the ledger's
``coupons`` table with its recipient (a collision between two recipients is refused there).

A campaign whose policy says ``code: referral`` carries instead the recipient's own referral code
(``message_code``): the one the warehouse derives and recognises on a friend's order, taken from the
audience payload so the warehouse stays its only source.

The secret comes from ``RETENTION_COUPON_SECRET``. Without it the simulator's fixed, documented
default is used: fine for the outbox and the demo, never for a live store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from retention.activation.campaigns import DiscountPolicy
from retention.activation.render import RenderError

SECRET_ENV = "RETENTION_COUPON_SECRET"
SIMULATOR_SECRET = "retention-simulator-coupon-secret"  # public on purpose: demo and tests only
CODE_LENGTH = 12


def coupon_secret() -> bytes:
    return (os.environ.get(SECRET_ENV) or SIMULATOR_SECRET).encode()


def uses_default_secret() -> bool:
    return not os.environ.get(SECRET_ENV)


def coupon_code(policy: DiscountPolicy, campaign_key: str, customer_key: str, occurrence: str,
                secret: bytes | None = None) -> str:
    message = f"{campaign_key}|{customer_key}|{occurrence}".encode()
    digest = hmac.new(secret if secret is not None else coupon_secret(), message, hashlib.sha256).digest()
    return f"{policy.prefix}-{base64.b32encode(digest).decode()[:CODE_LENGTH]}"


def message_code(policy: DiscountPolicy, campaign_key: str, customer_key: str, occurrence: str,
                 payload: Mapping[str, Any]) -> str:
    """The code a message carries: its own, or for a referral policy the payload's referral_code.
    Raises RenderError (the message goes to the dead letters) when there is no code to promise."""
    if policy.code == "referral":
        code = str(payload.get("referral_code") or "")
        if not code:
            raise RenderError(f"campaign {campaign_key}: the audience row has no referral_code to share")
        if not code.startswith(f"{policy.prefix}-"):  # friends would quote a code the warehouse does not know
            raise RenderError(f"campaign {campaign_key}: the referral code does not start with the discount's "
                              f"prefix {policy.prefix} (dbt var referral_code_prefix)")
        return code
    return coupon_code(policy, campaign_key, customer_key, occurrence)
