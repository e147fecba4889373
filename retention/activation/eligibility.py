"""The eligibility gate: the one place every send passes, in a fixed order.

0. ``erasure``       the person asked to be erased (``retention.privacy``): salted-hash tombstones
                       in the ledger, so a stale feed that brings them back is still never messaged
1. ``no_consent``      no consent (or no address) on any of the campaign's channels; with
                       several channels the first in preference order passing 1-2 is chosen;
                       push (``webhook``) needs the audience's explicit ``push_opt_in``
2. ``suppressed``      a suppression for that channel (unsubscribe, bounce, spam report, STOP,
                       erasure ... from the warehouse, or a Twilio 21610 the ledger recorded), or
                       an unsubscribe from the campaign's own SendGrid group (that group only);
                       the double opt-in request goes only to those awaiting confirmation
3. ``already_sent``    the ledger has this campaign, step, customer and occurrence
4. ``exit_condition``  an ``exit_<name>`` named by the step is true
5. ``recent_purchase`` promotional only: an order within ``purchase_exclusion_days``
6. ``frequency_cap``   per channel, across all campaigns, ledger sends plus this run's
7. ``preference``      promotional email only: the customer chose less email (retention/preferences.py):
                       one a week or a month, or only order updates (none)
8. ``priority``        promotional only: the customer's promotional message(s) of the local day
                       are used up (campaigns run in priority order, so the best one won)
9. quiet hours         not an exclusion: DEFERRED to the next allowed local time; for SMS the
                       stricter of the campaign's and the recipient's state's (audience sms_quiet_hours)
10. holdout            deterministic hash of customer and campaign; recorded, nothing sent

Internal alerts (to staff) only pass 3 and 4: the customer's consent, caps and quiet hours
are about messages to the customer.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from retention.activation.campaigns import Campaign, QuietHours, SendWindow, Settings, Step
from retention.preferences import ORDER_UPDATES_ONLY, PROMOTIONAL_WINDOW_HOURS, normalize_frequency
from retention.privacy.tombstones import Tombstones

log = logging.getLogger(__name__)

EXCLUSION_REASONS = ("erasure", "no_consent", "suppressed", "already_sent", "exit_condition", "recent_purchase",
                     "frequency_cap", "preference", "priority")
# A record in one of these states means this step was decided for good (or is in doubt).
BLOCKING_STATUSES = frozenset({"claimed", "sent", "outbox", "held_out", "dead_letter", "suppressed"})
# Only these let the next step of a sequence follow.
DELIVERED_STATUSES = frozenset({"sent", "outbox"})
ADDRESS_COLUMN = {"email": "email", "sms": "phone"}
# the audience columns the gate reads per channel, named once rather than formatted for every row
CONSENT_COLUMN = {channel: f"{channel}_consent_state" for channel in ADDRESS_COLUMN}
MARKETABLE_COLUMN = {channel: f"is_{channel}_marketable" for channel in ADDRESS_COLUMN}
SUPPRESSION_COLUMN = {channel: f"{channel}_suppression_reason" for channel in ADDRESS_COLUMN}
UNSUBSCRIBED_GROUPS_COLUMN = "email_unsubscribed_groups"
FREQUENCY_COLUMN = "email_frequency"
STATE_QUIET_HOURS_COLUMN = "sms_quiet_hours"
AWAITING_CONFIRMATION = "awaiting_confirmation"  # SMS double opt-in not confirmed yet (dbt int_consent)
# The warehouse has no push consent: a push campaign's audience must say who opted in (null = no).
PUSH_OPT_IN_COLUMN = "push_opt_in"


@dataclass(frozen=True)
class Decision:
    outcome: str  # "send" | "deferred" | "held_out" | "excluded"
    reason: str | None = None  # exclusion reason when excluded
    channel: str | None = None
    not_before: datetime | None = None  # when deferred (UTC)


# ---------------------------------------------------------------- small pure helpers


def as_utc(value: Any) -> datetime | None:
    """A timestamp from pandas, the ledger or Python as an aware UTC datetime (naive = UTC)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def is_true(value: Any) -> bool:
    """Null counts as false: a flag dbt could not compute has not happened."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def is_blank(value: Any) -> bool:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def zone(name: Any, fallback: str) -> ZoneInfo:
    """The recipient's zone; the store's when it is missing or unknown."""
    return _zone(name if isinstance(name, str) and name else fallback, fallback)


@lru_cache(maxsize=1024)
def _zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def unsubscribed_groups(value: Any) -> frozenset[int]:
    """The SendGrid groups an audience row says the person left ("1001,1004"; blank = none)."""
    if is_blank(value):
        return frozenset()
    return _groups(str(value))


def left_group(row: Mapping[str, Any], group: int) -> bool:
    """Whether the row says the person left SendGrid group ``group``. A list that does not read
    ("1002,oops") counts as having left: the gate cannot tell, and an unwanted email is the worse
    mistake; the row is excluded as suppressed, its neighbours go on, and a warning names it."""
    try:
        return group in unsubscribed_groups(row.get(UNSUBSCRIBED_GROUPS_COLUMN))
    except ValueError:
        log.warning("customer %s: %s does not read as a list of group ids; treated as unsubscribed from group %s",
                    row.get("customer_key"), UNSUBSCRIBED_GROUPS_COLUMN, group)
        return True


@lru_cache(maxsize=256)
def _groups(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in text.split(",") if part.strip())


def state_quiet_hours(value: Any) -> QuietHours | None:
    """The recipient's state's SMS quiet hours ("20:00-08:00"; blank = none)."""
    return None if is_blank(value) else _quiet_hours(str(value).strip())


@lru_cache(maxsize=64)
def _quiet_hours(text: str) -> QuietHours:
    start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    return QuietHours(start, end)


def stricter(quiet: QuietHours | None, other: QuietHours | None) -> QuietHours | None:
    """Quiet hours covering both: two evening-to-morning spans merge (20:00-08:00 and 21:00-09:00
    give 20:00-09:00); otherwise the law's (``other``) wins over the campaign's."""
    if quiet is None or other is None:
        return quiet or other
    if quiet.start > quiet.end and other.start > other.end:
        return QuietHours(min(quiet.start, other.start), max(quiet.end, other.end))
    return other


def holdout_fraction(customer_key: str, campaign_key: str) -> float:
    """Where a customer falls in [0, 1) for a campaign: the same on every run and machine."""
    digest = hashlib.sha256(f"{customer_key}|{campaign_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(customer_key: str, campaign_key: str, share: float) -> bool:
    return share > 0 and holdout_fraction(customer_key, campaign_key) < share


def step_is_due(step: Step, triggered_at: datetime | None, now: datetime) -> bool:
    return triggered_at is not None and now >= triggered_at + timedelta(hours=step.delay_hours)


def next_allowed_time(now: datetime, tz: ZoneInfo, quiet: QuietHours | None,
                      window: SendWindow | None) -> datetime | None:
    """None when sending is allowed now, else the next allowed moment (UTC) in the recipient's zone."""
    def allowed(local: datetime) -> bool:
        moment = local.timetz().replace(tzinfo=None)
        return not (quiet and quiet.contains(moment)) and not (window and not window.contains(moment))

    local_now = now.astimezone(tz)
    if allowed(local_now):
        return None
    boundaries = [b for b in ((quiet.end if quiet else None),
                              (time(window.start_hour) if window else None)) if b]
    candidates = []
    for days in range(3):
        day = local_now.date() + timedelta(days=days)
        for boundary in boundaries:
            # build in local wall time; zoneinfo resolves DST gaps and folds
            local = datetime.combine(day, boundary, tzinfo=tz)
            local = local.astimezone(UTC).astimezone(tz)
            if local > local_now and allowed(local):
                candidates.append(local)
    if not candidates:  # quiet hours and window never meet; config validation makes this unlikely
        return None
    return min(candidates).astimezone(UTC)


