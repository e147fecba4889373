"""Provider accounts: a suspended or deactivated account pauses its channel until it is active again.

SendGrid announces compliance actions on the account through the Event Webhook
(``account_status_change``, with ``type`` such as ``compliance_suspend``); ingestion lands them in
``landing/sendgrid/account_events``. The latest event of a provider decides its state. A type
this module does not know leaves the state as it was (and is reported), so a new kind of notice
neither stops nor restarts sending by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.dataset as ds

from retention.paths import DataDir

PAUSING = frozenset({"compliance_suspend", "compliance_deactivate", "compliance_ban", "suspend", "deactivate"})
RESUMING = frozenset({"compliance_reactivate", "compliance_unsuspend", "reactivate", "activate"})
# The channel each provider's account carries, and where its account events land.
PROVIDERS = {"sendgrid": ("email", ("sendgrid", "account_events"))}


@dataclass(frozen=True)
class AccountState:
    provider: str
    channel: str
    paused: bool
    type: str | None = None  # the event type that set the state
    since: datetime | None = None
    unknown: tuple[str, ...] = ()  # event types seen after it that change nothing

    @property
    def reason(self) -> str:
        return f"{self.provider} account {self.type} since {self.since:%Y-%m-%d %H:%M} UTC: {self.channel} is paused"


def account_states(layout: DataDir) -> dict[str, AccountState]:
    """Each provider's state from every account event landed so far (in time order)."""
    states = {}
    for provider, (channel, (source, table)) in PROVIDERS.items():
        state = AccountState(provider, channel, paused=False)
        for event_type, at in _events(layout.landing / source / table):
            kind = event_type.strip().lower()
            if kind in PAUSING or kind in RESUMING:
                state = AccountState(provider, channel, kind in PAUSING, kind, at)
            else:
                state = AccountState(provider, channel, state.paused, state.type, state.since,
                                     (*state.unknown, kind))
        states[provider] = state
    return states


def paused_channels(layout: DataDir) -> dict[str, str]:
    """channel -> why it is paused, for the providers whose account is suspended now."""
    return {s.channel: s.reason for s in account_states(layout).values() if s.paused}


def _events(root: Path) -> list[tuple[str, datetime]]:
    files = sorted(root.glob("date=*/*.parquet"))
    if not files:
        return []
    table = ds.dataset(files, format="parquet").to_table(columns=["type", "timestamp", "sg_event_id"])
    rows = sorted(zip(table["timestamp"].to_pylist(), table["sg_event_id"].to_pylist(), table["type"].to_pylist()),
                  key=lambda r: (r[0], r[1]))  # the event id breaks ties between events of the same second
    return [(kind, at) for at, _, kind in rows]
