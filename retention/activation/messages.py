"""What the engine hands to a sender and what a sender hands back (shared by every sender)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

CHANNELS = ("email", "sms")
RESULT_STATUSES = ("sent", "outbox", "dead_letter", "suppressed")


@dataclass(frozen=True)
class OutgoingMessage:
    send_id: str
    campaign: str
    step: int
    customer_key: str
    channel: str  # "email" | "sms"
    to: str  # email address or E.164 phone
    template_id: str | None  # SendGrid dynamic template (email)
    body: str | None  # rendered SMS text
    data: dict = field(default_factory=dict)  # dynamic_template_data (email)
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
