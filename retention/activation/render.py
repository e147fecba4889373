"""Turn an audience row into the message a sender sends: dynamic data for email, text for SMS."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from retention.activation.campaigns import Campaign, Step
from retention.activation.messages import OutgoingMessage

SMS_NAME_FALLBACK = "there"  # "Hi there!" when the first name is unknown
_ALREADY_PLAIN = frozenset({str, int, bool, type(None)})  # exact types ``plain`` returns unchanged


class RenderError(ValueError):
    """A message cannot be built from this row; the send goes to the dead-letter table."""


def hashed(customer_key: str) -> str:
    """What logs, reports and errors show instead of a customer key."""
    return hashlib.sha256(str(customer_key).encode()).hexdigest()[:12]


def plain(value: Any) -> Any:
    """A pandas/numpy value as plain JSON-able Python (NaN and NaT become None)."""
    if type(value) in _ALREADY_PLAIN:  # the common case, called several times per recipient
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    return value


def payload_of(campaign: Campaign, row: Mapping[str, Any]) -> dict[str, Any]:
    raw = row.get("payload")
    if isinstance(raw, dict):
        return plain(raw)
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return {}
    try:
        payload = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"campaign {campaign.key}, customer {hashed(row['customer_key'])}: "
                          f"payload is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise RenderError(f"campaign {campaign.key}, customer {hashed(row['customer_key'])}: "
                          "payload is not a JSON object")
    return payload


def template_data(campaign: Campaign, step: Step, row: Mapping[str, Any], coupon_code: str | None) -> dict:
    """The payload plus what the engine adds: first_name, coupon_code, discount_percent, step, and
    the subject line when an experiment's variant sets one."""
    payload = payload_of(campaign, row)
    first_name = plain(row.get("first_name")) or payload.get("first_name") or None  # templates greet without
    percent = campaign.discount.percent if (coupon_code and campaign.discount) else None
    subject = {"subject": step.subject} if step.subject else {}
    return {**payload, "first_name": first_name, "coupon_code": coupon_code,
            "discount_percent": _whole(percent), "step": step.number, **subject}


def sms_text(campaign: Campaign, step: Step, data: Mapping[str, Any], customer_key: str) -> str:
    template = campaign.sms_body_for(step) or ""
    fields = dict(data)
    fields["first_name"] = fields.get("first_name") or SMS_NAME_FALLBACK
    products = fields.get("products")
    if isinstance(products, list) and products and isinstance(products[0], dict):
        # shortcuts for the first product, so short SMS templates stay readable
        fields.setdefault("product_title", products[0].get("title"))
        fields.setdefault("product_price", _money(products[0].get("price")))
    fields = {k: v for k, v in fields.items() if v is not None}  # None must never print as "None"
    try:
        return template.format_map(fields)
    except KeyError as exc:
        missing = exc.args[0]
    except (IndexError, TypeError, ValueError) as exc:
        missing = f"a value for the template ({exc})"
    raise RenderError(f"campaign {campaign.key}, customer {hashed(customer_key)}: sms_body needs "
                      f"{{{missing}}} but the payload has no such field (or it is empty)")


def render_message(campaign: Campaign, step: Step, row: Mapping[str, Any], channel: str, send_id: str,
                   coupon_code: str | None, to: str | None = None, variant: str | None = None) -> OutgoingMessage:
    customer_key = str(row["customer_key"])
    data = template_data(campaign, step, row, coupon_code)
    if channel == "webhook":  # the receiver knows its devices by customer key
        address, data = customer_key, {**data, **_included(campaign, row, customer_key)}
    else:
        address = to or plain(row.get("email" if channel == "email" else "phone"))
    if not address:
        raise RenderError(f"campaign {campaign.key}, customer {hashed(customer_key)}: no {channel} address")
    if channel in ("email", "webhook"):
        template_id, body = campaign.template_for(step) if channel == "email" else None, None
    else:
        template_id, body, data = None, sms_text(campaign, step, data, customer_key), {}
    return OutgoingMessage(send_id=send_id, campaign=campaign.key, step=step.number, customer_key=customer_key,
                           channel=channel, to=str(address), template_id=template_id, body=body, data=data,
                           categories=campaign.categories, asm_group_id=campaign.unsubscribe_group,
                           variant=variant)


def _included(campaign: Campaign, row: Mapping[str, Any], customer_key: str) -> dict[str, Any]:
    """The personal fields a webhook campaign asked for (``webhook_include``); missing ones are an error."""
    fields = {name: plain(row.get(name)) for name in campaign.webhook_include}
    for name, value in fields.items():
        if not value:
            raise RenderError(f"campaign {campaign.key}, customer {hashed(customer_key)}: webhook_include "
                              f"names {name} but the audience row has none")
    return fields


def sample_of(message: OutgoingMessage, sms_template: str | None = None) -> dict[str, Any]:
    """What a dry run shows: the template and the content's shape, nothing that names a person.

    Dry-run reports go to logs, so a sample carries a hashed customer key, the SMS template rather
    than its text, and in email data only product facts (``READABLE_KEYS``), numbers and booleans
    as they are: every other text (names, codes, recovery URLs, order names...) becomes a hash."""
    sample = {"customer": hashed(message.customer_key), "channel": message.channel, "step": message.step}
    if message.channel == "email":
        sample.update(template_id=message.template_id, data=_masked(message.data))
    elif message.channel == "webhook":
        sample.update(data=_masked(message.data))
    else:
        sample.update(template=sms_template, body=masked(message.body))
    return sample


def _whole(value: float | None) -> float | int | None:
    return int(value) if value is not None and float(value).is_integer() else value


def _money(value: Any) -> Any:
    """12 or 12.0 reads as 12.00 in a text message; text prices are left as the store wrote them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.2f}"
    return value


# keys whose text is the store's, not the customer's: shown in dry-run samples
READABLE_KEYS = frozenset({"title", "product_title", "price", "previous_price", "product_price", "image_url",
                           "tier", "loyalty_tier", "template_id"})


def masked(text: Any) -> str | None:
    """A text's length and hash: comparable across samples, unreadable in a log."""
    if text is None:
        return None
    value = str(text)
    return f"<{len(value)} chars sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}>"


def _masked(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    if value is None or isinstance(value, (bool, int, float)) or key in READABLE_KEYS:
        return value
    return masked(value)
