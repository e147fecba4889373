"""What the gate knows of each audience row before it looks at any history: erasure, the channel
consent and suppressions leave, exit conditions, recent orders, the zone, the holdout.

None of it changes while a campaign runs, so it is worked out a column at a time, once per
campaign, instead of once per recipient from a dict of the row. Each value still comes from the
gate's own definitions in ``eligibility`` (``has_consent``, ``is_suppressed``, ``in_holdout``...),
applied to the values a row dict would hold, so a row decides as it did one at a time.

A value that cannot be worked out (a malformed group list, a timestamp that does not parse) is
kept as its error and raised only when the gate reaches that check for that row, as before: a row
the run never decides cannot stop it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from retention.activation.campaigns import Campaign, QuietHours
from retention.activation.eligibility import (
    ADDRESS_COLUMN,
    CONSENT_COLUMN,
    FREQUENCY_COLUMN,
    MARKETABLE_COLUMN,
    PUSH_OPT_IN_COLUMN,
    STATE_QUIET_HOURS_COLUMN,
    SUPPRESSION_COLUMN,
    UNSUBSCRIBED_GROUPS_COLUMN,
    Gate,
    as_utc,
    has_consent,
    in_holdout,
    is_suppressed,
    is_true,
    state_quiet_hours,
    zone,
)
from retention.preferences import normalize_frequency


class _Failed:
    """A row's value that raised: raised again when the gate asks for it."""

    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error


def column_values(column: pd.Series) -> Iterator[Any]:
    """A column's values as iterating it gives them (which is what ``itertuples`` yields). Boxing
    a datetime as a Timestamp is slow and a datetime column has few distinct values (the as-of
    day, trigger times), so each distinct one is boxed once and shared: Timestamps are immutable.
    Lazy, like ``itertuples``: a list per column would hold the whole audience a second time."""
    numpy_datetime = isinstance(column.dtype, np.dtype) and column.dtype.kind == "M"
    if not (numpy_datetime or isinstance(column.dtype, pd.DatetimeTZDtype)):  # NaT for missing, not NA
        return iter(column)
    codes, uniques = pd.factorize(column)
    boxed = [*uniques, pd.NaT]  # code -1 is a missing value
    return map(boxed.__getitem__, codes)


