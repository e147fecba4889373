"""Time helpers: the simulation keeps Unix seconds (int64, UTC); providers get strings.

Shopify renders timestamps in the store's time zone with the real offset of that
instant (DST included), e.g. ``2024-03-10T01:59:59-05:00`` then ``03:00:00-04:00``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

DAY = 86400
WEEK = 7 * DAY
EPOCH_DATE = date(1970, 1, 1)

_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def day_index(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH_DATE).days


def day_of(ts) -> np.ndarray:
    return np.floor_divide(ts, DAY)


def date_of_index(i: int) -> date:
    return EPOCH_DATE + timedelta(days=int(i))


def utc_times(seconds, index=None) -> pd.Series:
    """Unix seconds (-1: none) as UTC timestamps (NaT for none). Converted as integers: pandas'
    float path with NaNs can raise on its own scratch values."""
    seconds = np.asarray(seconds, dtype=np.int64)
    stamps = pd.to_datetime(np.where(seconds >= 0, seconds, 0), unit="s", utc=True)
    return pd.Series(stamps, index=index).where(seconds >= 0)


class Clock:
    """Formats Unix seconds as ISO 8601 in the store's zone (cached per hour)."""

    def __init__(self, tz: str):
        self.tz = ZoneInfo(tz)
        self._off: dict[int, tuple[int, str]] = {}
        self._dates: dict[int, str] = {}

    def _offset(self, hour: int) -> tuple[int, str]:
        o = self._off.get(hour)
        if o is None:
            dt = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(self.tz)
            secs = int(dt.utcoffset().total_seconds())
            sign = "+" if secs >= 0 else "-"
            a = abs(secs)
            o = (secs, f"{sign}{a // 3600:02d}:{(a % 3600) // 60:02d}")
            self._off[hour] = o
        return o

    def _date(self, d: int) -> str:
        s = self._dates.get(d)
        if s is None:
            s = (EPOCH_DATE + timedelta(days=d)).isoformat()
            self._dates[d] = s
        return s

    def local(self, ts: int) -> str:
        """Store-local ISO string with offset, e.g. 2024-03-01T09:12:00-05:00."""
        ts = int(ts)
        secs, suffix = self._offset(ts // 3600)
        lt = ts + secs
        d, s = divmod(lt, DAY)
        return f"{self._date(d)}T{_HMS[s]}{suffix}"

    def utc(self, ts: int, z: bool = True) -> str:
        ts = int(ts)
        d, s = divmod(ts, DAY)
        return f"{self._date(d)}T{_HMS[s]}{'Z' if z else '+00:00'}"

    def fixed(self, ts: int, offset_minutes: int) -> str:
        ts = int(ts)
        lt = ts + offset_minutes * 60
        d, s = divmod(lt, DAY)
        sign = "+" if offset_minutes >= 0 else "-"
        a = abs(offset_minutes)
        return f"{self._date(d)}T{_HMS[s]}{sign}{a // 60:02d}:{a % 60:02d}"

    def local_day_index(self, ts: int) -> int:
        ts = int(ts)
        return (ts + self._offset(ts // 3600)[0]) // DAY

    def compact_utc(self, ts: int) -> str:
        """20240301T135959Z"""
        ts = int(ts)
        d, s = divmod(ts, DAY)
        return self._date(d).replace("-", "") + "T" + _HMS[s].replace(":", "") + "Z"
