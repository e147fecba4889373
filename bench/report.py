"""Readable tables: one run's figures, S/M/L side by side, and bench/RESULTS.md."""

from __future__ import annotations

import json
from pathlib import Path

from bench.machine import PROJECT_ROOT
from bench.profiles import PROFILES, SCALE_PROFILES

DEFAULT_RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
RESULTS_MD = PROJECT_ROOT / "bench" / "RESULTS.md"
STAGE_ROWS = ("simulate", "ingest_history", "ingest_day", "dbt_full_refresh", "dbt_incremental", "intraday_increment",
              "clv_fit", "activation", "erasure")
COMPARISON_ROWS = ("dbt_vs_bare_duckdb", "customer_summary", "customer_summary_vs_lifetimes", "clv_fit_vs_peers",
                   "clv_fit_synthetic_vs_peers", "dbt_incremental_vs_full_refresh", "activation_batched_vs_per_recipient",
                   "event_log_open_vs_dagster", "event_log_range_batched_vs_one_by_one")
DUCKDB_OPTIONS = ("duckdb_memory_limit", "duckdb_threads")


def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def _stage_cell(r: dict | None) -> str:
    if r is None:
        return "-"
    if not r["ok"]:
        return "failed"
    if r.get("skipped"):
        return "skipped"
    if r.get("cached"):
        return "cached"
    cell = f"{r['wall_s']:.1f} s / {r['peak_rss_mb']:.0f} MB"
    if r["name"] == "activation":
        cell += f" ({r['details']['recipients_per_second']:,.0f} recipients/s)"
    return cell


def default_memory(r: dict) -> str:
    """What a run without a memory limit option had: the project's default from the commit that
    chose one (retention/duckdb_config.py), DuckDB's own 80% of RAM before it."""
    chosen = (r.get("machine") or {}).get("duckdb_default_memory_limit")
    return f"project default ({chosen} of RAM)" if chosen else "DuckDB's default (80% of RAM)"


def variant(r: dict) -> str:
    """'' for DuckDB's defaults, else the options the dbt stages ran with (e.g. 'duckdb_memory_limit=4GB')."""
    return ", ".join(f"{k}={r[k]}" for k in DUCKDB_OPTIONS if r.get(k))


def _comparison_cell(r: dict | None) -> str:
    if r is None:
        return "-"
    if not r["ok"]:
        return "failed"
    if r["ratio"] is None:
        return "project side only"
    if "ratios" in r:  # the CLV fits: how many times faster than each peer, and whether the parameters agree
        faster = ", ".join(f"{v['fit']:g}x vs {peer}" for peer, v in r["ratios"].items())
        return f"{faster} ({'parameters agree' if r['identical'] else 'parameters DIFFER'})"
    if not r["identical"] and (r.get("check") or {}).get("different_beyond_float_rounding") == []:
        return f"{r['ratio']:g}x (identical to {r['check']['float_digits']} significant digits)"
    return f"{r['ratio']:g}x ({'identical' if r['identical'] else 'DIFFERENT'})"


def _note(r: dict) -> str:
    d = r.get("details", {})
    if r.get("skipped"):
        return r["skipped"]
    if not r["ok"]:
        return r.get("error", "")
    if r["name"].startswith("ingest"):
        workers = f", {d['workers']} processes" if d.get("workers", 1) > 1 else ""
        return f"{d['days']} days, {d['files']} files, {d['records_in']:,} records{workers}"
    if r["name"] == "intraday_increment":
        return (f"as of {d['as_of_time']}: landing {d['land_s']} s ({d['records_landed']:,} records), "
                f"{sum(d['nodes'].values())} nodes")
    if r["name"].startswith("dbt"):
        note = f"as of {d['as_of']}, {sum(d['nodes'].values())} nodes, warehouse {d['warehouse_mb']} MB"
        return note + (f"; {variant(r)}" if variant(r) else "")
    if r["name"] == "activation":
        demo, scale = d["demo"], d["throughput"]
        return (f"demo campaigns: {demo['messages']:,} messages from {demo['audience_rows']:,} audience rows in "
                f"{demo['activate_s']} s ({demo['recipients_per_second']:,.0f}/s); {scale['campaign']} to "
                f"{scale['recipients']:,} recipients: {scale['activate_s']} s, "
                f"{scale['recipients_per_second']:,.0f} recipients/s")
    if r["name"] == "clv_fit":
        return f"{d['customers']:,} customers, BG/NBD {d['bg_nbd_s']} s, Gamma-Gamma {d['gamma_gamma_s']} s"
    if r["name"] == "erasure":
        return (f"one customer ({d['orders_of_the_customer']} orders): {d['records_erased']:,} records, "
                f"{d['files_changed']:,} files changed of {d['data_dir_files']:,} ({d['data_dir_mb']:,} MB)")
    if r["name"] == "simulate" and d:
        return f"{d['orders']:,} orders, {d['records']:,} records, {d['inbox_mb']} MB"
    return ""


