"""`make demo`: simulate a store, run the daily pipeline over every simulated day, print a summary.

The history lands in one `ingest_inbox` run over the partition range. Each day of the last week
then runs `daily_refresh` (landing, and the warehouse as of that day) and `activate_segments`
the next morning: the campaigns go to the outbox (no API keys), the simulated recipients answer
them with provider events in the inbox, and the following day's refresh lands those and measures
the campaigns. Everything runs on the persistent instance in the data directory, so `make dev`
shows the runs and materializations afterwards.
"""

import argparse
import contextlib
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from assets.activation import SEND_OP
from assets.live import connected_live_sources
from orchestration.definitions import defs, resources
from retention.experiments.rollout import read_results
from retention.ingest import SOURCE_TABLES
from retention.paths import DataDir
from retention.reports.docs import DocsError, build_docs
from retention.reports.experiments import experiments_text
from retention.reports.metrics import headline_metrics
from retention.store_simulator import SimConfig, simulate
from retention.store_simulator.config import months_before
from retention.store_simulator.responses import outbox_files, read_outbox, write_responses

ACTIVATION_HOUR = clock(17, 0)  # UTC: the morning after in the Americas (SMS quiet hours end at 08:00 local)
DEMO_REFERRAL_RATE = 0.02  # some customers refer friends (a few frauds among them): the referrals to show
# Dagster's switch for a run over a partition range to plan each asset once, naming the range, rather
# than once per partition. Each event costs milliseconds of SQLite work, so per partition the 18
# months' history run planned 13,000 of them before landing a file; the switch halves its events.
# Dagster's caveat: the partitions of a failed range run show as missing, not failed.
PLAN_PER_RANGE_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# Dagster's console log stays quiet: a failed step would print its stack trace there. The demo says
# what failed itself (print_failures); the whole record stays in the run's event log (make dev).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextlib.contextmanager
def planned_per_range() -> Iterator[None]:
    """Within: runs created over a partition range plan each asset once (``PLAN_PER_RANGE_ENV``)."""
    before = os.environ.get(PLAN_PER_RANGE_ENV)
    os.environ[PLAN_PER_RANGE_ENV] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PLAN_PER_RANGE_ENV, None)
        else:
            os.environ[PLAN_PER_RANGE_ENV] = before


def run_range(
    instance: dg.DagsterInstance, job: str, start: date, end: date, log: Path, assets: list | None = None
) -> dg.ExecuteInProcessResult:
    """One run of `job` (or of `assets` in it) over the partition range [start, end]; dbt's output goes to `log`."""
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    with log.open("a") as out, contextlib.redirect_stdout(out), planned_per_range():
        return defs.resolve_job_def(job).execute_in_process(
            run_config=QUIET, instance=instance, tags=tags, raise_on_error=False, asset_selection=assets
        )


def run_activation(instance: dg.DagsterInstance, now: datetime, log: Path) -> dg.ExecuteInProcessResult:
    """One `activate_segments` run as if at ``now`` (the sends happen then)."""
    config = {**QUIET, "ops": {SEND_OP: {"config": {"now": now.isoformat()}}}}
    with log.open("a") as out, contextlib.redirect_stdout(out):
        return defs.resolve_job_def("activate_segments").execute_in_process(
            run_config=config, instance=instance, raise_on_error=False
        )


