"""The simulated store's recipients answer the pipeline's own messages.

Reads the request bodies the activation wrote to the outbox (SendGrid `/v3/mail/send` bodies and
Twilio message requests) and writes what the providers would post back into the inbox: SendGrid
events (processed, delivered, open, click, bounce, unsubscribe, spam report) carrying the send's
`custom_args`, and Twilio status callbacks. The loop then closes as it does with live providers:
the events land, and the warehouse measures the campaigns. Deterministic for a seed and a send.

Some recipients who click an email carrying a discount code buy with it: an order quoting the code
lands in ``inbox/shopify`` on the day of the purchase, then again on the days it is fulfilled and
delivered (as the store's own orders are: one never fulfilled reads as delayed), and the truth (which send's code became
which order, for how much) is written to ``simulation/redemptions.jsonl``. The redemptions draw
from their own random stream, so the provider events are the same with or without them.

Two truths are planted for the experiments to find (``simulation/response_truth.json``): a named
variant opens more (``ResponseRates.variant_open_uplift``, read from the send's ``custom_args``),
and every recipient has a preferred local hour (drawn from a hash of the address and
``preference_seed``) in which a message is opened more often (``preferred_hour_open_uplift``).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np

from retention.paths import DataDir
from retention.store_simulator.render import shipment


@dataclass(frozen=True)
class ResponseRates:
    email_bounce: float = 0.01
    email_open: float = 0.35  # of delivered
    email_click: float = 0.25  # of opened
    email_unsubscribe: float = 0.004  # of delivered
    email_spam_report: float = 0.0005
    sms_undelivered: float = 0.03
    email_redeem: float = 0.3  # of clicked emails that carry a discount code: an order quoting it
    # added to email_open for a variant (custom_args "variant"): the shipped subject-line test's
    # challenger is truly better, so the demo's experiment has a winner to find
    variant_open_uplift: Mapping[str, float] = field(default_factory=lambda: {"question": 0.08})
    preferred_hour_open_uplift: float = 0.25  # added to email_open in the recipient's preferred local hour
    preference_seed: int = 42  # the store's: preferred hours stay the same from one day's answers to the next
    local_time_zone: str = "America/New_York"  # recipients' local time (the simulated store's zone)


PREFERRED_HOURS = range(6, 23)  # waking hours: where a recipient's preferred hour falls


def preferred_hour(to: str, rates: ResponseRates) -> int:
    """The recipient's true preferred local hour: the same for every message and day."""
    digest = hashlib.sha256(f"{rates.preference_seed}|hour|{to.strip().lower()}".encode()).digest()
    return PREFERRED_HOURS[int.from_bytes(digest[:8], "big") % len(PREFERRED_HOURS)]


def open_probability(message: Sent, rates: ResponseRates) -> float:
    """email_open, plus the variant's uplift, plus the preferred hour's: all of it in that local
    hour, half of it an hour either side (a preference is a peak, not a single hour)."""
    rate = rates.email_open + rates.variant_open_uplift.get(message.custom_args.get("variant", ""), 0.0)
    hour = message.sent_at.astimezone(ZoneInfo(rates.local_time_zone)).hour
    distance = abs(hour - preferred_hour(message.to, rates))
    rate += rates.preferred_hour_open_uplift * max(0.0, 1 - min(distance, 24 - distance) / 2)
    return min(rate, 1.0)


@dataclass(frozen=True)
class Sent:
    """One message as the provider received it."""

    channel: str  # email | sms
    to: str
    custom_args: dict
    sent_at: datetime
    message_id: str
    status_callback: str | None = None
    template_data: dict = field(default_factory=dict, compare=False)  # what the message offered (email)


def outbox_files(outbox: Path) -> set[Path]:
    """The request bodies in the outbox now (temporary files start with a dot)."""
    return set(outbox.glob("email/[!.]*.json")) | set(outbox.glob("sms/[!.]*.json"))