# ---------------------------------------------------------------- sends already decided


def history_hours(settings: Settings) -> float:
    """How far back the sends that decide caps, preferences and the local day's slot reach."""
    return max([cap.window_hours for cap in settings.frequency_caps.values()]
               + [48.0, *PROMOTIONAL_WINDOW_HOURS.values()])


class SendHistory:
    """Customer-facing sends per customer and channel: the ledger's recent ones plus this run's.

    Seeded once from the ledger (one query) and added to as the gate decides, so caps and the
    promotional slot hold across campaigns within a run, also in a dry run that writes nothing.
    """

    def __init__(self):
        # a tuple per customer, not a list: the garbage collector stops tracking tuples of plain
        # values, and a run adds one entry for every recipient it sends to
        self._sends: dict[str, tuple[tuple[str, datetime, bool], ...]] = {}

    def add(self, customer_key: str, channel: str, at: datetime, promotional: bool) -> None:
        self._sends[customer_key] = self._sends.get(customer_key, ()) + ((channel, at, promotional),)

    def count(self, customer_key: str, channel: str, since: datetime, promotional_only: bool = False) -> int:
        sends = self._sends.get(customer_key)
        if not sends:  # most recipients have no recent send: skip building the generator
            return 0
        return sum(1 for ch, at, promo in sends
                   if ch == channel and at > since and (promo or not promotional_only))

    def promotional_on(self, customer_key: str, local_day: date, tz: ZoneInfo) -> int:
        sends = self._sends.get(customer_key)
        if not sends:
            return 0
        return sum(1 for _, at, promo in sends if promo and at.astimezone(tz).date() == local_day)