def print_failures(result: dg.ExecuteInProcessResult, label: str) -> None:
    """Each failed step's message (not its stack trace), on stderr."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        told = data.user_failure_data.description if data.user_failure_data else None  # a dg.Failure's own words
        text = told or (data.error.message if data.error else f"{event.step_key} failed")
        print(f"  {label}: {text.strip()[:400]}", file=sys.stderr)


def activation_counts(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    print_failures(result, "activation")
    for materialization in result.asset_materializations_for_node(SEND_OP):
        return materialization.metadata["per_campaign"].value
    for event in result.all_events:  # a refused run still reports what it did on its failure
        if event.is_step_failure and event.event_specific_data.user_failure_data:
            metadata = event.event_specific_data.user_failure_data.metadata
            if "per_campaign" in metadata:
                return metadata["per_campaign"].value
    return {}


def landing_summary(results: list[dg.ExecuteInProcessResult]) -> dict[str, dict]:
    """Files, records in, landed and quarantined per source, from the materializations' metadata.

    A run over a partition range records one materialization per partition, each carrying the
    whole range's counts, so each asset is read once per run.
    """
    per_run_asset = {}
    for result in results:
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            if materialization.asset_key.path[0] == "landing":
                metadata = {k: v.value for k, v in materialization.metadata.items()}
                per_run_asset[(result.run_id, materialization.asset_key)] = metadata
    per_source: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for (_, key), metadata in per_run_asset.items():
        _, source, table = key.path
        counts = per_source[source]
        if table == SOURCE_TABLES[source][0]:
            counts["files"] += metadata["files"]
        counts.setdefault("tables", Counter())[table] += metadata["landed"]
        for name in ("records_in", "landed", "quarantined"):
            counts[name] += metadata[name]
    return per_source


def print_landing(per_source: dict[str, dict]) -> None:
    width = max(map(len, per_source)) + 2
    header = f"{'source':<{width}}{'files':>8}{'rows in':>12}{'landed':>12}{'quarantined':>13}"
    print(header)
    print("-" * len(header))
    for source, counts in sorted(per_source.items()):
        print(
            f"{source:<{width}}{counts['files']:>8,}{counts['records_in']:>12,}{counts['landed']:>12,}"
            f"{counts['quarantined']:>13,}"
        )
        tables = ", ".join(f"{table} {rows:,}" for table, rows in sorted(counts["tables"].items()))
        print(f"{'':<{width}}{tables}")
    print("Rows count every landing table (child tables such as order lines included).")


def print_warehouse(layout: DataDir) -> None:
    """Headline figures and segment sizes, read from the warehouse read-only."""
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        as_of, people, buyers, repeat, net, marketable = con.execute(
            """
            select max(as_of), count(*), count(*) filter (where order_count > 0),
                   count(*) filter (where order_count > 1), sum(net_revenue),
                   count(*) filter (where is_email_marketable)
            from customers
            """
        ).fetchall()[0]
        print(f"Warehouse as of {as_of}: {people:,} people, {buyers:,} with orders, "
              f"{repeat / max(buyers, 1):.1%} repeat buyers, net revenue {net:,.2f}, "
              f"{marketable:,} email-marketable.")
        metrics = con.sql("select * from metrics_daily").df()
        predictions = con.execute(
            """
            select sum(predicted_clv_12m), avg(p_alive) filter (where order_count > 1),
                   count(*) filter (where churn_risk = 'high'),
                   (select parameters from clv_fits where model = 'bg_nbd')
            from customers
            """
        ).fetchall()[0]
        segments = con.execute(
            """
            select segment_type, segment, count(*) as customers
            from customer_segments group by all order by segment_type, customers desc, segment
            """
        ).fetchall()
    # the report's headline metrics (retention.reports.metrics): the 30 days up to the last built day
    last_day = pd.Timestamp(metrics["day"].max()).date() if len(metrics) else None
    last30 = {m.name: m.value for m in headline_metrics(metrics, last_day)} if last_day else {}
    print(f"Last 30 days: {last30.get('Orders') or 0:,.0f} orders, net revenue {last30.get('Net revenue') or 0:,.2f}, "
          f"{last30.get('New customers') or 0:,.0f} new customers, "
          f"email open rate {last30.get('Email open rate') or 0:.1%}, "
          f"click rate {last30.get('Email click rate') or 0:.1%}; "
          f"repeat purchase rate {last30.get('Repeat purchase rate (to date)') or 0:.1%}, "
          f"churn rate {last30.get('Churn rate (to date)') or 0:.1%}.")
    clv_total, p_alive, high_risk, bg_nbd = predictions
    print(f"Predicted: 12-month CLV {clv_total or 0:,.2f} in total, mean P(alive) of repeat buyers "
          f"{p_alive or 0:.2f}, {high_risk:,} customers at high churn risk; BG/NBD {bg_nbd}.")
    print()
    print(f"{'segment type':<14}{'segment':<32}{'customers':>10}")
    for segment_type, segment, customers in segments:
        print(f"{segment_type:<14}{segment:<32}{customers:>10,}")


def print_loyalty(layout: DataDir) -> None:
    """Points, referrals and the top referrers (hashed customer keys, shortened; no names)."""
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        holders, points, redeemed, expired, claimable, expiring = con.execute(
            """
            select count(*) filter (where points_balance > 0), coalesce(sum(points_balance), 0),
                   coalesce(sum(rewards_redeemed), 0), coalesce(sum(points_expired), 0),
                   count(*) filter (where rewards_available > 0), count(*) filter (where points_expiring_soon > 0)
            from loyalty_balances
            """
        ).fetchall()[0]
        outcomes = con.execute(
            "select coalesce(rejection_reason, 'accepted'), count(*) from referrals group by all order by 2 desc, 1"
        ).fetchall()
        top = con.execute(
            "select customer_key, accepted_referrals, friends_net_revenue from top_referrers "
            "order by referrer_rank, customer_key limit 3"
        ).fetchall()
    print(f"Loyalty points: {holders:,} customers hold {points:,} points; {redeemed:,} rewards redeemed, "
          f"{expired:,} points expired; {claimable:,} can claim a reward, {expiring:,} have points expiring soon.")
    print("Referrals: " + (", ".join(f"{n:,} {outcome}" for outcome, n in outcomes) or "none yet") + ".")
    for rank, (key, friends, revenue) in enumerate(top, 1):
        print(f"  top referrer {rank}: customer {key[:12]}… brought {friends:,} friends ({revenue:,.2f} first-order revenue)")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def activate_and_answer(instance, layout: DataDir, day: date, log: Path, simulated: bool) -> dict[str, dict]:
    """The morning after ``day``: activate the campaigns, then let the simulated recipients answer."""
    now = datetime.combine(day + timedelta(days=1), ACTIVATION_HOUR, tzinfo=UTC) if simulated \
        else datetime.now(UTC)
    before = outbox_files(layout.outbox)
    started = time.perf_counter()
    counts = activation_counts(run_activation(instance, now, log))
    new = outbox_files(layout.outbox) - before
    answered = write_responses(layout, read_outbox(new, now), seed=day.toordinal()) if simulated else {}
    sent = sum(c.get("sent", 0) + c.get("outbox", 0) for c in counts.values())
    print(f"  activate_segments at {now:%Y-%m-%d %H:%M} UTC: {sent:,} messages in {time.perf_counter() - started:.1f} s"
          + (f"; the recipients answered with {answered['email_events']:,} email events" if answered else ""))
    return counts


def print_activation(activations: list[dict[str, dict]]) -> None:
    """Per campaign, summed over the week's activations: who was eligible, who was excluded and why."""
    totals: dict[str, Counter] = defaultdict(Counter)
    for counts in activations:
        for campaign, values in counts.items():
            totals[campaign].update({k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)})
    if not totals:
        return
    reasons = sorted({k for c in totals.values() for k in c if k.startswith("excluded_") and c[k]})
    columns = ["audience", "eligible", "outbox", "sent", "held_out", "deferred", *reasons]
    print(f"Activation over {len(activations)} mornings (rows summed across runs):")
    print(f"{'campaign':<26}" + "".join(f"{c.replace('excluded_', 'x_'):>17}" for c in columns))
    for campaign in sorted(totals):
        print(f"{campaign:<26}" + "".join(f"{totals[campaign][c]:>17,}" for c in columns))
    grand = sum(totals.values(), Counter())
    print(f"{'all':<26}" + "".join(f"{grand[c]:>17,}" for c in columns))


