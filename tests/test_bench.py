"""The benchmark harness end to end on the tiny XS profile: the shape of its output, not its speed
(figures come from the harness, never from timed assertions)."""

from __future__ import annotations

import json
import os

import pytest

from bench.__main__ import main
from bench.report import scaling_table
from bench.results_md import render
from bench.runner import COMPARISONS, PEER_COMPARISONS, STAGE_ORDER

STAGES = [s for s in STAGE_ORDER if s not in COMPARISONS]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    # the peers' own environments are built only when asked (tests/test_bench_peers.py)
    peers = [] if os.environ.get("RETENTION_BENCH_PEERS") == "1" else ["--peers"]
    rc = main(["--profile", "XS", "--data-dir", str(tmp / "data"), "--out", str(tmp / "results"), *peers])
    lines = (tmp / "results" / "XS.jsonl").read_text().splitlines()
    return rc, [json.loads(line) for line in lines], tmp


def test_the_run_succeeds(records):
    rc, recs, _ = records
    assert rc == 0, [r for r in recs if not r["ok"]]


def test_every_stage_has_wall_time_and_peak_memory(records):
    _, recs, _ = records
    by_name = {r["name"]: r for r in recs if r["kind"] == "stage"}
    assert set(by_name) == set(STAGES)
    for name, r in by_name.items():
        assert r["ok"] and r["profile"] == "XS", r
        if name == "simulate":
            assert r["cached"] is False  # a fresh data directory: the store is simulated and measured
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 0 and r["cpu_s"] >= 0, r
        assert len(r["load_avg_before"]) == 3


def test_comparisons_give_a_ratio_and_identical_results(records):
    _, recs, _ = records
    comps = {r["name"]: r for r in recs if r["kind"] == "comparison"}
    assert set(comps) == set(COMPARISONS)
    for name, r in comps.items():
        if name in PEER_COMPARISONS and r["ratio"] is None:  # run without the peers: the project's side only
            assert r["identical"] is None and list(r["sides"]) in (["project"], ["warehouse_sql"]), r
            continue
        if name == "dbt_vs_bare_duckdb":  # doubles summed in another order may differ in their last bits
            assert r["ratio"] > 0 and r["check"]["tables_compared"] > 0, r
            assert r["check"]["different_beyond_float_rounding"] == [] and not r["check"]["tables_in_one_only"], r
            assert r["sides"]["bare_duckdb"]["test_failures_differ"] == [], r
            continue
        assert r["ratio"] > 0 and r["identical"] is True, r
        for side in r["sides"].values():
            assert side["wall_s"] > 0 and side["peak_rss_mb"] > 0
    assert comps["customer_summary"]["check"]["customers"] > 0
    assert comps["dbt_incremental_vs_full_refresh"]["check"]["tables_compared"] > 0
    sides = comps["activation_batched_vs_per_recipient"]["sides"]
    assert sides["batched"]["batch_size"] == 1000 and sides["per_recipient"]["batch_size"] == 1
    assert sides["per_recipient"]["requests"] == sides["per_recipient"]["messages"] > 0
    assert all(side["recipients_per_second"] > 0 for side in sides.values())
    events = comps["event_log_open_vs_dagster"]
    assert events["check"]["read_back"]["ASSET_CHECK_EVALUATION"] > events["check"]["read_back"]["ASSET_MATERIALIZATION"] > 0
    assert events["events"] == sum(events["check"]["read_back"].values())
    history = comps["event_log_range_batched_vs_one_by_one"]  # every landing table, every day of the profile's
    assert history["events"] == history["check"]["records"] == history["check"]["assets"] * history["check"]["days"] > 0


def test_activation_reports_recipients_per_second(records):
    _, recs, _ = records
    r = next(r for r in recs if r["name"] == "activation")
    d = r["details"]
    assert d["recipients_per_second"] > 0 and d["messages"] > 0
    assert d["throughput"]["messages"] == d["throughput"]["recipients"] == 10_000
    assert d["throughput"]["errors"] == {} and d["demo"]["errors"] == {}
    assert d["demo"]["audiences"] > 0 and d["demo"]["now"].endswith("T17:00:00+00:00")


def test_dbt_stages_carry_their_slowest_nodes(records):
    _, recs, _ = records
    for r in recs:
        if r["kind"] == "stage" and r["name"].startswith("dbt"):
            assert r["details"]["slowest_nodes"] and r["details"]["seconds_by_kind"]["model"] > 0
            assert "duckdb_memory_limit" not in r  # DuckDB's defaults unless asked


def test_every_line_carries_the_machine_facts(records):
    _, recs, _ = records
    for r in recs:
        m = r["machine"]
        assert m["cores"] >= 1 and m["ram_gib"] > 0 and m["python"] and m["duckdb"]
        assert "git_commit" in m
    assert recs[-1]["kind"] == "total" and recs[-1]["wall_s"] > 0


def test_a_second_run_uses_the_cached_simulation(records):
    _, _, tmp = records
    rc = main(["--profile", "XS", "--data-dir", str(tmp / "data"), "--out", str(tmp / "results"),
               "--stages", "simulate", "clv_fit"])
    assert rc == 0
    recs = [json.loads(line) for line in (tmp / "results" / "XS.jsonl").read_text().splitlines()]
    last_run = [r for r in recs if r["run_id"] == recs[-1]["run_id"]]
    assert [r["name"] for r in last_run] == ["simulate", "clv_fit", "total"]
    assert last_run[0]["cached"] is True


def test_reports_render_without_scale_results(records):
    _, _, tmp = records
    assert "dbt_full_refresh" in scaling_table(tmp / "results")
    text = render(tmp / "results")
    assert "not yet run" in text and "## Targets" in text


def _full_refresh(peak_mb: float, commit: str, limit: str | None = None, chosen: str | None = "12.5%") -> dict:
    return {"profile": "L", "run_id": f"run-{commit}", "peak_rss_mb": peak_mb, "wall_s": 500.0, "cpu_s": 900.0,
            "load_avg_before": [1.0], "load_avg_after": [2.0], "details": {"nodes": {"success": 102, "pass": 129}},
            "duckdb_memory_limit": limit, "machine": {"git_commit": commit, "duckdb_default_memory_limit": chosen}}


def test_the_memory_line_names_each_runs_default_commit_and_the_4_gib_target():
    from bench.targets import memory_profile

    (line,) = memory_profile(_full_refresh(5836, "new"), _full_refresh(4000, "old", limit="4GB"))
    assert "with project default (12.5% of RAM): 5,836 MB peak" in line and "commit new" in line
    assert "`--duckdb-memory-limit 4GB`: 4,000 MB peak" in line and "commit old" in line
    assert "The first is above the 4 GiB target, the second within it." in line
    assert "80% of RAM" not in line  # the project's default is not DuckDB's
    (older,) = memory_profile(_full_refresh(20000, "older", chosen=None), _full_refresh(4000, "old", limit="4GB"))
    assert "DuckDB's default (80% of RAM)" in older and "not what the build needs" in older
