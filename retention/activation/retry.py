"""When and how long to wait before sending a rejected request again.

Only a request the provider rejected as a whole (429, 5xx) or never received (the connection
could not be made) is retried, so a retry can never deliver a message twice. The wait is
exponential backoff with full jitter, unless the provider says how long to wait: ``Retry-After``
(seconds or an HTTP date), or a rate-limit reset time (``X-RateLimit-Reset``, SendGrid's epoch
seconds). Every wait is capped by ``max_delay``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")
RESET_HEADERS = ("x-ratelimit-reset", "x-rate-limit-reset")


class RetryableError(Exception):
    """The provider did not accept the request (429, 5xx, no connection): sending it again is safe."""

    def __init__(self, reason: str, http_status: int | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None, now: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        hinted = provider_wait(headers or {}, time.time() if now is None else now)
        if hinted is not None:
            return min(self.max_delay, hinted)
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** attempt))

    def call(self, request: Callable[[], T]) -> T:
        """Run ``request`` until it stops raising ``RetryableError`` or the attempts run out
        (then the last ``RetryableError`` propagates)."""
        attempt = 0
        while True:
            try:
                return request()
            except RetryableError as error:
                attempt += 1
                if attempt >= self.max_attempts:
                    raise
                self.sleep(self.delay(attempt - 1, error.headers))


def provider_wait(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the provider asked for, in seconds, or None when it did not say."""
    lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
    for name in RESET_HEADERS:
        try:
            reset = float(lowered[name])
        except (KeyError, ValueError):
            continue
        # An epoch timestamp is absolute; a small number is a count of seconds from now.
        return max(0.0, reset - now) if reset > 1e9 else max(0.0, reset)
    return None