def run_table(records: list[dict], markdown: bool = False) -> str:
    """The figures of one run: stages, then comparisons."""
    rows = []
    for r in records:
        if r["kind"] == "stage":
            figures = r.get("wall_s") is not None
            rows.append([r["name"], f"{r['wall_s']:.2f}" if figures else "", f"{r['cpu_s']:.2f}" if figures else "",
                         f"{r['peak_rss_mb']:.0f}" if figures else "", "cached" if r.get("cached") else _note(r)])
        elif r["kind"] == "total":
            rows.append(["total (measured stages)", f"{r['wall_s']:.2f}", "", f"{r['peak_rss_mb']:.0f}",
                         f"load average at the end {r['load_avg_end']}"])
    out = table(["stage", "wall s", "cpu s", "peak RSS MB", "notes"], rows, markdown)
    comps = []
    for r in records:
        if r["kind"] != "comparison":
            continue
        if not r["ok"]:
            comps.append([r["name"], "failed", "", r["error"]])
            continue
        sides = "; ".join(f"{k}: {v['wall_s']:.2f} s wall, {v['peak_rss_mb']:.0f} MB"
                          + (f", {v['recipients_per_second']:,.0f} recipients/s" if "recipients_per_second" in v else "")
                          for k, v in r["sides"].items())
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:g}x"
        comps.append([r["name"], ratio, str(r["identical"]).lower(), sides])
    if comps:
        out += "\n\n" + table(["comparison", "ratio", "identical", "sides"], comps, markdown)
    return out


def load_results(results_dir: Path, profile: str) -> list[dict]:
    path = Path(results_dir) / f"{profile}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def latest_by_name(records: list[dict]) -> dict[str, dict]:
    """The latest successful figure of each stage and comparison (a cached simulate counts only
    when no measured one exists)."""
    latest: dict[str, dict] = {}
    for r in records:
        if not r["ok"] or r["kind"] == "total":
            continue
        if r.get("cached") and r["name"] in latest:
            continue
        if variant(r):  # runs with DuckDB options are shown beside the defaults, not instead of them
            continue
        latest[r["name"]] = r
    return latest


def scaling_table(results_dir: Path, markdown: bool = False) -> str:
    latest = {p: latest_by_name(load_results(results_dir, p)) for p in SCALE_PROFILES}
    header = ["", *(f"{p} ({PROFILES[p].customers:,} customers)" for p in SCALE_PROFILES)]
    rows = []
    for name in STAGE_ROWS:
        rows.append([name, *(_stage_cell(latest[p].get(name)) if latest[p] else "not yet run" for p in SCALE_PROFILES)])
    for name in COMPARISON_ROWS:
        rows.append([name, *(_comparison_cell(latest[p].get(name)) if latest[p] else "not yet run"
                             for p in SCALE_PROFILES)])
    sizes = []
    for p in SCALE_PROFILES:
        sim = latest[p].get("simulate", {}).get("details") or {}
        ing = latest[p].get("ingest_history", {}).get("details") or {}
        sizes.append(f"{sim['orders']:,} orders" if sim else (f"{ing['records_in']:,} records" if ing else "-"))
    rows.insert(0, ["size", *sizes])
    return table(header, rows, markdown)
