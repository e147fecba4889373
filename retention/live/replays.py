"""Replay protection for the webhook receiver: which deliveries the inbox already holds.

Providers deliver at least once (a retry after a lost answer, Shopify's redeliveries) and a
captured signed request can be replayed while its signature is fresh. Each delivery has a key
(SendGrid: its batch of ``sg_event_id``; Twilio: ``MessageSid`` with ``MessageStatus``; Shopify:
``X-Shopify-Webhook-Id``). A delivery whose key the inbox already holds, today or on the days
before (``DEDUPE_DAYS``), is acknowledged and not written again. A SendGrid batch is one key: a
batch sharing only some events with a stored one is stored whole (staging drops the repeated
``sg_event_id`` rows).

The inbox is the record: every route writes its key into what it stores (a file name, the line
itself), and the index reads a day's keys back from those files the first time that day is asked
about. So it survives a restart, kill -9 included, and no second store can disagree with the
inbox: a write that was on disk before a crash is recognised when its unanswered request is
retried.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import TypeVar
from urllib.parse import parse_qsl

DEDUPE_DAYS = 3  # providers retry one delivery for hours, never days
T = TypeVar("T")


def digest_key(data: bytes) -> str:
    """A key standing in for a delivery that names no id of its own (safe in a file name)."""
    return "sha256" + hashlib.sha256(data).hexdigest()[:32]


def sendgrid_key(body: bytes) -> str:
    """One key for a batch of SendGrid events: its ``sg_event_id`` values (a retried batch carries
    the same ones), or the body's digest when it names none."""
    try:
        events = json.loads(body)
        ids = sorted(str(e["sg_event_id"]) for e in events if isinstance(e, dict) and e.get("sg_event_id"))
    except (ValueError, TypeError, RecursionError):  # not a list of events: stored as it is, keyed by its bytes
        ids = []
    return digest_key("\n".join(ids).encode() if ids else body)


def twilio_key(kind: str, line: bytes) -> str:
    """``status`` callbacks repeat per status change of one message: MessageSid with MessageStatus;
    an ``inbound`` message is one MessageSid."""
    fields = dict(parse_qsl(line.decode("utf-8", "replace"), keep_blank_values=True))
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    if not sid:
        return f"{kind}:{digest_key(line)}"
    if kind != "status":
        return f"{kind}:{sid}"
    return f"{kind}:{sid}:{fields.get('MessageStatus') or fields.get('SmsStatus') or ''}"


class DeliveryIndex:
    """The keys stored per inbox day, read by ``scan(day)`` from the inbox once, then kept current."""

    def __init__(self, scan: Callable[[date], Iterable[str]], days: int = DEDUPE_DAYS):
        self._scan = scan
        self._days = days
        self._key_locks = [threading.Lock() for _ in range(64)]  # one key is stored by one thread at a time
        self._lock = threading.Lock()
        self._keys: dict[date, set[str]] = {}

    def store_once(self, key: str, day: date, write: Callable[[], T]) -> tuple[T | None, bool]:
        """``(write(), True)`` for a new key, ``(None, False)`` for one the inbox holds already."""
        with self._key_locks[hash(key) % len(self._key_locks)]:
            if any(key in self._day_keys(day - timedelta(days=back)) for back in range(self._days)):
                return None, False
            result = write()
            with self._lock:
                self._day_keys_locked(day).add(key)
            return result, True

    def _day_keys(self, day: date) -> set[str]:
        with self._lock:
            return self._day_keys_locked(day)

    def _day_keys_locked(self, day: date) -> set[str]:
        keys = self._keys.get(day)
        if keys is None:
            keys = self._keys[day] = set(self._scan(day))
            for old in [d for d in self._keys if d < day - timedelta(days=self._days)]:
                del self._keys[old]
        return keys
