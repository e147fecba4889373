"""The side-by-side comparisons with the peer libraries: the checks that decide "identical" and
"agrees", the customers drawn from the models, and the project's side run by the harness. The
peers themselves (their environments are downloaded and built) run only when
RETENTION_BENCH_PEERS=1."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from bench.__main__ import main
from bench.clv_peers import PARAM_TOLERANCE, compare_fits, fit_project
from bench.summary import compare_summaries
from bench.synthetic_clv import TRUE_BG_NBD, TRUE_GAMMA_GAMMA, synthetic_summary
from retention.clv.grouping import _group_by_sorting, _group_rows

PEERS_ASKED = os.environ.get("RETENTION_BENCH_PEERS") == "1"


def _summary() -> pd.DataFrame:
    return pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 3 / 7, 20 / 7], "T": [1.0, 10 / 7, 30 / 7],
                         "monetary_value": [0.0, 12.5, 40.1]}, index=pd.Index([11, 12, 13], name="customer_key"))


def test_the_summary_check_passes_the_same_summary_in_another_order_and_dtype():
    ours = _summary()
    theirs = ours.iloc[::-1].astype(float)  # lifetimes gives float frequencies
    theirs.loc[13, "monetary_value"] += 1e-9  # a float sum against a decimal one
    assert compare_summaries(ours, theirs)["identical"] is True


@pytest.mark.parametrize("change", [("recency", 12, 1 / 7), ("frequency", 13, 1), ("T", 11, 1e-12),
                                    ("monetary_value", 12, 1e-3)])
def test_the_summary_check_fails_a_summary_that_differs_in_one_value(change):
    column, customer, delta = change
    theirs = _summary().astype(float)
    theirs.loc[customer, column] += delta
    check = compare_summaries(_summary(), theirs)
    assert check["identical"] is False
    if column != "monetary_value":
        assert check["exact"][column] is False


def test_the_summary_check_fails_when_a_customer_is_missing():
    check = compare_summaries(_summary(), _summary().drop(index=12))
    assert check["identical"] is False and check["same_customers"] is False


@pytest.fixture(scope="module")
def drawn():
    summary = synthetic_summary(30_000, seed=7)
    return summary, fit_project(summary)


def test_drawn_customers_are_valid_summaries(drawn):
    summary, _ = drawn
    assert (summary["recency"] <= summary["T"]).all()
    assert (summary.loc[summary["frequency"] == 0, ["recency", "monetary_value"]] == 0).all().all()
    assert (summary.loc[summary["frequency"] > 0, "monetary_value"] > 0).all()
    assert np.allclose(summary["T"] * 7, np.round(summary["T"] * 7))  # whole days, as the warehouse has them


def test_the_project_recovers_the_parameters_the_customers_were_drawn_from(drawn):
    _, fit = drawn
    for model, truth in (("bg_nbd", TRUE_BG_NBD), ("gamma_gamma", TRUE_GAMMA_GAMMA)):
        for name, value in truth.items():
            assert fit[model][name] == pytest.approx(value, rel=0.2), (model, name)


def test_the_fit_check_agrees_with_itself_and_flags_a_moved_parameter(drawn):
    summary, fit = drawn
    same = compare_fits(summary, fit, "lifetimes", fit)
    assert same["agrees"] and same["max_relative_difference"] == 0.0
    assert same["log_likelihood_gap_per_customer"] == {"bg_nbd": 0.0, "gamma_gamma": 0.0}
    moved = {**fit, "bg_nbd": {**fit["bg_nbd"], "a": fit["bg_nbd"]["a"] * 1.01}}
    strict, loose = compare_fits(summary, fit, "lifetimes", moved), compare_fits(summary, fit, "pymc_marketing", moved)
    assert strict["worst_parameter"] == "a" and strict["max_relative_difference"] == pytest.approx(0.01)
    assert strict["agrees"] is False and PARAM_TOLERANCE["lifetimes"] < 0.01 < PARAM_TOLERANCE["pymc_marketing"]
    assert loose["agrees"] is True
    assert strict["log_likelihood_gap_per_customer"]["bg_nbd"] > 0  # away from the maximum: less likely data


def test_grouping_by_integer_keys_gives_the_groups_sorting_gave():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 5000).astype(float)
    t = rng.integers(0, 40, 5000) / 7.0
    for columns in ((x, t, t + rng.integers(0, 3, 5000)), (x, rng.gamma(2.0, 1.0, 5000))):  # repeats; all distinct
        keys, counts, inverse = _group_rows(*columns)
        sorted_keys, sorted_counts, sorted_inverse = _group_by_sorting(*columns)
        assert all(np.array_equal(a, b) for a, b in zip(keys, sorted_keys))
        assert np.array_equal(counts, sorted_counts) and np.array_equal(inverse, sorted_inverse)
        assert counts.sum() == x.size


def _run(tmp_path, *extra) -> dict:
    rc = main(["--profile", "XS", "--stages", "clv_fit_synthetic_vs_peers", "--data-dir", str(tmp_path / "data"),
               "--out", str(tmp_path / "results"), *extra])
    records = [json.loads(line) for line in (tmp_path / "results" / "XS.jsonl").read_text().splitlines()]
    assert rc == 0, records
    return next(r for r in records if r["name"] == "clv_fit_synthetic_vs_peers")


def test_the_harness_runs_the_projects_side_of_the_fit_without_peers(tmp_path):
    r = _run(tmp_path, "--peers")
    assert r["ok"] and r["customers"] == 800 and r["ratio"] is None and r["identical"] is None
    project = r["sides"]["project"]
    assert set(r["sides"]) == {"project"} and project["wall_s"] > 0 and project["peak_rss_mb"] > 0
    assert set(project["bg_nbd"]) == {"r", "alpha", "a", "b"} and set(project["gamma_gamma"]) == {"p", "q", "gamma"}
    assert set(project["recovery"]) == {"r", "alpha", "a", "b", "p", "q", "gamma"}


@pytest.mark.skipif(not PEERS_ASKED, reason="builds the peers' environments (downloads): RETENTION_BENCH_PEERS=1")
def test_the_peers_fit_the_same_customers_in_their_own_environments(tmp_path):
    r = _run(tmp_path)
    assert set(r["sides"]) == {"project", "lifetimes", "pymc_marketing"}
    assert r["check"]["lifetimes"]["agrees"], r["check"]["lifetimes"]
    for peer in ("lifetimes", "pymc_marketing"):
        side = r["sides"][peer]
        assert side["fit_s"] > 0 and side["peak_rss_mb"] > 0 and r["ratios"][peer]["fit"] > 0
        assert "/peers/" in side["env"] and side["version"]
