"""Activation: the audiences dbt built go out as email and SMS, and every decision lands again.

The asset `activation/send_campaigns` (op `activation__send_campaigns`) runs the campaigns (retention.activation) over the latest
audiences, after the circuit breaker: an audience whose quality checks failed, whose own
expectations fail, or whose size is far from its trailing median is refused, with the reason in
the run's failure and in the metadata. The ledger's rows for the days touched are written back to
the landing zone, where dbt builds `campaign_sends` and `campaign_performance` from them.

It reads the warehouse, so it runs in the `warehouse` pool: never beside dbt's writer. Whatever the
instance, one sending run at a time holds the ledger's lease (retention.activation.lease): a second
waits up to `lease_wait_seconds`, then fails naming the run that holds it.

Logs and metadata carry counts, campaign keys and hashes: never an address, a name, a code or a
message's text (dry-run samples are masked).
"""


import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pyarrow as pa

from assets.resources import (
    DataDirResource,
    PushWebhookResource,
    SendGridResource,
    ShopifyResource,
    TwilioResource,
    senders,
)
from retention.activation.accounts import paused_channels
from retention.activation.breaker import BreakerSettings, refusal_reasons
from retention.activation.campaigns import load_campaigns
from retention.activation.engine import activate
from retention.activation.lease import LEASE_TTL, LEASE_WAIT, LeaseBusy
from retention.activation.ledger import Ledger
from retention.activation.list_health import HEALTH_MODEL, paused_campaigns
from retention.duckdb_config import connect
from retention.experiments.rollout import read_results, read_send_hours, record_winners
from retention.ingest.landing import write_day
from retention.quality.validate import validate_frame

# The asset that sends; its ledger rows land in landing/activation/sends, which dbt reads through
# the source in dbt_project/models/staging/_activation_sources.yml (meta.dagster.asset_key: this key).
SEND_KEY = dg.AssetKey(["activation", "send_campaigns"])
SEND_OP = "__".join(SEND_KEY.path)  # the op's name, for run config: activation__send_campaigns
AUDIENCE_KEYS = sorted({dg.AssetKey(c.audience) for c in load_campaigns()}, key=lambda k: k.to_user_string())


class ActivationConfig(dg.Config):
    campaigns: list[str] = []  # campaign keys; empty = every campaign
    dry_run: bool = False  # decide and render, send and record nothing
    now: str = ""  # ISO time the sends happen at; empty = the wall clock
    max_size_change: float = BreakerSettings().max_change
    ignore_breaker: bool = False  # an engineer's deliberate override, logged
    lease_wait_seconds: float = LEASE_WAIT.total_seconds()  # for another sending run on the ledger
    lease_ttl_seconds: float = LEASE_TTL.total_seconds()  # a holder silent this long (killed) loses it


def read_audiences(warehouse, names: list[str]) -> dict[str, pd.DataFrame]:
    """Each built audience as a DataFrame (absent when not built yet)."""
    frames = {}
    with connect(warehouse, read_only=True) as con:
        built = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        for name in names:
            if name in built:
                frames[name] = con.sql(f'select * from main."{name}"').df()
    return frames


