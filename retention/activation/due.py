"""Which campaigns have messages due between the daily runs, for the hourly activation run.

The daily run sends what is due when the audiences are rebuilt. Two kinds of message come due
later in the day, each recipient at their own local time: deferrals (quiet hours, a send window, a
customer's optimised hour), held in the ledger with their ``not_before``, and broadcasts, due at
``send_at`` in each recipient's zone. An hourly run of just those campaigns sends them on time
instead of at the next morning's run; the gate and the ledger are the same, so a run with nothing
to do sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from retention.activation.campaigns import Broadcast, Campaign

# A naive local moment falls within these offsets of the same reading in UTC: UTC+14 (Line
# Islands) sees it first, UTC-12 (Baker Island) last.
FIRST_ZONE = timedelta(hours=14)
LAST_ZONE = timedelta(hours=12)


def broadcast_is_open(broadcast: Broadcast, now: datetime) -> bool:
    """Somewhere on Earth ``send_at`` has come and ``send_within_hours`` after it has not passed."""
    moment = broadcast.send_at.replace(tzinfo=UTC)
    return moment - FIRST_ZONE <= now < moment + LAST_ZONE + timedelta(hours=broadcast.send_within_hours)


def due_campaigns(campaigns: Iterable[Campaign], deferred_due: Iterable[str], now: datetime) -> list[str]:
    """The keys of the campaigns with a deferral due by ``now`` (``deferred_due``, from the ledger)
    or an open broadcast, in campaign-file order."""
    deferred = set(deferred_due)
    return [c.key for c in campaigns
            if c.key in deferred or (c.broadcast is not None and broadcast_is_open(c.broadcast, now))]
