"""Referral codes: one per customer with a Shopify account, derived from the customer key.

    referral_code(customer_key("shopify:1001"))   # 'FRIEND-3F9A0C21BE'

The warehouse derives the same code in SQL (dbt macro ``referral_code``, var
``referral_code_prefix``), so an order quoting it names its advocate without a lookup table.
A referral code is meant to be shared, so it needs no secret: what a guessed code could win
is a friend's first-order credit, which the warehouse's checks (self-referral, existing
customer, the code's limit) refuse to the guesser.
"""

from __future__ import annotations

import hashlib

REFERRAL_CODE_PREFIX = "FRIEND"
CODE_LENGTH = 10


def customer_key(canonical: str) -> str:
    """The warehouse's customer_key of a canonical identifier ('shopify:<anchor id>', ...): dbt's hash, md5."""
    return hashlib.md5(canonical.encode()).hexdigest()


def referral_code(key: str, prefix: str = REFERRAL_CODE_PREFIX) -> str:
    return f"{prefix}-{hashlib.md5(f'referral:{key}'.encode()).hexdigest()[:CODE_LENGTH].upper()}"
