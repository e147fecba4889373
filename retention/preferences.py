"""How often a customer wants marketing email: the choice offered instead of unsubscribing.

Read from the Shopify customer tag ``email-frequency:<value>`` (dashes or underscores) and from the
preference drop file (inbox ``preferences/``, one JSON object a line); the latest choice wins
(dbt ``int_email_frequency``). The activation gate applies it to promotional email only: an order
follow-up is what "only order updates" keeps.
"""

from __future__ import annotations

AS_USUAL, WEEKLY, MONTHLY, ORDER_UPDATES_ONLY = "as_usual", "weekly", "monthly", "order_updates_only"
EMAIL_FREQUENCIES = (AS_USUAL, WEEKLY, MONTHLY, ORDER_UPDATES_ONLY)
# at most one promotional email in this many hours; order_updates_only allows none
PROMOTIONAL_WINDOW_HOURS = {WEEKLY: 7 * 24, MONTHLY: 30 * 24}


def normalize_frequency(value: object) -> str | None:
    """``Weekly``, ``order-updates-only`` ... as one of EMAIL_FREQUENCIES; None when it is none of them."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace("-", "_").replace(" ", "_")
    return text if text in EMAIL_FREQUENCIES else None
