"""The issue's targets against the latest figures, and what holds a missed one back, stated from
the records' own profiles (dbt's per-node timing, the pandas side's split), never from a guess."""

from __future__ import annotations

from bench.profiles import SCALE_PROFILES
from bench.report import default_memory

GIB = 1024  # MB per GiB (figures are in MiB)
# key, figure, today (when the targets were set), target, goal, unit, higher is better, profile judged at
TARGETS = (
    ("incremental", "L one-day incremental dbt", "278.5 s", 60.0, 20.0, "s", False, "L"),
    ("intraday", "L intraday increment", "188.6 s", 30.0, 15.0, "s", False, "L"),
    ("full_refresh", "L full refresh", "581.7 s", 300.0, 200.0, "s", False, "L"),
    ("peak_memory", "L peak RSS, defaults", "20.1 GB", 4 * GIB, 3 * GIB, "MB", False, "L"),
    ("demo", "`make demo` pipeline time, 2 cores", "≈ 14 min", 4.0, 2.0, "min", False, None),
    ("ingestion", "history ingestion, L", "41.7k rec/s", 150_000.0, 300_000.0, "rec/s", True, "L"),
    ("activation", "activation engine, L", "10k/s", 30_000.0, 50_000.0, "/s", True, "L"),
    ("clv_fit", "CLV fit, 1M customers, vs lifetimes", "—", 5.0, 10.0, "x", True, "L"),
    ("incremental_ratio", "incremental vs full refresh ratio at S", "1.01x", 3.0, 10.0, "x", True, "S"),
)
PIPELINE_STAGES = ("ingest_history", "ingest_day", "dbt_full_refresh", "dbt_incremental", "intraday_increment", "clv_fit",
                   "activation")


def _figure(key: str, latest: dict[str, dict]) -> float | None:
    r = lambda name: latest.get(name) if latest.get(name) and "wall_s" in latest[name] else None  # noqa: E731
    stage_wall = {"incremental": "dbt_incremental", "intraday": "intraday_increment", "full_refresh": "dbt_full_refresh"}
    if key in stage_wall:
        return r(stage_wall[key]) and r(stage_wall[key])["wall_s"]
    if key == "peak_memory":
        peaks = [r(n)["peak_rss_mb"] for n in PIPELINE_STAGES if r(n)]
        return max(peaks) if peaks else None
    if key == "ingestion":
        return r("ingest_history") and r("ingest_history")["details"]["records_in"] / r("ingest_history")["wall_s"]
    if key == "activation":
        return r("activation") and r("activation")["details"]["recipients_per_second"]
    if key == "clv_fit":  # on the store's own summary where one was fitted, else on drawn customers
        for name in ("clv_fit_vs_peers", "clv_fit_synthetic_vs_peers"):
            if (latest.get(name) or {}).get("ratio"):
                return latest[name]["ratio"]
        return None
    if key == "incremental_ratio":
        return (latest.get("dbt_incremental_vs_full_refresh") or {}).get("ratio")
    return None  # measured outside the benchmark (the demo)


def _cell(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value / GIB:,.1f} GiB" if value >= GIB else f"{value:,.0f} MB"
    return f"{value:,.2f}x" if unit == "x" else f"{value:,.1f} {unit}"


def _bound(value: float, unit: str, higher: bool) -> str:
    """A target as the targets table writes it: ≤ 60 s, ≤ 4 min, ≤ 4 GiB, ≥ 150k rec/s, ≥ 5x."""
    if unit == "MB":
        text = f"{value / GIB:g} GiB"
    elif unit == "x":
        text = f"{value:g}x"
    elif value >= 1000:
        text = f"{value / 1000:g}k" + (unit if unit.startswith("/") else f" {unit}")
    else:
        text = f"{value:g} {unit}"
    return ("≥ " if higher else "≤ ") + text


def _verdict(value: float, target: float, goal: float, higher: bool) -> str:
    met = (lambda limit: value >= limit) if higher else (lambda limit: value <= limit)
    if met(goal):
        return "goal met"
    if met(target):
        return "target met, goal missed"
    return f"**target missed** ({(target / value if higher else value / target):.1f}x off)"


