"""Every dbt unit test (a model's logic on fixed input rows), without building the whole warehouse.

dbt types a unit test's fixture rows from the tested model's direct parents, so those relations
must exist: a tiny store is simulated and landed, and one `dbt build` (data tests left out)
builds the tested models' upstream and runs each model's unit tests as it reaches it. The
tested models come from the unit-test files, so a new unit test is picked up by itself.
(The slow warehouse tests also run them, inside the full build.)
"""

from __future__ import annotations

import json
from datetime import date

import yaml

from retention.dbt_build import dbt_target_path
from tests.warehouse_fixtures import DBT_PROJECT, build_store, run_dbt

AS_OF = date(2025, 2, 28)


def unit_tests_by_model() -> dict[str, set[str]]:
    tested: dict[str, set[str]] = {}
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
            tested.setdefault(test["model"], set()).add(test["name"])
    return tested


def test_every_dbt_unit_test_passes(tmp_path):
    tested = unit_tests_by_model()
    assert tested, "no dbt unit tests found"
    # 60 customers over two months: enough purchases that every model (the predictions too)
    # writes typed columns for the fixtures to be cast to
    store = build_store(tmp_path / "store", customers=60, start=date(2025, 1, 1), end=AS_OF, seed=5)
    run_dbt(store, "build", "--select", *(f"+{model}" for model in sorted(tested)),
            "--exclude", "resource_type:test", as_of=AS_OF)
    results = json.loads((dbt_target_path(store) / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert set(ran) == set().union(*tested.values())
    assert set(ran.values()) == {"pass"}
