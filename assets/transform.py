"""The warehouse: dbt models on DuckDB, built as of the partition's day.

Sources map to the landing assets through `meta.dagster.asset_key`, so the lineage runs from
inbox to mart; dbt tests become asset checks. dbt is the only writer of the warehouse and
runs in the `warehouse` pool (size one), so the UI, sensors and runs never contend for the
DuckDB lock. Row counts are read after dbt has exited, read-only, for the same reason.
"""

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from assets.models import prediction_metadata
from orchestration.partitions import daily_partitions
from orchestration.resources import DataDirResource
from retention.dbt_build import daily_build_args
from retention.paths import DATA_DIR_ENV

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [p for pattern in ("*.yml", "models/**/*", "macros/**/*", "tests/**/*") for p in DBT_PROJECT_DIR.glob(pattern)]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


class RetentionDbtTranslator(DagsterDbtTranslator):
    """Models group by layer (staging, intermediate, marts); sources keep their landing keys."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_group_name(dbt_resource_props)
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"


def dbt_resource() -> DbtCliResource:
    # The dbt that sits beside this interpreter, whether or not the virtualenv is activated.
    executable = Path(sys.executable).parent / "dbt"
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(executable) if executable.exists() else "dbt")


# `dbt parse` when the project changed since the manifest was written (a fresh clone has none).
if _manifest_is_stale(dbt_project):
    dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


translator = RetentionDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def row_counts(warehouse: Path, relations: dict[dg.AssetKey, str]) -> dict[dg.AssetKey, int]:
    if not warehouse.exists() or not relations:
        return {}
    counts = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for key, relation in relations.items():
            try:
                counts[key] = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
            except duckdb.Error:
                continue  # ephemeral models and tests have no relation
    return counts


def dbt_relations(manifest: dict[str, Any]) -> dict[str, str]:
    """dbt unique id -> the relation it builds (schema.alias) for models and snapshots."""
    return {
        unique_id: f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "snapshot", "seed")
        and node.get("config", {}).get("materialized") != "ephemeral"
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
)
def warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_dir: DataDirResource) -> Iterator[Any]:
    """`dbt build` as of each day of the partition range, in order (incremental models need it).
    Unit tests run with the test suite, not daily (retention/dbt_build.py)."""
    layout = data_dir.layout
    # profiles.yml and the sources read the data directory from the environment of the dbt process.
    os.environ[DATA_DIR_ENV] = str(layout.root)
    manifest = json.loads(dbt_project.manifest_path.read_text())
    relations = dbt_relations(manifest)
    keys = context.partition_keys
    for index, day in enumerate(keys):
        invocation = dbt.cli(daily_build_args(day), context=context)
        events = list(invocation.stream())
        if index < len(keys) - 1:
            continue  # one materialization per asset covers the whole range: report the last day's
        wanted = {
            context.asset_key_for_output(event.output_name): relations[event.metadata["unique_id"].value]
            for event in events
            if isinstance(event, dg.Output) and event.metadata.get("unique_id") and event.metadata["unique_id"].value in relations
        }
        counts = row_counts(layout.warehouse, wanted)
        extra = prediction_metadata(layout.warehouse)
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                metadata = {"as_of": day, **extra.get(key, {})}
                if key in counts:
                    metadata["dagster/row_count"] = counts[key]
                yield event.with_metadata({**event.metadata, **metadata})
            else:
                yield event