def read_outbox(paths: Iterable[Path], sent_at: datetime) -> list[Sent]:
    """Every message in these outbox files (``sent_at`` stands in for the send time)."""
    paths = sorted(paths)
    messages: list[Sent] = []
    for path in (p for p in paths if p.parent.name == "email"):
        body = json.loads(path.read_text())
        for index, person in enumerate(body.get("personalizations", [])):
            for to in person.get("to", []):
                args = person.get("custom_args", {})
                messages.append(Sent("email", to["email"], args, sent_at, f"{path.stem}.{index}",
                                     template_data=person.get("dynamic_template_data") or {}))
    for path in (p for p in paths if p.parent.name == "sms"):
        for entry in json.loads(path.read_text()):  # [{"send_id", "form": Twilio's request form}]
            form = entry["form"]
            sid = "SM" + hashlib.sha256(entry["send_id"].encode()).hexdigest()[:32]
            messages.append(Sent("sms", form["To"], {"send_id": entry["send_id"]}, sent_at, sid,
                                 form.get("StatusCallback")))
    return messages


def _rng(seed: int, message_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{message_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _event_id(message_id: str, kind: str) -> str:
    return hashlib.sha256(f"{message_id}|{kind}".encode()).hexdigest()[:22]


def _draws_key(message: Sent) -> str:
    """What a recipient's answers are drawn by: the ledger's send id, the same on every run. The
    provider's message id names the batch and the place in it, which follow the audience's row
    order, so the same message would be answered differently from one run to the next."""
    return message.custom_args.get("send_id") or message.message_id


def email_events(message: Sent, rates: ResponseRates, seed: int) -> list[dict]:
    rng = _rng(seed, _draws_key(message))
    base = {"email": message.to, "sg_message_id": f"{message.message_id}.filter0001", **message.custom_args}
    t = message.sent_at.timestamp()

    def event(kind: str, after_seconds: float, **extra) -> dict:
        return {**base, "timestamp": int(t + after_seconds), "event": kind,
                "sg_event_id": _event_id(message.message_id, kind), **extra}

    events = [event("processed", 1)]
    if rng.random() < rates.email_bounce:
        return events + [event("bounce", 30, type="bounce", reason="550 5.1.1 The email account does not exist",
                               status="5.1.1", bounce_classification="Invalid Address")]
    events.append(event("delivered", rng.integers(2, 60), response="250 OK"))
    opened_after = rng.exponential(4 * 3600)
    if rng.random() < open_probability(message, rates):
        events.append(event("open", 60 + opened_after))
        if rng.random() < rates.email_click:
            events.append(event("click", 90 + opened_after + rng.exponential(120),
                                url=f"https://shop.example.com/?utm_campaign={message.custom_args.get('campaign', '')}"))
    if rng.random() < rates.email_unsubscribe:
        events.append(event("unsubscribe", 120 + opened_after))
    elif rng.random() < rates.email_spam_report:
        events.append(event("spamreport", 120 + opened_after))
    return events


REDEMPTION_ORDER_IDS = 7_000_000_000_000  # above the simulated store's own order ids


def redemption(message: Sent, events: list[dict], rates: ResponseRates, seed: int) -> tuple[list[dict], dict] | None:
    """(the Shopify order's versions, the truth) when the recipient buys with the message's code after
    a click: placed, then fulfilled and delivered as the store's own orders are (an order never
    fulfilled would read as a delayed one, and be apologised for)."""
    data = message.template_data
    code, percent = data.get("coupon_code"), data.get("discount_percent")
    # what the message showed: its own products, else the recommendations it carried (a birthday offer has no product)
    shown = data.get("products") or data.get("recommendations") or []
    products = [p for p in shown if isinstance(p, dict) and p.get("product_id") is not None and p.get("price")]
    clicks = [e for e in events if e["event"] == "click"]
    if not (code and percent and products and clicks):
        return None
    rng = _rng(seed, f"{_draws_key(message)}|redeem")
    if rng.random() >= rates.email_redeem:
        return None
    product = products[int(rng.integers(0, len(products)))]
    at = datetime.fromtimestamp(clicks[0]["timestamp"] + 60 + rng.exponential(3600), tz=UTC)
    digest = hashlib.sha256(f"{seed}|{_draws_key(message)}|order".encode()).digest()
    order_id = REDEMPTION_ORDER_IDS + int.from_bytes(digest[:5], "little")
    price = round(float(product["price"]), 2)
    discount = round(price * float(percent) / 100, 2)
    total = round(price - discount, 2)
    stamp = _stamp(at)

    def money(value: float) -> str:
        return f"{value:.2f}"

    order = {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#R{order_id % 10**8}",
        "email": message.to, "contact_email": message.to, "created_at": stamp, "updated_at": stamp,
        "processed_at": stamp, "confirmed": True, "test": False, "currency": "USD", "presentment_currency": "USD",
        "financial_status": "paid", "fulfillment_status": None, "source_name": "web", "buyer_accepts_marketing": True,
        "total_line_items_price": money(price), "total_discounts": money(discount), "subtotal_price": money(total),
        "total_tax": "0.00", "total_price": money(total), "total_outstanding": "0.00",
        "current_subtotal_price": money(total), "current_total_discounts": money(discount),
        "current_total_tax": "0.00", "current_total_price": money(total), "taxes_included": False,
        "discount_codes": [{"code": code, "amount": money(discount), "type": "percentage"}],
        "discount_applications": [{"target_type": "line_item", "type": "discount_code", "value": f"{float(percent):.1f}",
                                   "value_type": "percentage", "allocation_method": "across",
                                   "target_selection": "all", "code": code}],
        "line_items": [{"id": order_id * 10, "product_id": int(product["product_id"]), "title": product.get("title"),
                        "quantity": 1, "current_quantity": 1, "fulfillable_quantity": 1, "price": money(price),
                        "discount_allocations": [{"amount": money(discount), "discount_application_index": 0}]}],
        "shipping_lines": [], "customer": None, "fulfillments": [], "refunds": [], "tags": "",
    }
    truth = {"order_id": order_id, "code": code, "send_id": message.custom_args.get("send_id"),
             "campaign": message.custom_args.get("campaign"), "step": message.custom_args.get("step"),
             "ordered_at": stamp, "discount_amount": money(discount), "total_price": money(total)}
    # the store's own orders: fulfilled after ~20 hours (lognormal), in transit 1.5-5.5 days (commerce.py)
    fulfilled = at + timedelta(seconds=float(rng.lognormal(np.log(20 * 3600), 0.6)))
    delivered = fulfilled + timedelta(days=float(rng.uniform(1.5, 5.5)))
    return [order, _shipped(order, fulfilled, fulfilled, "in_transit"),
            _shipped(order, fulfilled, delivered, "delivered")], truth


def _shipped(order: dict, fulfilled: datetime, at: datetime, status: str) -> dict:
    """The order as of ``at``: fulfilled at ``fulfilled`` in one shipment, its status ``status``."""
    lines = [{**line, "fulfillable_quantity": 0, "fulfillment_status": "fulfilled"} for line in order["line_items"]]
    tracking = f"1Z{hashlib.sha256(str(order['id']).encode()).hexdigest()[:16].upper()}"
    shipped = shipment(order["id"] * 10 + 1, order["id"], f"{order['name']}.1", _stamp(fulfilled), _stamp(at), status,
                       tracking, [{k: line[k] for k in ("id", "product_id", "quantity", "price")} for line in lines])
    return {**order, "updated_at": _stamp(at), "fulfillment_status": "fulfilled", "line_items": lines,
            "fulfillments": [shipped]}


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sms_callbacks(message: Sent, rates: ResponseRates, seed: int, account_sid: str = "AC" + "0" * 32) -> list[str]:
    rng = _rng(seed, message.message_id)
    final = "undelivered" if rng.random() < rates.sms_undelivered else "delivered"
    return [
        urlencode({"SmsSid": message.message_id, "SmsStatus": status, "MessageStatus": status, "To": message.to,
                   "MessageSid": message.message_id, "AccountSid": account_sid, "ApiVersion": "2010-04-01",
                   **({"ErrorCode": "30003"} if status == "undelivered" else {})})
        for status in ("queued", "sent", final)
    ]


def write_responses(data_dir: DataDir, messages: Iterable[Sent], seed: int = 0,
                    rates: ResponseRates = ResponseRates(), tag: str | None = None) -> dict[str, int]:
    """Write the providers' answers into the inbox by delivery day (the day an event happens).

    Files are named by ``tag`` and replaced, so answering the same outbox twice changes nothing. The
    default tag names the messages' send time: a day's events and orders answer several sends (a
    click the day after, an order fulfilled the day after that), and one send's answers must not
    replace another's.
    """
    messages = list(messages)
    if tag is None:
        tag = f"responses-{min(m.sent_at for m in messages):%Y%m%d%H%M%S}" if messages else "responses"
    email_by_day: dict[str, list[dict]] = defaultdict(list)
    sms_by_stamp: dict[datetime, list[str]] = defaultdict(list)
    orders_by_day: dict[str, list[dict]] = defaultdict(list)
    truths: list[dict] = []
    for message in messages:
        if message.channel == "email":
            events = email_events(message, rates, seed)
            for event in events:
                day = datetime.fromtimestamp(event["timestamp"], tz=UTC).date().isoformat()
                email_by_day[day].append(event)
            redeemed = redemption(message, events, rates, seed)
            if redeemed is not None:
                versions, truth = redeemed
                for version in versions:  # each on the day it happened, as the store's webhooks come
                    orders_by_day[version["updated_at"][:10]].append(version)
                truths.append(truth)
        else:
            # Twilio's bodies carry no time: ingestion reads it from the file name's stamp
            received = (message.sent_at + timedelta(seconds=5)).astimezone(UTC).replace(microsecond=0)
            sms_by_stamp[received].extend(sms_callbacks(message, rates, seed))
    for day, events in email_by_day.items():
        _write(data_dir.inbox / "sendgrid" / day / f"events-{tag}.json", json.dumps(events))
    for received, lines in sms_by_stamp.items():
        name = f"status-{tag}-{received.strftime('%Y%m%dT%H%M%SZ')}.txt"
        _write(data_dir.inbox / "twilio" / received.date().isoformat() / name, "\n".join(lines) + "\n")
    for day, orders in orders_by_day.items():
        _write(data_dir.inbox / "shopify" / day / f"orders-{tag}.json", json.dumps({"orders": orders}))
    if truths:
        _record_redemptions(data_dir.simulation / "redemptions.jsonl", truths)
    _record_response_truth(data_dir.simulation / "response_truth.json", rates,
                           {m.to for m in messages if m.channel == "email"})
    return {"email_events": sum(map(len, email_by_day.values())),
            "sms_callbacks": sum(map(len, sms_by_stamp.values())), "redemptions": len(truths)}


def _record_redemptions(path: Path, truths: list[dict]) -> None:
    """The truth file holds each redemption once, however often an outbox is answered."""
    known = {}
    if path.exists():
        known = {r["order_id"]: r for r in map(json.loads, path.read_text().splitlines()) if r}
    known.update({r["order_id"]: r for r in truths})
    _write(path, "".join(json.dumps(known[k], sort_keys=True) + "\n" for k in sorted(known)))


def address_hash(to: str) -> str:
    """How the truth names a recipient: no address in the file, yet tests can join on it."""
    return hashlib.sha256(to.strip().lower().encode()).hexdigest()[:16]


def _record_response_truth(path: Path, rates: ResponseRates, addresses: set[str]) -> None:
    """The planted uplifts and every answered recipient's preferred hour, merged over runs."""
    hours = json.loads(path.read_text())["preferred_hours"] if path.exists() else {}
    hours.update({address_hash(to): preferred_hour(to, rates) for to in addresses})
    _write(path, json.dumps({"variant_open_uplift": dict(rates.variant_open_uplift),
                             "preferred_hour_open_uplift": rates.preferred_hour_open_uplift,
                             "email_open": rates.email_open, "local_time_zone": rates.local_time_zone,
                             "preferred_hours": dict(sorted(hours.items()))}, indent=1))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
