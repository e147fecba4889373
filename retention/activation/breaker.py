"""The circuit breaker: reasons to refuse activating an audience today.

An audience is refused when a quality check on it (or on what it is built from) failed, or when
its size is far from its trailing median: a segment that triples overnight is far more often a
broken join than a sudden crowd of customers, and mailing it cannot be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class BreakerSettings:
    max_change: float = 1.0  # refuse when the size is more than (1 + x) times or under 1 / (1 + x) of the median
    min_history: int = 3  # earlier sizes needed before the size is judged
    history: int = 14  # how many earlier sizes the median looks at
    min_size: int = 20  # small audiences swing by nature: below this on both sides, no size judgement


def size_reason(size: int, earlier: Sequence[int], settings: BreakerSettings = BreakerSettings()) -> str | None:
    """Why this size is implausible against the earlier sizes (newest first), or None."""
    earlier = list(earlier)[: settings.history]
    if len(earlier) < settings.min_history:
        return None
    typical = median(earlier)
    if max(size, typical) < settings.min_size:
        return None
    ratio = (size + 1) / (typical + 1)  # +1: an empty median or size still gives a finite ratio
    limit = 1 + settings.max_change
    if ratio > limit or ratio < 1 / limit:
        return (f"audience size {size:,} is {ratio:.2f}x its trailing median of {typical:,.0f} "
                f"over {len(earlier)} builds (allowed {1 / limit:.2f}x-{limit:.2f}x)")
    return None


def refusal_reasons(size: int, earlier: Sequence[int], upstream: Iterable[str],
                    quality_failures: Iterable[str], settings: BreakerSettings = BreakerSettings()) -> list[str]:
    reasons = sorted(set(upstream))
    reasons += [f"audience expectation failed: {name}" for name in quality_failures]
    too_far = size_reason(size, earlier, settings)
    if too_far:
        reasons.append(too_far)
    return reasons