def target_rows(latest_by_profile: dict[str, dict[str, dict]]) -> list[list[str]]:
    """The targets table: figure, today, target, goal, the figure at S, M and L, and the verdict at
    the profile the figure is defined at (L for most, S for the incremental ratio)."""
    rows = []
    for key, what, today, target, goal, unit, higher, judged_at in TARGETS:
        values = {p: _figure(key, latest_by_profile.get(p, {})) for p in SCALE_PROFILES}
        cells = ["not measured" if values[p] is None else _cell(values[p], unit) for p in SCALE_PROFILES]
        if judged_at is None:
            verdict = "not measured by the benchmark (the demo's own timing)"
        elif values[judged_at] is None:
            verdict = f"not measured at {judged_at}"
        else:
            verdict = _verdict(values[judged_at], target, goal, higher)
        rows.append([what, today, _bound(target, unit, higher), _bound(goal, unit, higher), *cells, verdict])
    return rows


def incremental_profile(record: dict, full_refresh: dict | None) -> list[str]:
    """Where the incremental run's time goes, from its run_results.json."""
    d = record["details"]
    kinds = ", ".join(f"{k.replace('_', ' ')}s {v:.1f} s" for k, v in d.get("seconds_by_kind", {}).items())
    slow = d.get("slowest_nodes", [])
    tables = [n for n in slow if len(n) > 2 and n[2] == "table"]
    lines = [f"- dbt_incremental at {record['profile']}: {record['wall_s']:.1f} s wall ({record['cpu_s']:.1f} s CPU, "
             f"1-minute load average {record['load_avg_before'][0]:.1f} at its start), of which dbt's own elapsed "
             f"{d['dbt_elapsed_s']:.1f} s (the rest is dbt starting up and parsing the project); summed node "
             f"time by kind (2 threads): {kinds}."]
    by_kind = d.get("seconds_by_kind", {})
    if by_kind:
        checks = by_kind.get("test", 0.0) + by_kind.get("unit_test", 0.0)
        which = ("data tests and unit tests" if by_kind.get("unit_test") else
                 "data tests (the unit tests run with the test suite, not in the daily build)")
        lines.append(f"- {which} take {100 * checks / sum(by_kind.values()):.0f}% of the summed node time.")
    if full_refresh:
        f = full_refresh["details"]
        f_kinds = ", ".join(f"{k.replace('_', ' ')}s {v:.1f} s" for k, v in f.get("seconds_by_kind", {}).items())
        lines.append(f"- the full refresh of the same profile: {full_refresh['wall_s']:.1f} s wall "
                     f"({full_refresh['cpu_s']:.1f} s CPU, load average {full_refresh['load_avg_before'][0]:.1f}); "
                     f"{f_kinds}: the incremental run spends {100 * record['cpu_s'] / full_refresh['cpu_s']:.0f}% of "
                     "the full refresh's CPU time.")
    if slow and d.get("dbt_elapsed_s"):
        lines.append(f"- `{slow[0][0]}` alone takes {slow[0][1]:.1f} s, {100 * slow[0][1] / d['dbt_elapsed_s']:.0f}% of "
                     "dbt's elapsed time.")
    if slow:
        named = "; ".join(f"`{n[0]}` {n[1]:.1f} s" + (f" ({n[2]})" if len(n) > 2 and n[2] else " (test)")
                          for n in slow)
        lines.append(f"- the slowest nodes of the incremental run: {named}.")
    if tables:
        lines.append(f"- {len(tables)} of these {len(slow)} are materialized as `table`: the incremental run "
                     "rebuilds them in full every day from tables that hold the whole history, so their cost "
                     "grows with history, not with the day's new data.")
    return lines


def _params(side: dict, model: str) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in side[model].items())


