"""The Dagster definitions load, and the asset graph is what the UI should show."""

import os

import dagster as dg

from orchestration.definitions import defs
from retention.ingest import SOURCE_TABLES


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def test_every_landing_table_is_an_asset_grouped_by_source():
    graph = defs.resolve_asset_graph()
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            key = dg.AssetKey(["landing", source, table])
            assert key in graph.get_all_asset_keys(), key
            assert graph.get(key).group_name == source
            assert graph.get(key).partitions_def is not None
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert set(SOURCE_TABLES) <= groups


def test_every_landing_table_has_a_blocking_reconciliation_check():
    graph = defs.resolve_asset_graph()
    check_keys = graph.asset_check_keys
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            check = dg.AssetCheckKey(dg.AssetKey(["landing", source, table]), "counts_reconcile")
            assert check in check_keys


def test_ingest_inbox_lands_only_and_daily_refresh_also_builds_the_warehouse():
    ingest = defs.resolve_job_def("ingest_inbox").asset_layer.executable_asset_keys
    assert ingest and all(key.path[0] == "landing" for key in ingest)
    daily = defs.resolve_job_def("daily_refresh").asset_layer.executable_asset_keys
    assert ingest < daily
    assert {dg.AssetKey("customers"), dg.AssetKey("customer_segments")} <= daily


def test_lineage_runs_from_landing_to_marts():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("stg_shopify__orders")).parent_keys == {dg.AssetKey(["landing", "shopify", "orders"])}
    # Every dbt source is a landing asset: no source floats outside the graph.
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert parent in materializable, f"{key} depends on {parent}, which nothing materializes"
    assert graph.get(dg.AssetKey("customers")).group_name == "marts"


def test_daily_refresh_job_runs_every_day_for_yesterday():
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "daily_refresh"


def test_every_landing_table_must_be_fresh_by_the_morning():
    graph = defs.resolve_asset_graph()
    landing = [key for key in graph.get_all_asset_keys() if key.path[0] == "landing" and key.path[1] != "activation"]
    assert landing
    for key in landing:
        policy = graph.get(key).freshness_policy
        assert policy is not None and policy.deadline_cron == "0 3 * * *", key


# ---------------------------------------------------------------- the wiring

import ast  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from assets.activation import SEND_KEY, SEND_OP  # noqa: E402
from orchestration.definitions import resources  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Processes that run outside Dagster may read the environment, in their `main()` only; and the
# simulator's default output directory, which its command line uses.
ENTRY_POINT_FUNCTIONS = {"main"}
# Dagster reads its planner switch (plan a range run once per asset) from the environment alone;
# the demo sets it around its own runs (orchestration/demo.py)
# and the day a dbt process is started with goes in the environment around dagster-dbt's start of it
# (assets/transform.py, as_of_environment: its vars then stay the same and dbt parses only what changed)
ALLOWED_ENV_WRITES = ("os.environ[PLAN_PER_RANGE_ENV]", "os.environ.update(day)", "os.environ.update({name: value",
                      "os.environ.pop(name)", "os.environ.pop(PLAN_PER_RANGE_ENV")
ALLOWED_ENV_READS = {
    ("retention/store_simulator/config.py", "default_out_dir"),
    # Still read by the library until the engine takes the coupon secret as an argument and the campaign
    # file's path is passed in (their callers and tests live outside the wiring).
    ("retention/activation/campaigns.py", "load_campaigns"),
    ("retention/activation/coupons.py", "coupon_secret"),
    ("retention/activation/coupons.py", "uses_default_secret"),
    # a Python model's day, in the dbt process the pipeline started with it (as the SQL models read it)
    ("retention/dbt_build.py", "model_as_of"),
}


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def environment_reads(tree: ast.AST) -> list[tuple[int, str | None]]:
    """(line, enclosing function) of each `os.environ` / `os.getenv` / `environ` / `getenv` use."""
    reads = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            reads.append((node.lineno, function))
        elif isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
            reads.append((node.lineno, function))
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ("environ", "getenv") for alias in node.names):
            reads.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return reads


def test_every_resource_key_resolves():
    repository = defs.get_repository_def()
    wanted = set()
    for job in repository.get_all_jobs():
        for node in job.graph.iterate_node_defs():
            wanted |= set(getattr(node, "required_resource_keys", ()))
    for definition in [*repository.schedule_defs, *repository.sensor_defs]:
        wanted |= set(definition.required_resource_keys)
    assert wanted - {"io_manager"} <= set(resources), wanted - set(resources)
    assert {"data_dir", "dbt", "shopify", "sendgrid", "twilio", "alert_webhook"} <= wanted
    for key, resource in resources.items():  # each initializes with nothing but the environment
        with dg.build_resources({key: resource}) as built:
            assert getattr(built, key) is not None