def earlier_sizes(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int) -> list[int]:
    """Row counts of the audience's earlier materializations, newest first (skipping the latest)."""
    records = instance.fetch_materializations(key, limit=limit + 1).records
    sizes = []
    for record in records[1:]:
        count = record.asset_materialization.metadata.get("dagster/row_count")
        if count is not None:
            sizes.append(int(count.value))
    return sizes


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The checks of severity ERROR that failed in this run (landing expectations, dbt tests)."""
    reasons = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            reasons.append(f"quality check failed: {evaluation.asset_key.to_user_string()} {evaluation.check_name}")
    return reasons


def upstream_failures(instance: dg.DagsterInstance, key: dg.AssetKey,
                      checks_of: dict[str, list[str]] | None = None) -> list[str]:
    """What went wrong where the audience was built: failed checks in the run that built it, or a
    later rebuild that never finished (a stale audience). ``checks_of`` keeps each run's failed
    checks: the audiences of a day are built by one run, read once for all of them."""
    latest = instance.fetch_materializations(key, limit=1).records
    if not latest:
        return []
    checks_of = {} if checks_of is None else checks_of
    run_id = latest[0].run_id
    if run_id not in checks_of:
        checks_of[run_id] = failed_checks(instance, run_id)
    reasons = list(checks_of[run_id])
    planned = instance.fetch_planned_materializations(key, limit=1).records
    if planned and planned[0].storage_id > latest[0].storage_id:
        run = instance.get_run_by_id(planned[0].run_id)
        if run is not None and run.is_finished and run.status != dg.DagsterRunStatus.SUCCESS:
            reasons.append(f"the latest rebuild (run {run.run_id[:8]}) did not finish: this audience is stale")
    return reasons


def audience_expectation_failures(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []  # nothing to send is not a defect
    keyed = frame.assign(recipient=frame["customer_key"].astype(str) + "|" + frame["occurrence"].astype(str))
    result = validate_frame(keyed, "audience", key="recipient", consent=("is_email_marketable", "is_sms_marketable"),
                            payload="payload")
    return [f"{f.expectation}({f.column}): {f.unexpected_count} rows" for f in result.failures]


@dg.asset(
    key=SEND_KEY,
    deps=AUDIENCE_KEYS,
    group_name="activation",
    pool="warehouse",
    kinds={"python", "sendgrid", "twilio"},
    description="Runs the campaigns over the latest audiences and writes every decision back to the landing zone.",
)
def send_campaigns(context: dg.AssetExecutionContext, config: ActivationConfig, data_dir: DataDirResource,
                   sendgrid: SendGridResource, twilio: TwilioResource, shopify: ShopifyResource,
                   push_webhook: PushWebhookResource):
    layout = data_dir.layout
    campaigns = load_campaigns()
    selected = [c for c in campaigns if not config.campaigns or c.key in config.campaigns]
    unknown = sorted(set(config.campaigns) - set(campaigns.keys()))
    if unknown:
        raise dg.Failure(f"unknown campaign(s) {unknown}; known: {campaigns.keys()}")
    now = datetime.fromisoformat(config.now) if config.now else datetime.now(UTC)
    audiences = read_audiences(layout.warehouse, sorted({c.audience for c in selected}))

    settings = BreakerSettings(max_change=config.max_size_change)
    refused: dict[str, list[str]] = {}
    checks_of: dict[str, list[str]] = {}
    for name, frame in audiences.items():
        key = dg.AssetKey(name)
        reasons = refusal_reasons(len(frame), earlier_sizes(context.instance, key, settings.history),
                                  upstream_failures(context.instance, key, checks_of),
                                  audience_expectation_failures(frame), settings)
        if reasons:
            refused[name] = reasons
    if config.ignore_breaker and refused:
        context.log.warning(f"circuit breaker overridden for {sorted(refused)}: {refused}")
        refused = {}
    allowed = {name: frame for name, frame in audiences.items() if name not in refused}

    paused = paused_channels(layout)  # a provider suspended the account: its channel waits
    # complaints or bounces above the limits yesterday: promotional email waits (list_health.py)
    unhealthy = paused_campaigns(read_audiences(layout.warehouse, [HEALTH_MODEL]).get(HEALTH_MODEL),
                                 campaigns, now.date())
    layout.activation.mkdir(parents=True, exist_ok=True)
    runnable = [c.key for c in selected if c.audience in allowed and c.key not in unhealthy]
    with Ledger.open(layout) as ledger:
        # experiments whose winner rule is met: recorded once, so this run already sends the winner
        winners = {} if config.dry_run else record_winners(read_results(layout.warehouse), ledger, now)
        try:
            channels = senders(layout.outbox, sendgrid, twilio, push_webhook, campaigns.settings.webhook)
            report = activate(campaigns, allowed, ledger, channels, now,
                              dry_run=config.dry_run, only=runnable,
                              run_id=context.run.run_id, discounts=shopify.discounts(), paused=paused,
                              lease_wait=timedelta(seconds=config.lease_wait_seconds),
                              lease_ttl=timedelta(seconds=config.lease_ttl_seconds),
                              send_hours=read_send_hours(layout.warehouse))
        except LeaseBusy as busy:  # nothing was decided or sent: the holder's run does the work
            raise dg.Failure(description=f"Activation did not run: {busy}", allow_retries=False,
                             metadata={"lease_holder": busy.holder.run_id,
                                       "held_since": busy.holder.acquired_at.isoformat(),
                                       "waited_seconds": round(busy.waited, 1)}) from None
        # The day's rows, including earlier decisions settled now (newest version wins in dbt).
        written = 0 if config.dry_run else _write_back(layout, ledger, now.date())
    context.log.info("\n" + report.table(samples=config.dry_run))

    totals = report.totals()
    metadata = {
        "campaigns": dg.MetadataValue.md(_campaign_markdown(report)),
        "per_campaign": dg.MetadataValue.json({c.campaign: _jsonable(c.as_dict()) for c in report.campaigns}),
        "sent": totals.get("sent", 0),
        "outbox": totals.get("outbox", 0),
        "held_out": totals.get("held_out", 0),
        "deferred": totals.get("deferred", 0),
        "dead_letter": totals.get("dead_letter", 0),
        "in_doubt": totals.get("in_doubt", 0),
        "excluded": dg.MetadataValue.json({k[len("excluded_"):]: v for k, v in totals.items() if k.startswith("excluded_")}),
        "dry_run": config.dry_run,
        "now": now.isoformat(),
        "landed_rows": written,
        "lease_wait_seconds": round(report.lease_wait, 1),
        "experiment_winners_recorded": len(winners),
    }
    if refused:
        metadata["refused"] = dg.MetadataValue.json(refused)
    if report.errors:
        metadata["errors"] = dg.MetadataValue.json(report.errors)
    if paused:
        metadata["paused"] = dg.MetadataValue.json(paused)
    if unhealthy:
        metadata["list_health_paused"] = dg.MetadataValue.json(unhealthy)
    if refused or report.errors or paused or unhealthy:
        # The other campaigns and channels went out; the run still fails so that nobody misses why.
        context.add_output_metadata(metadata)
        problems = {**refused, **{k: [v] for k, v in report.errors.items()},
                    **{f"{channel} channel": [why] for channel, why in paused.items()},
                    **{key: [why] for key, why in unhealthy.items()}}
        raise dg.Failure(
            description="Activation refused, paused or failed for: "
            + "; ".join(f"{name}: {' / '.join(reasons)}" for name, reasons in problems.items()),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


def _jsonable(values: dict) -> dict:
    return {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool)) or v is None}


def _write_back(layout, ledger: Ledger, day) -> int:
    frame = ledger.export_day(day)
    write_day(layout, "activation", day, {"sends": pa.Table.from_pandas(frame, preserve_index=False)}, {})
    return len(frame)


def _campaign_markdown(report) -> str:
    columns = ["audience", "eligible", "deferred", "held_out", "sent", "outbox", "dead_letter", "in_doubt"]
    lines = ["| campaign | " + " | ".join(columns) + " | excluded |", "|" + "---|" * (len(columns) + 2)]
    for campaign in report.campaigns:
        values = campaign.as_dict()
        excluded = ", ".join(f"{k}: {v}" for k, v in sorted(campaign.excluded.items()) if v)
        note = campaign.error or campaign.skipped or ""
        lines.append(f"| {campaign.campaign} | " + " | ".join(str(values[c]) for c in columns)
                     + f" | {excluded} {json.dumps(note) if note else ''} |")
    return "\n".join(lines)