def fit_profile(record: dict) -> list[str]:
    """The CLV fits side by side: seconds, memory and parameters of each, and how far they agree."""
    where = (f"{record['customers']:,} customers drawn from BG/NBD and Gamma-Gamma at CDNOW's parameters"
             if record.get("truth") else f"the store's warehouse summary ({record['customers']:,} customers)")
    lines = [f"- {record['name']} at {record['profile']}, on {where}:"]
    for name, side in record["sides"].items():
        line = (f"  - {name}{' ' + side['version'] if side.get('version') else ''}: fits {side['fit_s']:.2f} s "
                f"(BG/NBD {side['bg_nbd_s']:.2f} s, Gamma-Gamma {side['gamma_gamma_s']:.2f} s"
                + (f"; {side['fit_cpu_s']:.2f} s CPU" if "fit_cpu_s" in side else "") + "), process "
                f"{side['wall_s']:.1f} s / {side['peak_rss_mb']:.0f} MB; r, alpha, a, b = {_params(side, 'bg_nbd')}; "
                f"p, q, gamma (v) = {_params(side, 'gamma_gamma')}")
        if name in record.get("ratios", {}):
            c = record["check"][name]
            ratio = record["ratios"][name]
            line += (f"; the project is {ratio['fit']:g}x faster at the fits"
                     + (f" in CPU seconds ({ratio['fit_wall']:g}x in wall seconds)" if "fit_wall" in ratio else "")
                     + "; largest parameter "
                     f"difference {c['max_relative_difference']:.2e} ({c['worst_parameter']}, tolerance "
                     f"{c['tolerance']:g}: {'agrees' if c['agrees'] else '**differs**'}), log-likelihood given up "
                     f"per customer {c['log_likelihood_gap_per_customer']['bg_nbd']:.1e} (BG/NBD)")
        if side.get("recovery"):
            worst = max(side["recovery"], key=side["recovery"].get)
            line += f"; largest error against the truth {side['recovery'][worst]:.1%} ({worst})"
        lines.append(line + ".")
    return lines


def bare_profile(record: dict, full_refresh: dict | None) -> list[str]:
    """dbt's build against the same nodes' code run bare: where dbt's extra time goes."""
    dbt, bare, c = record["sides"]["dbt"], record["sides"]["bare_duckdb"], record["check"]
    kinds = lambda d: ", ".join(f"{k}s {v:.1f} s" for k, v in d.items())  # noqa: E731
    same_run = full_refresh and full_refresh["run_id"] == record["run_id"]
    full = same_run and full_refresh["details"].get("seconds_by_kind")
    differ = ", ".join(f"`{t}`" for t in c["different_tables"])
    return [f"- dbt_vs_bare_duckdb at {record['profile']}: `dbt build --full-refresh` {dbt['wall_s']:.1f} s wall "
            f"({dbt['cpu_s']:.1f} s CPU, dbt's own elapsed {dbt.get('dbt_elapsed_s') or 0:.1f} s"
            + (f"; node time {kinds(full)} on 2 threads" if full else "") + f") against the same "
            f"{bare['nodes']:,} nodes run bare {bare['wall_s']:.1f} s wall ({bare['cpu_s']:.1f} s CPU; "
            f"{kinds(bare['seconds_by_kind'])}, one after another): {record['ratio']:g}x. "
            f"{c['tables_compared'] - len(c['different_tables'])} of "
            f"{c['tables_compared']} tables identical" + (f"; differing: {differ}" if differ else "") + _floats(c)
            + (f"; data tests whose failure counts differ: {bare['test_failures_differ']}" if bare["test_failures_differ"]
               else "; every data test failed on as many rows as in dbt") + "."]


def _floats(check: dict) -> str:
    """Whether the differing tables differ in their data or only in the last bits of doubles."""
    if not check["different_tables"] or "different_beyond_float_rounding" not in check:
        return ""
    beyond = check["different_beyond_float_rounding"]
    if beyond:
        return f" ({', '.join(beyond)} still differ with doubles rounded to {check['float_digits']} significant digits)"
    return (f", and equal with doubles rounded to {check['float_digits']} significant digits: the last bits of float "
            "sums, whose order follows DuckDB's threads")


def lifetimes_summary_profile(record: dict) -> list[str]:
    s = record["sides"]
    if "lifetimes" not in s:
        return []
    c = record["check"]
    exact = ", ".join(k for k, v in c.get("exact", {}).items() if v)
    return [f"- customer_summary_vs_lifetimes at {record['profile']}: warehouse SQL {s['warehouse_sql']['work_s']:.2f} s "
            f"against lifetimes {s['lifetimes']['version']} `summary_data_from_transaction_data` "
            f"{s['lifetimes']['summary_s']:.2f} s ({record['ratio']:g}x) over {c['customers']:,} customers; "
            f"{exact or 'no column'} equal exactly, monetary_value within {c.get('max_monetary_diff', 0):.1e} "
            f"(tolerance 1e-6): {'identical' if record['identical'] else '**DIFFERENT**'}."]