# ---------------------------------------------------------------- the gate


class Gate:
    def __init__(self, settings: Settings, now: datetime, history: SendHistory | None = None,
                 suppressed: Mapping[str, set[str]] | None = None, erased: Tombstones | None = None):
        self.settings = settings
        self.now = as_utc(now)
        self.history = history or SendHistory()
        self.suppressed = suppressed or {}  # channel -> customer keys suppressed in the ledger
        self.erased = erased  # the ledger's erasure tombstones
        self.counts: Counter = Counter()  # exclusion reasons and outcomes, over every decision
        # ``now`` is fixed for the gate: what depends only on it and the recipient's zone is
        # worked out once per zone (or cap window), not for every recipient
        self._cap_since: dict[float, datetime] = {}
        self._local_day: dict[ZoneInfo, date] = {}
        self._next_allowed: dict[tuple, datetime | None] = {}

    def decide(self, campaign: Campaign, step: Step, row: Mapping[str, Any],
               existing_status: str | None) -> Decision:
        """Run one recipient and step through the gate; a "send" is added to the history."""
        decision = self._decide(campaign, step, row, existing_status)
        self.counts[decision.reason or decision.outcome] += 1
        return decision

    def _decide(self, campaign: Campaign, step: Step, row: Mapping[str, Any],
                existing_status: str | None) -> Decision:
        customer = str(row["customer_key"])
        if self.erased and self.erased.covers_row(row):
            return Decision("excluded", "erasure")
        if campaign.is_internal:
            return self._internal(campaign, step, row, existing_status)

        consenting = [c for c in campaign.channels if self.has_consent(row, c)]
        if not consenting:
            return Decision("excluded", "no_consent")
        channel = next((c for c in consenting if not self.is_suppressed(row, c, campaign)), None)
        if channel is None:
            return Decision("excluded", "suppressed")
        if existing_status in BLOCKING_STATUSES:
            return Decision("excluded", "already_sent", channel)
        if step.exit_when and any(is_true(row.get(f"exit_{name}")) for name in step.exit_when):
            return Decision("excluded", "exit_condition", channel)
        if campaign.is_promotional and self.recently_purchased(campaign, row):
            return Decision("excluded", "recent_purchase", channel)
        cap = self.settings.frequency_caps.get(channel)
        if cap and self.history.count(customer, channel, self._window_start(cap.window_hours)) >= cap.max_sends:
            return Decision("excluded", "frequency_cap", channel)
        if campaign.is_promotional and channel == "email" and self.beyond_preference(customer, row):
            return Decision("excluded", "preference", channel)
        tz = zone(row.get("time_zone"), self.settings.store_time_zone)
        if campaign.is_promotional and (
                self.history.promotional_on(customer, self._today_in(tz), tz)
                >= self.settings.promotional_per_day):
            return Decision("excluded", "priority", channel)
        quiet = campaign.quiet_hours.get(channel)
        if channel == "sms":
            quiet = stricter(quiet, state_quiet_hours(row.get(STATE_QUIET_HOURS_COLUMN)))
        not_before = self._next_allowed_time(tz, quiet, campaign.send_window)
        if not_before is not None:
            return Decision("deferred", None, channel, not_before)
        if in_holdout(customer, campaign.key, campaign.holdout_share):
            return Decision("held_out", None, channel)
        self.history.add(customer, channel, self.now, campaign.is_promotional)
        return Decision("send", None, channel)

    def _window_start(self, hours: float) -> datetime:
        since = self._cap_since.get(hours)
        if since is None:
            since = self._cap_since[hours] = self.now - timedelta(hours=hours)
        return since

    def _today_in(self, tz: ZoneInfo) -> date:
        day = self._local_day.get(tz)
        if day is None:
            day = self._local_day[tz] = self.now.astimezone(tz).date()
        return day

    def _next_allowed_time(self, tz: ZoneInfo, quiet: QuietHours | None,
                           window: SendWindow | None) -> datetime | None:
        key = (tz, quiet, window)
        if key not in self._next_allowed:
            self._next_allowed[key] = next_allowed_time(self.now, tz, quiet, window)
        return self._next_allowed[key]

    def _internal(self, campaign: Campaign, step: Step, row, existing_status) -> Decision:
        if existing_status in BLOCKING_STATUSES:
            return Decision("excluded", "already_sent", "email")
        if any(is_true(row.get(f"exit_{name}")) for name in step.exit_when):
            return Decision("excluded", "exit_condition", "email")
        return Decision("send", None, "email")

    def has_consent(self, row: Mapping[str, Any], channel: str) -> bool:
        """An address and an opt-in. The consent state is read apart from suppressions, so that
        a subscriber who bounced is counted as suppressed, not as never having consented."""
        if channel == "webhook":
            return is_true(row.get(PUSH_OPT_IN_COLUMN))
        if is_blank(row.get(ADDRESS_COLUMN[channel])):
            return False
        state = row.get(CONSENT_COLUMN[channel])
        if is_blank(state):  # an audience without the state: its marketable flag says it all
            return is_true(row.get(MARKETABLE_COLUMN[channel]))
        return str(state) == "subscribed"

    def is_suppressed(self, row: Mapping[str, Any], channel: str, campaign: Campaign | None = None) -> bool:
        if channel == "webhook":  # withdrawing push is withdrawing the opt-in; the ledger may know more
            return str(row["customer_key"]) in self.suppressed.get(channel, ())
        if campaign is not None and campaign.confirms_sms_opt_in:
            # the request to confirm goes to those awaiting confirmation, and to nobody else
            return (row.get(SUPPRESSION_COLUMN[channel]) != AWAITING_CONFIRMATION
                    or str(row["customer_key"]) in self.suppressed.get(channel, ()))
        # The warehouse's marketable flag must agree too: whatever else it knows, it never loosens the gate.
        return (not is_blank(row.get(SUPPRESSION_COLUMN[channel]))
                or not is_true(row.get(MARKETABLE_COLUMN[channel], True))
                or str(row["customer_key"]) in self.suppressed.get(channel, ())
                or (channel == "email" and campaign is not None and campaign.unsubscribe_group is not None
                    and left_group(row, campaign.unsubscribe_group)))

    def beyond_preference(self, customer: str, row: Mapping[str, Any]) -> bool:
        """One more promotional email would exceed the frequency the customer chose."""
        frequency = normalize_frequency(row.get(FREQUENCY_COLUMN))
        if frequency == ORDER_UPDATES_ONLY:
            return True
        hours = PROMOTIONAL_WINDOW_HOURS.get(frequency)
        return hours is not None and self.history.count(
            customer, "email", self._window_start(hours), promotional_only=True) >= 1

    def recently_purchased(self, campaign: Campaign, row: Mapping[str, Any]) -> bool:
        if campaign.purchase_exclusion_days <= 0:
            return False
        last_order = as_utc(row.get("last_order_at"))
        return last_order is not None and self.now - last_order < timedelta(days=campaign.purchase_exclusion_days)