def print_campaign_performance(layout: DataDir) -> None:
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select campaign, step, treated, held_out, delivered, opened, clicked, converted,
                   attributed_revenue, redemptions, code_attributed_revenue, lift, lift_ci_lower, lift_ci_upper
            from campaign_performance order by campaign, step
            """
        ).fetchall()
    if not rows:
        return
    print("Campaign performance (campaign_performance; attribution: last touch, 5 days email, 1 day SMS; "
          "by code: orders quoting the campaign's discount codes):")
    print(f"{'campaign':<26}{'step':>5}{'treated':>9}{'holdout':>9}{'deliv.':>8}{'opened':>8}{'clicked':>8}"
          f"{'conv.':>7}{'revenue':>11}{'redeemed':>10}{'by code':>11}{'lift (95% CI)':>26}")
    for (campaign, step, treated, held, delivered, opened, clicked, converted, revenue, redeemed, by_code, lift,
         low, high) in rows:
        shown = f"{lift:+.3f} ({low:+.3f}, {high:+.3f})" if lift is not None and low is not None else "n/a"
        print(f"{campaign:<26}{step:>5}{treated:>9,}{held:>9,}{delivered:>8,}{opened:>8,}{clicked:>8,}"
              f"{converted:>7,}{float(revenue or 0):>11,.2f}{redeemed:>10,}{float(by_code or 0):>11,.2f}{shown:>26}")


def print_experiments(layout: DataDir) -> None:
    """The campaigns' experiments (experiment_results), as the segment report shows them."""
    print("Experiments (experiment_results; winner: enough recipients, P(best) over the rule's threshold and "
          "significant against the control):")
    print(experiments_text(read_results(layout.warehouse)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last simulated day (default: yesterday)")
    parser.add_argument("--warehouse-days", type=int, default=7, help="last days built through daily_refresh")
    args = parser.parse_args(argv)

    layout = DataDir.from_mapping(os.environ)
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or layout.dagster_home)
    dagster_home.mkdir(parents=True, exist_ok=True)

    end = args.end or date.today() - timedelta(days=1)
    start = months_before(end, args.months)
    daily_from = max(start, end - timedelta(days=args.warehouse_days - 1))
    # (job, first day, last day, assets of the job to run: None for all); activation follows each daily_refresh
    plan: list[tuple[str, date, date, list | None]] = [("ingest_inbox", start, daily_from - timedelta(days=1), None)]
    plan += [("daily_refresh", day, day, None) for day in _days(daily_from, end)]
    live = connected_live_sources(resources["shopify"], resources["sendgrid"])
    if live:
        names = ", ".join("/".join(key.path) for key in live)
        print(f"Live sources connected ({names}): pulling them for {end} instead of simulating.")
        plan = [("pull_live_sources", end, end, live), ("daily_refresh", end, end, None)]
    else:
        print(f"Simulating {args.customers:,} customers from {start} to {end} (seed {args.seed}) into {layout.root}")
        started = time.perf_counter()
        simulate(SimConfig(customers=args.customers, start=start, end=end, seed=args.seed,
                           referral_rate=DEMO_REFERRAL_RATE), layout.root)
        print(f"  simulated in {time.perf_counter() - started:.1f} s")

    results, activations = [], []
    log = layout.root / "logs" / "demo.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for job, first, last, assets in plan:
            if first > last:
                continue
            print(f"Running {job} for {first} .. {last} ({(last - first).days + 1} days) ...")
            started = time.perf_counter()
            result = run_range(instance, job, first, last, log, assets)
            print(f"  {'done' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s")
            if not result.success:
                print_failures(result, job)
                print(f"{job} failed; see {log} and the run in the Dagster UI (make dev).", file=sys.stderr)
                return 1
            results.append(result)
            if job == "daily_refresh":
                activations.append(activate_and_answer(instance, layout, last, log, simulated=not live))

    print()
    print_landing(landing_summary(results))
    print()
    print_warehouse(layout)
    print()
    print_loyalty(layout)
    print()
    print_activation(activations)
    print()
    print_campaign_performance(layout)
    print()
    print_experiments(layout)
    print()
    try:
        docs = build_docs(layout)
    except DocsError as error:
        docs = None
        print(f"dbt docs were not built: {error}", file=sys.stderr)
    print(f"Data directory:  {layout.root}")
    print(f"  landing zone:  {layout.landing}")
    print(f"  quarantine:    {layout.quarantine}")
    print(f"  warehouse:     {layout.warehouse}")
    print(f"  outbox:        {layout.outbox}")
    print(f"  send ledger:   {layout.activation / 'ledger.sqlite'}")
    if not live:
        print(f"  ground truth:  {layout.simulation}")
    print(f"  run logs:      {log}")
    print(f"  report:        {layout.reports / 'index.html'}")
    print(f"  CSV exports:   {layout.reports / 'exports'}")
    if docs:
        print(f"  dbt docs:      {docs}")
    print("Open the Dagster UI: make dev, then http://127.0.0.1:3000")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