class RowFacts:
    """Per-row facts for one audience (``of_frame``) or one row (``of_row``), each list built on
    first use and indexed by the row's position."""

    def __init__(self, gate: Gate, read: Callable[[str, Any], Sequence[Any]], size: int):
        self.gate, self.size, self._read = gate, size, read
        self._lists: dict[Hashable, list[Any]] = {}

    @classmethod
    def of_frame(cls, gate: Gate, frame: pd.DataFrame) -> RowFacts:
        position = {name: k for k, name in enumerate(frame.columns)}  # the last of equal names, as in a dict

        def read(name: str, default: Any) -> Sequence[Any]:
            k = position.get(name)
            return [default] * len(frame) if k is None else list(column_values(frame.iloc[:, k]))
        return cls(gate, read, len(frame))

    @classmethod
    def of_row(cls, gate: Gate, row: Mapping[str, Any]) -> RowFacts:
        return cls(gate, lambda name, default: [row.get(name, default)], 1)

    # -- building the lists

    def _list(self, key: Hashable, build: Callable[..., list[Any]], *args: Any) -> list[Any]:
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = build(*args)
        return found

    def _fact(self, key: Hashable, index: int, build: Callable[..., list[Any]], *args: Any) -> Any:
        """Row ``index``'s value of the list ``build(*args)`` makes (once, kept under ``key``)."""
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = build(*args)
        value = found[index]
        if type(value) is _Failed:
            raise value.error
        return value

    def values(self, name: str, default: Any = None) -> list[Any]:
        return self._list(("values", name, default), lambda: list(self._read(name, default)))

    @staticmethod
    def _each(function: Callable[..., Any], *columns: Sequence[Any]) -> list[Any]:
        """``function`` over the rows' values; a row whose value raises keeps the error."""
        out = []
        for args in zip(*columns):
            try:
                out.append(function(*args))
            except Exception as exc:  # noqa: BLE001 - raised again where the gate reads it (see module)
                out.append(_Failed(exc))
        return out

    # -- the facts, each read by the gate as ``facts.<fact>(..., index)``

    def keys(self) -> list[str]:
        return self._list("keys", lambda: [str(v) for v in self.values("customer_key")])

    def erased(self, index: int) -> bool:
        return self._fact("erased", index, self._erased)

    def _erased(self) -> list[Any]:
        tombstones = self.gate.erased
        if not tombstones:
            return [False] * self.size
        return self._each(lambda k, e, p: tombstones.covers_row({"customer_key": k, "email": e, "phone": p}),
                          self.values("customer_key"), self.values("email"), self.values("phone"))

    def channel(self, campaign: Campaign, index: int) -> tuple[str | None, str | None]:
        """(exclusion reason, None) or (None, the first channel in preference order with consent
        and no suppression)."""
        key = ("channel", campaign.channels, campaign.confirms_sms_opt_in, campaign.unsubscribe_group)
        return self._fact(key, index, self._channels, campaign)

    def _channels(self, campaign: Campaign) -> list[Any]:
        consent = [self._consent(c) for c in campaign.channels]
        suppressed = [self._suppressed(c, campaign) for c in campaign.channels]
        channels = tuple(zip(campaign.channels, consent, suppressed))

        def choose(i: int) -> tuple[str | None, str | None]:
            for _, agreed, _ in channels:  # every channel's consent first, as one row at a time
                if type(agreed[i]) is _Failed:
                    raise agreed[i].error
            consenting = False
            for channel, agreed, is_suppressed_at in channels:  # in preference order
                if agreed[i]:
                    consenting = True
                    if not is_suppressed_at(i):
                        return None, channel
            return ("suppressed" if consenting else "no_consent"), None
        return self._each(choose, range(self.size))

    def _consent(self, channel: str) -> list[Any]:
        if channel == "webhook":
            return self._each(lambda opt_in: has_consent(channel, None, None, None, opt_in),
                              self.values(PUSH_OPT_IN_COLUMN))
        return self._each(lambda address, state, marketable: has_consent(channel, address, state, marketable, None),
                          self.values(ADDRESS_COLUMN[channel]), self.values(CONSENT_COLUMN[channel]),
                          self.values(MARKETABLE_COLUMN[channel]))

    def _suppressed(self, channel: str, campaign: Campaign) -> Callable[[int], bool]:
        """Per row on demand: as one at a time, a channel without consent is never asked."""
        in_ledger = self.gate.suppressed.get(channel, ())
        keys = self.keys()
        if channel == "webhook":
            return lambda i: is_suppressed(channel, campaign, None, None, keys[i] in in_ledger, None)
        reasons, groups = self.values(SUPPRESSION_COLUMN[channel]), self.values(UNSUBSCRIBED_GROUPS_COLUMN)
        marketable = self.values(MARKETABLE_COLUMN[channel], True)  # an absent flag never suppresses
        return lambda i: is_suppressed(channel, campaign, reasons[i], marketable[i], keys[i] in in_ledger, groups[i])

    def exited(self, exit_when: tuple[str, ...], index: int) -> bool:
        return self._fact(("exited", exit_when), index, self._exited, exit_when)

    def _exited(self, exit_when: tuple[str, ...]) -> list[Any]:
        columns = [self.values(f"exit_{name}") for name in exit_when]
        return self._each(lambda *flags: any(is_true(flag) for flag in flags), *columns)

    def recently_purchased(self, campaign: Campaign, index: int) -> bool:
        if campaign.purchase_exclusion_days <= 0:
            return False
        return self._fact(("recent", campaign.purchase_exclusion_days), index, self._recent, campaign)

    def _recent(self, campaign: Campaign) -> list[Any]:
        return self._each(lambda value: self.gate.recently_purchased(campaign, as_utc(value)),
                          self.values("last_order_at"))

    def frequency(self, index: int) -> str | None:
        return self._fact("frequency", index, lambda: self._each(normalize_frequency, self.values(FREQUENCY_COLUMN)))

    def zone(self, index: int) -> ZoneInfo:
        return self._fact("zone", index, self._zones)

    def _zones(self) -> list[Any]:
        fallback = self.gate.settings.store_time_zone
        return self._each(lambda name: zone(name, fallback), self.values("time_zone"))

    def state_quiet_hours(self, index: int) -> QuietHours | None:
        return self._fact("state_quiet", index,
                          lambda: self._each(state_quiet_hours, self.values(STATE_QUIET_HOURS_COLUMN)))

    def held_out(self, campaign: Campaign, index: int) -> bool:
        share = campaign.holdout_share
        if not share > 0:
            return in_holdout("", campaign.key, share)  # no holdout: nobody is in it
        return self._fact(("holdout", campaign.key, share), index, lambda: self._each(
            lambda key: in_holdout(key, campaign.key, share), self.keys()))

    def triggered_at(self, index: int) -> datetime | None:
        return self._fact("triggered_at", index, self._triggered)

    def _triggered(self) -> list[Any]:
        """The trigger times in UTC: a column has few distinct ones, each converted once."""
        converted: dict[Any, Any] = {}
        out = []
        for value in self.values("triggered_at"):
            try:
                out.append(converted[value])
            except KeyError:
                out.append(converted.setdefault(value, self._each(as_utc, [value])[0]))
            except TypeError:  # an unhashable value: converted on its own
                out.append(self._each(as_utc, [value])[0])
        return out
