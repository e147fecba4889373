"""What the engine hands to a sender and what a sender hands back (shared by every sender)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

CHANNELS = ("email", "sms", "webhook")
RESULT_STATUSES = ("sent", "outbox", "dead_letter", "suppressed")


@dataclass(frozen=True)
class OutgoingMessage:
    send_id: str
    campaign: str
    step: int
    customer_key: str
    channel: str  # "email" | "sms" | "webhook"
    to: str  # email address, E.164 phone, or (webhook) the customer key
    template_id: str | None  # SendGrid dynamic template (email)
    body: str | None  # rendered SMS text
    data: dict = field(default_factory=dict)  # dynamic_template_data (email), the recipient's data (webhook)
    categories: tuple[str, ...] = ()
    asm_group_id: int | None = None
    variant: str | None = None  # the experiment variant the customer was assigned


@dataclass(frozen=True)
class SendResult:
    send_id: str
    status: str  # "sent" | "outbox" | "dead_letter" | "suppressed"
    provider_message_id: str | None = None
    error: str | None = None  # reason for dead_letter / suppressed
    http_status: int | None = None
    request_body: str | None = None  # kept for dead letters (replay)


class Sender(Protocol):
    channel: str
    mode: str  # "live" | "outbox"

    def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]: ...

    def lookup(self, send_ids: Sequence[str]) -> dict[str, bool | None]: ...  # None = unknown


def batch_id(channel: str, send_ids: Sequence[str]) -> str:
    """Same messages, same id: writing a batch again replaces its file instead of adding one."""
    digest = hashlib.sha256("\n".join(send_ids).encode()).hexdigest()[:20]
    return f"{channel}-{digest}"


def grouped_batches(messages: Sequence[OutgoingMessage], key: Callable[[OutgoingMessage], Hashable], size: int,
                    body: Callable[[Sequence[OutgoingMessage]], Any]) -> list[tuple[list[OutgoingMessage], Any]]:
    """The messages grouped by ``key`` (what one request must share), cut into batches of at most
    ``size``, each with the body ``body`` makes of it."""
    groups: dict[Hashable, list[OutgoingMessage]] = {}
    for message in messages:
        groups.setdefault(key(message), []).append(message)
    return [(group[start:start + size], body(group[start:start + size]))
            for group in groups.values() for start in range(0, len(group), size)]
