"""The warehouse: dbt models on DuckDB, built as of the partition's day.

Sources map to the landing assets through `meta.dagster.asset_key`, so the lineage runs from
inbox to mart; dbt tests become asset checks. dbt is the only writer of the warehouse: it builds
a copy that replaces the warehouse atomically when the build succeeded, so readers always see one
whole day (retention/warehouse_swap.py). Builds run in the `warehouse` pool (size one). Row counts
are read after dbt has exited, read-only, from the warehouse the build swapped in.
"""

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from assets.models import prediction_metadata
from assets.partitions import daily_partitions
from assets.resources import DataDirResource, dbt_manifest_path, dbt_project
from retention.dbt_build import as_of_env, daily_build_args, dbt_target_path
from retention.duckdb_config import connect
from retention.paths import DataDir
from retention.warehouse_swap import warehouse_build


class RetentionDbtTranslator(DagsterDbtTranslator):
    """Models group by layer (staging, intermediate, marts); sources keep their landing keys."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_group_name(dbt_resource_props)
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"


translator = RetentionDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def row_counts(warehouse: Path, relations: dict[dg.AssetKey, str]) -> dict[dg.AssetKey, int]:
    if not warehouse.exists() or not relations:
        return {}
    counts = {}
    with connect(warehouse, read_only=True) as con:
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


_DBT_DAY = threading.Lock()


@contextlib.contextmanager
def as_of_environment(as_of: str, as_of_time: str | None = None) -> Iterator[None]:
    """Within: this process's environment carries ``as_of_env`` for a dbt process started here.
    dagster-dbt's ``DbtCliResource.cli`` starts dbt with a copy of the running process's environment
    and takes none of its own; the lock keeps two threads' days apart."""
    day = as_of_env(as_of, as_of_time)
    with _DBT_DAY:
        saved = {name: os.environ.get(name) for name in day}
        os.environ.update(day)
        try:
            yield
        finally:
            os.environ.update({name: value for name, value in saved.items() if value is not None})
            for name in [name for name, value in saved.items() if value is None]:
                os.environ.pop(name)


def dbt_build_events(dbt: DbtCliResource, args: list[str], layout: DataDir, as_of: str,
                     as_of_time: str | None = None, **cli: Any) -> list[Any]:
    """dbt's events of one build as of ``as_of`` (and an increment's ``as_of_time``), in the data
    directory's own dbt target: the day goes in the environment, so dbt parses only what changed
    since the last build (retention/dbt_build.py)."""
    with as_of_environment(as_of, as_of_time):
        invocation = dbt.cli(args, target_path=dbt_target_path(layout), **cli)
    return list(invocation.stream())


def with_build_metadata(events: Iterable[Any], warehouse: Path, stamp: dict[str, str],
                        asset_key: Callable[[Any], dg.AssetKey | None]) -> Iterator[Any]:
    """dbt's events of one build, each materialization (``asset_key`` of the event, None for the
    rest) with the ``stamp`` (as_of, as_of_time), its row count and the prediction models' metadata.
    Everything is read after dbt has exited, read-only: the daily `warehouse` asset and the intraday
    `build_trigger_audiences` op both report through here."""
    events = list(events)
    relations = dbt_relations(json.loads(dbt_project.manifest_path.read_text()))
    wanted = {}
    for event in events:
        key = asset_key(event)
        unique_id = event.metadata.get("unique_id") if key is not None else None
        if unique_id and unique_id.value in relations:
            wanted[key] = relations[unique_id.value]
    counts = row_counts(warehouse, wanted)
    extra = prediction_metadata(warehouse)
    for event in events:
        key = asset_key(event)
        if key is None:
            yield event
            continue
        metadata = {**stamp, **extra.get(key, {})}
        if key in counts:
            metadata["dagster/row_count"] = counts[key]
        yield event.with_metadata({**event.metadata, **metadata})


@dbt_assets(
    manifest=dbt_manifest_path(),
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
    keys = context.partition_keys
    for index, day in enumerate(keys):
        # each day is built into a copy that replaces the warehouse when dbt succeeded
        # (retention/warehouse_swap.py); the data directory goes to dbt as vars (retention/dbt_build.py)
        with warehouse_build(layout.warehouse) as staging:
            events = dbt_build_events(dbt, daily_build_args(data_dir=layout, warehouse=staging), layout, day,
                                      context=context)
        if index < len(keys) - 1:
            continue  # one materialization per asset covers the whole range: report the last day's
        yield from with_build_metadata(
            events, layout.warehouse, {"as_of": day},
            lambda event: context.asset_key_for_output(event.output_name) if isinstance(event, dg.Output) else None,
        )
