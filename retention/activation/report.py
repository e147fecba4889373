"""What an activation run did, per campaign: counts people (and Dagster metadata) can read.

It goes to logs, so it holds counts, campaign keys and hashes only: dry-run samples are masked
when rendered (``render.sample_of``), errors name customers by hash."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retention.activation.eligibility import EXCLUSION_REASONS

OUTCOMES = ("deferred", "held_out", "would_send", "sent", "outbox", "dead_letter", "suppressed", "in_doubt")


@dataclass
class CampaignReport:
    campaign: str
    audience: int = 0  # rows in the audience frame
    carried_over: int = 0  # due deferrals whose row has left the audience, sent from their snapshot
    not_due: int = 0  # the next step's delay has not passed yet
    eligible: int = 0  # passed every exclusion (then deferred, held out or sent)
    excluded: Counter = field(default_factory=Counter)
    deferred: int = 0
    held_out: int = 0
    would_send: int = 0  # dry run only
    sent: int = 0
    outbox: int = 0
    dead_letter: int = 0
    suppressed: int = 0
    in_doubt: int = 0  # claims still unsettled after reconciliation, or with no answer from the sender
    confirmed: int = 0  # in-doubt claims the provider confirmed it had
    released: int = 0  # in-doubt claims the provider never got: decided again in this run
    postponed: int = 0  # decided, but its channel's sender stopped in this run: the next run decides again
    duplicates: int = 0  # repeated (customer, occurrence) rows in the audience, counted once
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in self.__dict__.items() if k not in ("excluded", "samples")}
        values.update({f"excluded_{reason}": self.excluded.get(reason, 0) for reason in EXCLUSION_REASONS})
        return values


@dataclass
class ActivationReport:
    run_id: str
    now: datetime
    dry_run: bool
    campaigns: list[CampaignReport] = field(default_factory=list)
    lease_wait: float = 0.0  # seconds this run waited for another run's lease on the ledger
    waited_for: str | None = None  # the run it waited for

    @property
    def errors(self) -> dict[str, str]:
        return {c.campaign: c.error for c in self.campaigns if c.error}

    def campaign(self, key: str) -> CampaignReport:
        return next(c for c in self.campaigns if c.campaign == key)

    def totals(self) -> dict[str, int]:
        total: Counter = Counter()
        for report in self.campaigns:
            for key, value in report.as_dict().items():
                if isinstance(value, int) and not isinstance(value, bool):
                    total[key] += value
        return dict(total)

    def table(self, samples: bool | None = None) -> str:
        """A plain-text table, one line per campaign; a dry run also prints sample payloads."""
        columns = ["audience", "not_due", "eligible", *(f"x_{r}" for r in EXCLUSION_REASONS),
                   "deferred", "held_out", "would_send" if self.dry_run else "sent", "outbox", "dead_letter",
                   "suppressed", "in_doubt", "postponed"]
        rows = []
        for report in self.campaigns:
            values = report.as_dict()
            cells = [report.campaign]
            for column in columns:
                key = f"excluded_{column[2:]}" if column.startswith("x_") else column
                cells.append(str(values[key]))
            rows.append(cells)
        header = ["campaign", *columns]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"activation {'DRY RUN ' if self.dry_run else ''}{self.run_id} at {self.now.isoformat()}",
                 "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
        for row in rows:
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        lines.append("x_ = excluded by reason, in the gate's order")
        if self.waited_for:
            lines.append(f"waited {self.lease_wait:.1f} s for the ledger's lease, held by run {self.waited_for}")
        for report in self.campaigns:
            if report.error or report.skipped:
                lines.append(f"{report.campaign}: {report.error or report.skipped}")
        if samples if samples is not None else self.dry_run:
            for report in self.campaigns:
                for sample in report.samples:
                    lines.append(f"{report.campaign} sample: {json.dumps(sample, default=str, sort_keys=True)}")
        return "\n".join(lines)
