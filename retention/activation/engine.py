"""The activation engine: audiences in, messages out, every decision in the ledger.

    report = activate(load_campaigns(), {"audience_abandoned_cart": frame, ...}, ledger,
                      {"email": email_sender, "sms": sms_sender}, now)
    print(report.table())

A run, campaign by campaign in priority order:

1. settle in-doubt claims first: ``sender.lookup`` says whether the provider has them
   (found -> sent, not found -> released and decided again, unknown -> stays in doubt);
2. pick each occurrence's next step (step n only after step n-1 was sent; one step per run),
   skip it while its delay has not passed, and take deferrals that have come due;
3. pass every candidate through the gate (``eligibility.Gate``);
4. write held-out, deferred and unrenderable decisions; then, per channel, in batches of up to
   1,000: make sure the batch's discount codes exist in the store (``discounts.CodeIssuer``: the
   ledger first, then the store; a message whose code could not be created is deferred to the next
   run, and dead-lettered after ``code_attempts`` refusals), claim and COMMIT, only then call
   ``sender.send``, then record the answers.

``discounts`` is the store the codes are created in (``discounts.ShopifyDiscounts``); without one,
the request bodies go to ``<outbox>/shopify/`` (``discounts.OutboxDiscounts``, the outbox folder of
the outbox senders, else ``<data dir>/outbox`` beside the ledger). A live sender never sends a
code that only went to the outbox: those messages wait (``postponed``) and the campaign reports why.

``dry_run`` decides and renders everything but writes nothing and sends nothing.

A sending run holds the ledger's lease (``lease.RunLease``) from before step 1 to the end: caps,
priority and the daily promotional slot are decided from the ledger's history, so a second run
waits for the first (``lease_wait``), then sees its sends. A dry run takes no lease.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from retention.activation.broadcasts import SEGMENTS_COLUMN, broadcast_rows
from retention.activation.campaigns import Campaign, CampaignSet, Step
from retention.activation.coupons import message_code, uses_default_secret
from retention.activation.discounts import CodeIssuer, DiscountStore, OutboxDiscounts
from retention.activation.eligibility import (
    DELIVERED_STATUSES,
    PUSH_OPT_IN_COLUMN,
    Decision,
    Gate,
    SendHistory,
    as_utc,
    history_hours,
    step_is_due,
)
from retention.activation.lease import LEASE_TTL, LEASE_WAIT, RunLease
from retention.activation.ledger import Ledger, LedgerRecord, send_id_for
from retention.activation.ledger_db import is_postgres
from retention.activation.messages import RESULT_STATUSES, OutgoingMessage, Sender, SendResult
from retention.activation.render import RenderError, payload_of, plain, render_message, sample_of
from retention.activation.report import ActivationReport, CampaignReport
from retention.experiments.assignment import assign, at_best_hour, with_variant

log = logging.getLogger("retention.activation.engine")
BATCH_SIZE = 1000  # SendGrid's personalizations per request; one claim transaction per batch
SAMPLES_PER_CAMPAIGN = 3
LOOKUP_CHUNK = 1000
# A provider's activity data lags its sends (SendGrid's by minutes): "not found" for a live claim
# younger than this is no proof yet, so the claim stays in doubt until a later run.
LOOKUP_SETTLE = timedelta(minutes=30)
NO_RECORDS: Mapping[int, LedgerRecord] = MappingProxyType({})  # a new recipient's steps, shared read-only
CODE_ATTEMPTS = 3  # runs whose store refused a message's discount code before it becomes a dead letter


class ActivationError(ValueError):
    """The run cannot go ahead as asked (an unknown campaign, an audience missing columns...)."""


def activate(campaigns: CampaignSet, audiences: Mapping[str, pd.DataFrame], ledger: Ledger,
             senders: Mapping[str, Sender], now: datetime, dry_run: bool = False,
             only: Iterable[str] | None = None, run_id: str | None = None,
             lookup_settle: timedelta = LOOKUP_SETTLE, discounts: DiscountStore | None = None,
             code_attempts: int = CODE_ATTEMPTS, paused: Mapping[str, str] | None = None,
             lease_wait: timedelta = LEASE_WAIT, lease_ttl: timedelta = LEASE_TTL,
             send_hours: Mapping[str, int] | None = None) -> ActivationReport:
    """Run the campaigns (``only``: some of them) at ``now``, the real time of sending: delays,
    quiet hours and caps are measured from it. ``audiences`` maps dbt model names to frames.
    ``discounts``: where discount codes are created before their messages leave (default: the
    outbox, see the module's docstring). ``paused``: channel -> why its provider account may not
    send now (``retention.activation.accounts``); its messages are decided and postponed to a later
    run, as when a provider stops answering. ``lease_wait``: how long to wait for another sending
    run on this ledger before ``lease.LeaseBusy``; ``lease_ttl``: how long a silent holder keeps it.
    ``send_hours``: customer -> best local hour (dbt ``customer_send_hours``), for the campaigns and
    variants with ``send_time: optimised``."""
    now = as_utc(now)
    selected = _select(campaigns, only)
    report = ActivationReport(run_id or uuid.uuid4().hex[:12], now, dry_run,
                              [CampaignReport(c.key) for c in selected])
    with nullcontext() if dry_run else RunLease(ledger, report.run_id, lease_ttl).acquire(lease_wait) as lease:
        if lease is not None:
            report.lease_wait, report.waited_for = lease.waited, lease.waited_for and lease.waited_for.run_id
        _activate(campaigns, selected, audiences, ledger, senders, report, only, lookup_settle, discounts,
                  code_attempts, paused, send_hours or {})
    return report


def _activate(campaigns: CampaignSet, selected: list[Campaign], audiences: Mapping[str, pd.DataFrame],
              ledger: Ledger, senders: Mapping[str, Sender], report: ActivationReport,
              only: Iterable[str] | None, lookup_settle: timedelta, discounts: DiscountStore | None,
              code_attempts: int, paused: Mapping[str, str] | None, send_hours: Mapping[str, int]) -> None:
    now, dry_run = report.now, report.dry_run
    if not dry_run and uses_default_secret() and any(s.mode == "live" for s in senders.values()):
        log.warning("live sends with the simulator's coupon secret: set RETENTION_COUPON_SECRET")
    _reconcile_in_doubt(ledger, senders, report, now, dry_run, lookup_settle)
    gate = Gate(campaigns.settings, now, _history(ledger, campaigns, now), ledger.suppressed_customers(),
                ledger.erased())
    broken: dict[str, str] = dict(paused or {})
    store = discounts if discounts is not None else _outbox_store(senders, ledger)
    issuer = None if dry_run or store is None else CodeIssuer(ledger, store)
    winners = ledger.experiment_winners()
    for campaign in selected:
        campaign_report = report.campaign(campaign.key)
        frame = audiences.get(campaign.audience)
        if frame is None:
            if only is not None:
                campaign_report.error = f"audience {campaign.audience} was not provided"
            else:
                campaign_report.skipped = f"no audience {campaign.audience} in this run"
            continue
        try:
            _check_columns(campaign, frame)
            frame = broadcast_rows(campaign, frame, now, campaigns.settings.store_time_zone)  # others: unchanged
            if not dry_run:
                _check_senders(campaign, senders)
            _CampaignRun(campaign, frame, ledger, senders, gate, now, report.run_id, dry_run,
                         campaign_report, broken, issuer, code_attempts, winners, send_hours).run()
        except ActivationError as exc:
            campaign_report.error = str(exc)
            log.error("campaign %s not activated: %s", campaign.key, exc)


# ---------------------------------------------------------------- before the campaigns


def _select(campaigns: CampaignSet, only: Iterable[str] | None) -> list[Campaign]:
    if only is None:
        return campaigns.by_priority()
    wanted = set(only)
    unknown = wanted - set(campaigns.keys())
    if unknown:
        raise ActivationError(f"unknown campaign(s) {', '.join(sorted(unknown))} (known: "
                              f"{', '.join(campaigns.keys())})")
    return [c for c in campaigns.by_priority() if c.key in wanted]


def _reconcile_in_doubt(ledger: Ledger, senders: Mapping[str, Sender], report: ActivationReport,
                        now: datetime, dry_run: bool, settle: timedelta) -> None:
    """Claims left by a run that died: ask the provider before anything else is decided."""
    keys = [c.campaign for c in report.campaigns]
    doubts = ledger.in_doubt(keys)
    by_channel: dict[str | None, list[LedgerRecord]] = defaultdict(list)
    for record in doubts:
        by_channel[record.channel].append(record)
    answers: dict[str, bool | None] = {}
    for channel, records in by_channel.items():
        sender = senders.get(channel) if channel else None
        for record in records:
            answers[record.send_id] = None
        if dry_run or sender is None:
            continue
        # a claim made in another mode cannot be checked by this sender (outbox file vs provider)
        checkable = [r.send_id for r in records if r.mode == sender.mode]
        for start in range(0, len(checkable), LOOKUP_CHUNK):
            chunk = checkable[start:start + LOOKUP_CHUNK]
            try:
                found = sender.lookup(chunk)
            except Exception as exc:  # noqa: BLE001 - an unavailable lookup means "unknown", never "resend"
                log.warning("lookup of %d in-doubt %s sends failed: %s", len(chunk), channel, type(exc).__name__)
                continue
            answers.update({send_id: found.get(send_id) for send_id in chunk})
    for record in doubts:
        if answers.get(record.send_id) is False and record.mode == "live" and record.decided_at > now - settle:
            answers[record.send_id] = None  # too recent for "not found" to mean anything
    if not dry_run and answers:
        ledger.resolve_in_doubt(answers, {r.send_id: r.mode for r in doubts}, now)
    for record in doubts:
        campaign_report = report.campaign(record.campaign)
        answer = answers.get(record.send_id)
        if answer is None:
            campaign_report.in_doubt += 1
        elif answer:
            campaign_report.confirmed += 1
        else:
            campaign_report.released += 1


def _outbox_store(senders: Mapping[str, Sender], ledger: Ledger) -> OutboxDiscounts | None:
    """Without a store, code requests go beside the outbox senders' files, else to the data
    directory's outbox (the ledger lives in ``<data>/activation/``)."""
    for sender in senders.values():
        folder = getattr(sender, "folder", None)
        if folder is not None:
            return OutboxDiscounts(Path(folder).parent)
    if ledger.data_dir is not None:
        return OutboxDiscounts(ledger.data_dir.outbox)
    if ledger.conn.shared and not is_postgres(ledger.path):
        return OutboxDiscounts(Path(ledger.path).resolve().parent.parent / "outbox")
    return None


def _history(ledger: Ledger, campaigns: CampaignSet, now: datetime) -> SendHistory:
    """Recent customer-facing sends: enough for the longest cap or preference window and the local day."""
    hours = history_hours(campaigns.settings)
    kinds = {c.key: c.kind for c in campaigns}
    history = SendHistory()
    for send in ledger.recent_sends(now - timedelta(hours=hours)):
        kind = kinds.get(send.campaign, "promotional")  # a retired campaign still counts, as promotional
        if kind != "internal" and send.channel:
            history.add(send.customer_key, send.channel, send.at, kind == "promotional")
    return history


def _check_columns(campaign: Campaign, frame: pd.DataFrame) -> None:
    needed = {"customer_key", "occurrence", "triggered_at", "payload"}
    if not campaign.is_internal:
        needed |= {"time_zone"}
        for channel in campaign.channels:
            if channel == "webhook":  # the customer key is the address; personal fields only if asked
                needed |= {PUSH_OPT_IN_COLUMN, *campaign.webhook_include}
                continue
            address = "email" if channel == "email" else "phone"
            needed |= {address, f"is_{channel}_marketable", f"{channel}_suppression_reason"}
        if "email" in campaign.channels and campaign.unsubscribe_group is not None:
            needed.add("email_unsubscribed_groups")  # without it a group unsubscribe would go unseen
        if campaign.is_promotional and campaign.purchase_exclusion_days > 0:
            needed.add("last_order_at")
    needed |= {f"exit_{name}" for step in campaign.steps for name in step.exit_when}
    if campaign.broadcast is not None:
        needed |= {SEGMENTS_COLUMN, "time_zone"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ActivationError(f"audience {campaign.audience} for campaign {campaign.key} lacks "
                              f"column(s) {', '.join(missing)}")


def _check_senders(campaign: Campaign, senders: Mapping[str, Sender]) -> None:
    missing = [c for c in campaign.channels if c not in senders]
    if missing:
        raise ActivationError(f"campaign {campaign.key} needs a sender for {', '.join(missing)}")


# ---------------------------------------------------------------- one campaign


class _CampaignRun:
    def __init__(self, campaign: Campaign, frame: pd.DataFrame, ledger: Ledger, senders: Mapping[str, Sender],
                 gate: Gate, now: datetime, run_id: str, dry_run: bool, report: CampaignReport,
                 broken: dict[str, str], issuer: CodeIssuer | None = None, code_attempts: int = CODE_ATTEMPTS,
                 winners: Mapping[str, str] | None = None, send_hours: Mapping[str, int] | None = None):
        self.campaign, self.frame, self.ledger, self.senders = campaign, frame, ledger, senders
        self.gate, self.now, self.run_id, self.dry_run, self.report = gate, now, run_id, dry_run, report
        self.decisions: list[dict[str, Any]] = []  # held out, deferred, dead letters: written in batches
        self.releases: dict[str, str] = {}  # send_id -> why a due deferral was excluded
        # messages waiting for a full batch, per channel: a big audience streams through in batches
        self.pending: dict[str, list[tuple[OutgoingMessage, dict[str, Any]]]] = defaultdict(list)
        self.batches = 0
        self.broken = broken  # channel -> why its sender stopped in this run (shared by campaigns)
        self.as_of_days: dict[tuple, str | None] = {}  # Timestamp and zone -> day, see _audience_as_of
        self.issuer, self.code_attempts = issuer, code_attempts
        self.winners = winners or {}  # experiment -> its recorded winner, which everyone now gets
        self.views: dict[tuple[int, str], tuple[Campaign, Step]] = {}  # (step, variant) -> as it sends
        self.send_hours = send_hours or {}
        self.timed: dict[tuple[int, str | None, int], Campaign] = {}  # (step, variant, best hour) -> as it sends

    def run(self) -> None:
        records = self.ledger.campaign_records(self.campaign.key)
        for row, occurrence, to in self._candidates(records):
            self._decide(row, occurrence, to, records.get((str(row["customer_key"]), occurrence), NO_RECORDS))
            if len(self.decisions) >= BATCH_SIZE:
                self._write_decisions()
        self._write_decisions()
        for channel in list(self.pending):
            self._flush(channel)
        if self.releases and not self.dry_run:
            for reason in set(self.releases.values()):
                self.ledger.release([k for k, v in self.releases.items() if v == reason],
                                    f"deferred, then excluded: {reason}")

    # -- who is considered

    def _candidates(self, records: Mapping[tuple[str, str], Mapping[int, LedgerRecord]]):
        seen: set[tuple[str, str]] = set()
        columns = list(self.frame.columns)
        for values in zip(*(_column_values(self.frame.iloc[:, k]) for k in range(len(columns)))):
            row = dict(zip(columns, values))
            self.report.audience += 1
            for occurrence, to in self._occurrences(row):
                key = (str(row["customer_key"]), occurrence)
                if key in seen:
                    self.report.duplicates += 1
                    continue
                seen.add(key)
                yield row, occurrence, to
        # deferrals that came due after their row left the audience: sent from the snapshot
        for key, steps in records.items():
            if key in seen:
                continue
            for record in steps.values():
                if record.status == "deferred" and record.not_before <= self.now and record.snapshot:
                    self.report.carried_over += 1
                    yield json.loads(record.snapshot), record.occurrence, None

    def _occurrences(self, row: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        occurrence = str(plain(row["occurrence"]))
        if not self.campaign.is_internal:
            return [(occurrence, None)]
        # one alert per staff address, each with its own ledger key (and no address in the ledger)
        return [(f"{occurrence}|staff:{hashlib.sha256(a.encode()).hexdigest()[:10]}", a)
                for a in self.campaign.internal_recipients]

    # -- the decision for one occurrence

    def _decide(self, row: Mapping[str, Any], occurrence: str, to: str | None,
                steps: Mapping[int, LedgerRecord]) -> None:
        step = self._next_step(steps)
        record = steps.get(step.number)
        status = record.status if record else None
        due_deferral = False
        if status == "deferred":
            if record.not_before > self.now:
                self.report.eligible += 1
                self.report.deferred += 1
                return
            status, due_deferral = None, True
        elif status == "released":
            status = None
        if status is None and not step_is_due(step, as_utc(row.get("triggered_at")), self.now):
            self.report.not_due += 1
            return
        campaign, step, variant = self._variant_of(step, str(row["customer_key"]))
        campaign = self._timed(campaign, step, variant, str(row["customer_key"]))
        decision = self.gate.decide(campaign, step, row, status)
        send_id = send_id_for(self.campaign.key, step.number, str(row["customer_key"]), occurrence)
        if decision.outcome == "excluded":
            self.report.excluded[decision.reason] += 1
            if due_deferral:
                self.releases[send_id] = decision.reason
            return
        self.report.eligible += 1
        base = self._base_row(send_id, step, row, occurrence, decision)
        base["variant"] = variant
        if decision.outcome == "deferred":
            self.report.deferred += 1
            snapshot = json.dumps({k: plain(v) for k, v in row.items()}, default=str)
            self.decisions.append({**base, "status": "deferred", "not_before": decision.not_before,
                                   "snapshot": snapshot})
        elif decision.outcome == "held_out":
            self.report.held_out += 1
            self.decisions.append({**base, "status": "held_out", "variant": None})  # in no variant
        else:
            base["prior_attempts"] = record.attempts if record else 0  # the code's refusals so far
            self._render(campaign, base, step, row, decision, to)

    def _next_step(self, steps: Mapping[int, LedgerRecord]) -> Step:
        """The first step not yet delivered; the last one when the sequence is complete."""
        for step in self.campaign.steps:
            record = steps.get(step.number)
            if record is None or record.status not in DELIVERED_STATUSES:
                return step
        return self.campaign.steps[-1]

    def _variant_of(self, step: Step, customer_key: str) -> tuple[Campaign, Step, str | None]:
        """The campaign and step as the customer's variant sends them, and the variant's name."""
        experiment = step.experiment
        if experiment is None:
            return self.campaign, step, None
        variant = assign(customer_key, self.campaign.key, experiment, self.winners.get(experiment.key))
        view = self.views.get((step.number, variant.name))
        if view is None:
            view = self.views[(step.number, variant.name)] = with_variant(self.campaign, step, variant)
        return (*view, variant.name)

    def _timed(self, campaign: Campaign, step: Step, variant: str | None, customer_key: str) -> Campaign:
        """At the customer's best hour when the campaign (or variant) sends at optimised times."""
        hour = self.send_hours.get(customer_key) if campaign.send_time == "optimised" else None
        if hour is None:
            return campaign
        key = (step.number, variant, hour)
        if key not in self.timed:
            self.timed[key] = at_best_hour(campaign, hour)
        return self.timed[key]

    def _base_row(self, send_id: str, step: Step, row, occurrence: str, decision: Decision) -> dict[str, Any]:
        return {"send_id": send_id, "campaign": self.campaign.key, "step": step.number,
                "customer_key": str(row["customer_key"]), "occurrence": occurrence, "channel": decision.channel,
                "mode": None, "batch_id": None, "decided_at": self.now, "not_before": None, "coupon_code": None,
                "error": None, "audience_as_of": self._audience_as_of(row.get("as_of")), "run_id": self.run_id,
                "snapshot": None}

    def _audience_as_of(self, value: Any) -> str | None:
        """The row's as-of day as text. Formatting a pandas Timestamp is slow and an audience has
        one or a few as-of values, so each is formatted once (keyed with its zone: equal instants
        in different zones fall on different days)."""
        if not isinstance(value, pd.Timestamp):
            return _day_text(value)
        key = (value, value.tzinfo)
        if key not in self.as_of_days:
            self.as_of_days[key] = _day_text(value)
        return self.as_of_days[key]

    def _render(self, campaign: Campaign, base: dict[str, Any], step: Step, row, decision: Decision,
                to: str | None) -> None:
        code = None
        try:
            if step.discount and campaign.discount:
                code = message_code(campaign.discount, campaign.key, base["customer_key"], row_occurrence(row),
                                    payload_of(campaign, row) if campaign.discount.code == "referral" else {})
            message = render_message(campaign, step, row, decision.channel, base["send_id"], code, to,
                                     base.get("variant"))
        except RenderError as exc:
            self.report.dead_letter += 1
            self.decisions.append({**base, "status": "dead_letter", "error": str(exc), "coupon_code": code,
                                   "request_body": None})
            return
        if len(self.report.samples) < SAMPLES_PER_CAMPAIGN:
            self.report.samples.append(sample_of(message, campaign.sms_body_for(step)))
        if self.dry_run:
            self.report.would_send += 1
            return
        pending = self.pending[message.channel]
        base["coupon_code"] = code
        base["coupon_percent"] = campaign.discount.percent if code else None
        if code:
            base["audience_row"] = row  # for a deferral, should the store not create the code
            base["offer"] = campaign  # the variant's discount percent decides the store discount
        pending.append((message, base))
        if len(pending) >= BATCH_SIZE:
            self._flush(message.channel)

    # -- claim, send, record

    def _write_decisions(self) -> None:
        if self.decisions and not self.dry_run:
            self.ledger.record_decisions(self.decisions)
        self.decisions = []

    def _flush(self, channel: str) -> None:
        items, self.pending[channel] = self.pending[channel], []
        if not items:
            return
        if channel in self.broken:  # the provider stopped answering earlier in this run
            self.report.postponed += len(items)
            return
        sender = self.senders[channel]
        items = self._with_codes(sender, items)
        if not items:
            return
        self.batches += 1
        self._send_batch(sender, items, f"{self.run_id}-{self.campaign.key}-{channel}-{self.batches:04d}")

    def _with_codes(self, sender: Sender, items: list[tuple[OutgoingMessage, dict[str, Any]]]):
        """The batch's messages whose discount code exists in the store (created now if need be,
        and recorded in the ledger before the claim); the others are deferred or dead-lettered."""
        coded = [row["coupon_code"] for _, row in items if row.get("coupon_code")]
        if not coded:
            return items
        plain_items = [(m, row) for m, row in items if not row.get("coupon_code")]
        if self.issuer is None or (sender.mode == "live" and self.issuer.store.mode != "live"):
            self.report.postponed += len(coded)
            self.report.error = ("discount codes cannot be created in the store (no store credentials): "
                                 "messages carrying one wait for the next run")
            log.error("campaign %s: %d discounted messages wait: no store for their codes", self.campaign.key,
                      len(coded))
            return plain_items
        offers: dict[float, tuple[Campaign, list[str]]] = {}  # one store discount per percent
        for _, row in items:
            if row.get("coupon_code"):
                offer = row["offer"]
                offers.setdefault(offer.discount.percent, (offer, []))[1].append(row["coupon_code"])
        outcome = {}
        for offer, codes in offers.values():
            outcome.update(self.issuer.ensure(offer, codes, self.now))
        ready, decisions = [], []
        for message, row in items:
            code = row.get("coupon_code")
            result = outcome.get(code) if code else None
            if result is None or result.ready:
                ready.append((message, row))
                continue
            if result.whole_discount and self.report.error is None:
                self.report.error = result.error
            attempts = row.get("prior_attempts", 0) + (1 if result.rejected else 0)
            decision = {k: v for k, v in row.items() if k not in ("audience_row", "prior_attempts", "offer")}
            if result.rejected and attempts >= self.code_attempts:
                self.report.dead_letter += 1
                decisions.append({**decision, "status": "dead_letter", "attempts": 1, "request_body": None,
                                  "error": f"discount code not created after {attempts} attempts: {result.error}"})
            else:
                self.report.deferred += 1
                snapshot = json.dumps({k: plain(v) for k, v in row["audience_row"].items()}, default=str)
                decisions.append({**decision, "status": "deferred", "not_before": self.now, "snapshot": snapshot,
                                  "error": result.error, "attempts": 1 if result.rejected else 0})
        if decisions:
            self.ledger.record_decisions(decisions)
            log.warning("campaign %s: %d messages held back, their discount codes not created", self.campaign.key,
                        len(decisions))
        return ready

    def _send_batch(self, sender: Sender, items: Sequence[tuple[OutgoingMessage, dict[str, Any]]],
                    batch_id: str) -> None:
        for _, row in items:
            row["mode"] = sender.mode
        claimed = self.ledger.claim([row for _, row in items], batch_id)
        batch = [message for message, _ in items if message.send_id in claimed]
        taken = len(items) - len(batch)  # claimed meanwhile by a concurrent run: theirs to send
        if taken:
            self.report.eligible -= taken
            self.report.excluded["already_sent"] += taken
        if not batch:
            return
        # the claim is committed: if the process dies inside send(), the next run finds these in doubt
        try:
            results = sender.send(batch)
        except Exception as exc:
            if not hasattr(exc, "results"):
                raise  # an unknown failure: the whole batch stays in doubt for the next run
            self._interrupted(sender, exc, claimed)
            return
        self._record(results, claimed)
        log.info("campaign %s batch %s: %d claimed", self.campaign.key, batch_id, len(batch))

    def _record(self, results: Sequence[SendResult], claimed: set[str], released: int = 0) -> None:
        self.ledger.record_results(results, self.now)
        answered = set()
        counts: Counter = Counter()
        for result in results:
            if result.send_id in claimed and result.status in RESULT_STATUSES:
                answered.add(result.send_id)
                counts[result.status] += 1
        for status, count in counts.items():
            setattr(self.report, status, getattr(self.report, status) + count)
        self.report.in_doubt += len(claimed - answered) - released

    def _interrupted(self, sender: Sender, exc: Exception, claimed: set[str]) -> None:
        """A sender that stopped mid-batch (retries ran out, a connection broke after the request)
        tells what it got done, what is in doubt and what was certainly not sent."""
        not_sent = [s for s in getattr(exc, "not_sent", []) if s in claimed]
        released = self.ledger.release(not_sent, f"not sent: {getattr(exc, 'reason', exc)}",
                                       from_statuses=("claimed",))
        self._record(list(getattr(exc, "results", [])), claimed, released)
        self.report.postponed += released
        self.broken[sender.channel] = str(exc)
        self.report.error = f"{sender.channel} sender interrupted: {exc}"
        log.error("campaign %s: %s sender interrupted; later batches wait for the next run", self.campaign.key,
                  sender.channel)


def _column_values(column: pd.Series) -> Iterator[Any]:
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


def _day_text(value: Any) -> str | None:
    as_of = plain(value)
    return str(as_of)[:10] if as_of else None


def row_occurrence(row: Mapping[str, Any]) -> str:
    """The audience's own occurrence (not the per-staff ledger key): one coupon per occurrence."""
    return str(plain(row["occurrence"]))


__all__ = ["ActivationError", "ActivationReport", "CampaignReport", "activate"]