def summary_profile(record: dict) -> list[str]:
    s = record["sides"]
    sql, pd_ = s["warehouse_sql"], s["pandas"]
    line = (f"- customer_summary at {record['profile']}: warehouse SQL {sql['work_s']:.2f} s; pandas "
            f"{pd_['work_s']:.2f} s = pulling {pd_.get('transactions', 0):,} orders out of DuckDB "
            f"{pd_['fetch_s']:.2f} s + the groupby {pd_['groupby_s']:.2f} s (ratio on the groupby alone "
            f"{record.get('ratio_groupby_only', 0):g}x).")
    if max(sql["work_s"], pd_["work_s"]) < 1.0:
        line += " Both sides finish in under a second here."
    if record["profile"] == "L":
        line += (" The pandas side is a vectorised groupby too, as lifetimes' is, and both run on the same "
                 "cores: the SQL side wins by what DuckDB's parallel hash aggregate saves, not by an order of "
                 "magnitude.")
    return [line]


def memory_profile(default: dict | None, limited: dict | None) -> list[str]:
    """The latest full refresh with the default memory limit beside the latest with a limit chosen,
    each with its run and commit: they may come from different code."""
    if not (default and limited):
        return []
    fig = lambda r: (f"{r['peak_rss_mb']:,.0f} MB peak, {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU "  # noqa: E731
                     f"(load average {r['load_avg_before'][0]:.1f} -> {r['load_avg_after'][0]:.1f}), "
                     f"{sum(r['details']['nodes'].values())} nodes {'/'.join(r['details']['nodes'])}, "
                     f"run {r['run_id']}, commit {(r.get('machine') or {}).get('git_commit', '?')}")
    target = TARGETS[3][3]  # the peak-memory target, in MB
    within = lambda r: "within" if r["peak_rss_mb"] <= target else "above"  # noqa: E731
    line = (f"- dbt_full_refresh at {default['profile']} with {default_memory(default)}: {fig(default)}; "
            f"with `--duckdb-memory-limit {limited['duckdb_memory_limit']}`: {fig(limited)}. "
            f"The first is {within(default)} the {_bound(target, 'MB', False)[2:]} target, the second "
            f"{within(limited)} it.")
    if default_memory(default).startswith("DuckDB's"):
        line += " DuckDB's own default lets it take 80% of RAM: that peak is what it may take, not what the build needs."
    return [line + " Compare the CPU seconds, not the wall seconds, when the load averages differ."]


def activation_profile(stage: dict, comparison: dict | None) -> list[str]:
    d, demo = stage["details"]["throughput"], stage["details"]["demo"]
    lines = [f"- activation at {stage['profile']}: {d['recipients']:,} recipients of `{d['campaign']}` in "
             f"{d['activate_s']:.2f} s = {d['recipients_per_second']:,.0f} recipients/s, in {d['requests']} "
             "requests of up to 1,000 personalizations" + _split(d) + "."]
    if "send_s" in demo:
        lines.append(f"- the demo campaigns at {stage['profile']}: {demo['emails']:,} emails and {demo['sms']:,} SMS "
                     f"in {demo['activate_s']:.2f} s = {demo['recipients_per_second']:,.0f}/s" + _split(demo) +
                     ". Twilio takes one message per request (8 in flight), and the fake servers share the "
                     "process (and its GIL) with the engine, so SMS dominate however few they are.")
    if comparison:
        b, one = comparison["sides"]["batched"], comparison["sides"]["per_recipient"]
        lines.append(f"- one request per recipient over the same {comparison['recipients']:,} recipients: "
                     f"{one['recipients_per_second']:,.0f}/s against {b['recipients_per_second']:,.0f}/s batched "
                     f"({comparison['ratio']:g}x); identical accepted send ids: "
                     f"{str(comparison['identical']).lower()}.")
    return lines


def _split(d: dict) -> str:
    """Where activate()'s seconds went: inside each sender's send(), and the engine's remainder."""
    if "send_s" not in d:
        return ""
    sends = ", ".join(f"{channel} sender {seconds:.2f} s" for channel, seconds in d["send_s"].items() if seconds)
    return f" ({sends}, engine: gate, rendering and ledger {d['engine_s']:.2f} s)"