def test_assets_never_import_orchestration():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules("assets")
        for name in imported_modules(ast.parse(path.read_text()))
        if name == "orchestration" or name.startswith("orchestration.")
    ]
    assert not offenders, offenders


def test_the_library_neither_imports_dagster_nor_reads_the_environment():
    offenders = []
    for path in modules("retention"):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        offenders += [f"{relative}: imports {name}" for name in imported_modules(tree)
                      if name.split(".")[0] in ("dagster", "dagster_dbt")]
        offenders += [f"{relative}:{line} reads the environment in {function or 'the module'}"
                      for line, function in environment_reads(tree)
                      if function not in ENTRY_POINT_FUNCTIONS and (relative, function) not in ALLOWED_ENV_READS]
    assert not offenders, "\n".join(offenders)


def test_the_send_asset_is_named_for_what_it_does_and_feeds_the_ledger_source():
    assert SEND_KEY == dg.AssetKey(["activation", "send_campaigns"]) and SEND_OP == "activation__send_campaigns"
    assert SEND_OP in defs.resolve_job_def("activate_segments").graph.node_dict
    graph = defs.resolve_asset_graph()
    assert SEND_KEY in graph.get(dg.AssetKey("stg_activation__sends")).parent_keys


def test_a_missing_manifest_names_the_make_target(monkeypatch, tmp_path):
    import assets.resources as wiring

    class Absent:
        manifest_path = tmp_path / "target" / "manifest.json"

    monkeypatch.setattr(wiring, "dbt_project", Absent())
    with pytest.raises(FileNotFoundError, match="make dbt-manifest"):
        wiring.dbt_manifest_path()


def test_dbt_gets_the_data_directory_as_vars_and_the_day_in_its_environment(tmp_path, monkeypatch):
    import json

    from assets.transform import as_of_environment
    from retention.dbt_build import AS_OF_ENV, AS_OF_TIME_ENV, daily_build_args

    monkeypatch.delenv(AS_OF_ENV, raising=False)
    monkeypatch.setenv(AS_OF_TIME_ENV, "set by hand")
    with as_of_environment("2026-07-14", "2026-07-14 15:00:00"):
        assert (os.environ[AS_OF_ENV], os.environ[AS_OF_TIME_ENV]) == ("2026-07-14", "2026-07-14 15:00:00")
    with as_of_environment("2026-07-15"):
        assert (os.environ[AS_OF_ENV], os.environ[AS_OF_TIME_ENV]) == ("2026-07-15", "")
    assert AS_OF_ENV not in os.environ and os.environ[AS_OF_TIME_ENV] == "set by hand"  # as they were
    from retention.intraday import Increment
    from retention.paths import DataDir

    layout = DataDir(tmp_path)
    wanted = {"data_dir": str(tmp_path), "landing_root": str(tmp_path / "landing")}
    daily = daily_build_args(data_dir=layout)
    assert json.loads(daily[daily.index("--vars") + 1]) == wanted
    intraday = Increment.at(datetime(2026, 7, 14, 15, tzinfo=UTC)).dbt_build_args(data_dir=layout)
    assert wanted.items() <= json.loads(intraday[intraday.index("--vars") + 1]).items()
    assert "var('data_dir'" in (ROOT / "dbt_project" / "profiles.yml").read_text()
    for path in [*modules("assets"), *modules("orchestration")]:  # no other change of os.environ
        writes = [line for line in path.read_text().splitlines()
                  if any(write in line for write in ("os.environ[", "os.environ.update", "os.environ.pop"))]
        assert all(any(name in line for name in ALLOWED_ENV_WRITES) for line in writes), (path, writes)


def test_the_dbt_resource_knows_its_dbt_without_starting_it_and_opens_no_adapter(monkeypatch, tmp_path):
    """dagster-dbt ran `dbt --version` (dbt's whole start) and opened a dbt adapter in Dagster's
    process before every build; the project's resource reads the version of the dbt installed
    beside this interpreter, the one `dbt --version` names, and asks only a dbt elsewhere."""
    import subprocess

    import dagster_dbt.core.resource as dagster_dbt_resource

    from assets.resources import dbt_resource

    resource = dbt_resource()
    printed = subprocess.run([resource.dbt_executable, "--version"], capture_output=True, text=True).stdout
    started = []
    monkeypatch.setattr(dagster_dbt_resource, "check_output", lambda args: started.append(args) or b"Core: 1.11.0")
    assert f"installed: {resource._cli_version}" in printed and started == []
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    other = tmp_path / "dbt"  # a dbt of another installation
    other.write_text("#!/bin/sh\necho 'Core: 1.11.0'\n")
    other.chmod(0o755)
    elsewhere = type(resource)(project_dir=resource.project_dir, dbt_executable=str(other))
    assert str(elsewhere._cli_version) == "1.11.0" and started == [[str(other), "--version"]]
