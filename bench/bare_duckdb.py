"""The dbt layer's overhead: the SQL dbt ran in a build, run again bare in one DuckDB connection.

From a build's target directory: each node's compiled code (run_results.json) in an order that
respects the dependencies (manifest.json). A SQL model becomes ``create table ... as`` (or a view),
a Python model runs its compiled module as dbt-duckdb's local runner does (``model(dbt, con)``,
then the module's own ``materialize``), a data test counts its failing rows, and a seed is copied
from the dbt build's warehouse (loading a CSV is not the SQL in question). Hooks are not run:
on a warehouse built from nothing they have nothing to act on.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
import time
from pathlib import Path

# The settings dbt_project/profiles.yml gives every dbt connection.
CONNECTION_SETTINGS = ("set TimeZone = 'UTC'", "set enable_progress_bar = false")
DBT_ALIAS = "dbt_built"


def build_order(results: list[dict], manifest: dict) -> list[str]:
    """The executed nodes, parents before children (dbt's own order where it has a choice)."""
    executed = [r["unique_id"] for r in results]
    wanted = set(executed)
    parents = {uid: [p for p in manifest["nodes"][uid].get("depends_on", {}).get("nodes", []) if p in wanted] for uid in executed}
    done: set[str] = set()
    order: list[str] = []
    while len(order) < len(executed):
        ready = [uid for uid in executed if uid not in done and all(p in done for p in parents[uid])]
        if not ready:
            raise ValueError(f"a cycle among {sorted(wanted - done)[:5]}")
        order += ready
        done.update(ready)
    return order


def _python_model(connection, relation: str, code: str) -> None:
    con = _configured(connection.cursor())  # dbt-duckdb hands a model a cursor of its own
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code.lstrip())
    spec = importlib.util.spec_from_file_location(Path(f.name).stem, f.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    Path(f.name).unlink()
    df = module.model(module.dbtObj(lambda name: con.query(f"select * from {name}")), con)
    con.register("bare_python_model_df", df)  # as dbt-duckdb's materialize does
    con.execute(f"create table {relation} as select * from bare_python_model_df")
    con.unregister("bare_python_model_df")
    con.close()


def _configured(con):
    for setting in CONNECTION_SETTINGS:
        con.execute(setting)
    return con


def run_bare(target: Path, warehouse: Path, dbt_warehouse: Path, settings: dict | None = None) -> dict:
    """Every node of the build in ``target`` against a new ``warehouse`` (named like dbt's, so the
    compiled code's "warehouse"."main"."x" names resolve). Returns seconds by kind of node and the
    data tests whose failure counts differ from dbt's. ``settings``: the harness's DuckDB options
    (duckdb_memory_limit, duckdb_threads), as the dbt stages got them."""
    import duckdb

    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    by_id = {r["unique_id"]: r for r in results}
    seconds: dict[str, float] = {}
    failures_differ = []
    con = _configured(duckdb.connect(str(warehouse)))
    try:
        if settings and settings.get("duckdb_memory_limit"):
            con.execute(f"set memory_limit = '{settings['duckdb_memory_limit']}'")
        if settings and settings.get("duckdb_threads"):
            con.execute(f"set threads = {int(settings['duckdb_threads'])}")
        con.execute(f"attach '{dbt_warehouse}' as {DBT_ALIAS} (read_only)")
        started = time.perf_counter()
        for uid in build_order(results, manifest):
            node, result = manifest["nodes"][uid], by_id[uid]
            kind, code = uid.split(".")[0], result.get("compiled_code")
            relation = result.get("relation_name") or node.get("relation_name")
            t0 = time.perf_counter()
            if kind == "seed":
                con.execute(f'create table {relation} as select * from {DBT_ALIAS}.main."{node["alias"]}"')
            elif kind == "model" and node.get("language") == "python":
                _python_model(con, relation, code)
            elif kind == "model" and node["config"]["materialized"] == "view":
                con.execute(f"create view {relation} as {code}")
            elif kind == "model" and node["config"]["materialized"] != "ephemeral":
                con.execute(f"create table {relation} as ({code})")
            elif kind == "test":
                failing = con.execute(f"select count(*) from ({code}) dbt_test").fetchone()[0]
                if failing != (result.get("failures") or 0):
                    failures_differ.append([uid.split(".", 2)[-1], failing, result.get("failures")])
            seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - t0
        total = time.perf_counter() - started
        con.execute(f"detach {DBT_ALIAS}")
    finally:
        con.close()
    return {"nodes": len(results), "work_s": round(total, 3), "seconds_by_kind": {k: round(v, 2) for k, v in seconds.items()},
            "test_failures_differ": failures_differ}
