"""One-off broadcasts (a flash sale): the rows of ``audience_broadcast`` a broadcast campaign sends to.

A broadcast campaign (``broadcast:`` in campaigns.yml) reads every customer with their segments and
sends once to the members of its segments, at ``send_at`` in each recipient's own time zone. Here
the rows are narrowed to those members and each row is given, as its ``triggered_at``, the UTC
instant of ``send_at`` in the row's zone; the engine then treats it as any step due at that moment
(``not_due`` before it) and passes it through the same gate: consent, suppressions, caps, priority,
quiet hours and the holdout. The occurrence is the ``send_at`` itself, so the ledger sends it once,
and the same campaign given a new ``send_at`` is a new broadcast. Rows more than
``send_within_hours`` past their moment are left out: a flash sale announced after it ended is worse
than none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from retention.activation.campaigns import Campaign

SEGMENTS_COLUMN = "segments"  # comma-separated customer_segments.segment codes of the customer


@lru_cache(maxsize=512)
def local_moment_utc(moment: datetime, zone: str, fallback: str) -> datetime:
    """``moment`` (naive, local) in ``zone`` (else ``fallback``) as an aware UTC instant."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        tz = ZoneInfo(fallback)
    return moment.replace(tzinfo=tz).astimezone(UTC)


def broadcast_rows(campaign: Campaign, frame: pd.DataFrame, now: datetime, store_time_zone: str) -> pd.DataFrame:
    """The frame unchanged for any other campaign; for a broadcast, its segments' members with the
    moment they are due as ``triggered_at`` and the send_at as ``occurrence``, the too-late ones left out."""
    spec = campaign.broadcast
    if spec is None:
        return frame
    wanted = set(spec.segments)
    member = frame[SEGMENTS_COLUMN].map(lambda text: isinstance(text, str) and not wanted.isdisjoint(text.split(",")))
    rows = frame[member.astype(bool)].copy()
    due = [local_moment_utc(spec.send_at, zone, store_time_zone) for zone in rows["time_zone"]]
    rows["triggered_at"] = pd.to_datetime(due, utc=True) if due else pd.Series([], dtype="datetime64[ns, UTC]")
    rows["occurrence"] = spec.send_at.strftime("%Y-%m-%dT%H:%M")
    late = rows["triggered_at"] + timedelta(hours=spec.send_within_hours) <= pd.Timestamp(now)
    return rows[~late.astype(bool)]
