"""The Dagster event log of one daily refresh, stored by Dagster's own SQLite storage and by the
project's (orchestration/event_log.py): the events a `warehouse` build records, one pair per dbt
model (planned, materialized with its row count) and per data test (planned, evaluated), read from
the dbt manifest, then read back to check that both storages hold the same records. And a history
run's materializations (one per landing table and day), stored by the project's event log in a
batch per asset and one at a time."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

RUN_ID = "bench-daily-refresh"


def _storage(kind: str, base_dir: Path):
    if kind == "dagster":
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

        return SqliteEventLogStorage(str(base_dir))
    from orchestration.event_log import OpenSqliteEventLogStorage

    return OpenSqliteEventLogStorage(str(base_dir))


def daily_refresh_events(manifest: dict, partition: str) -> list:
    """(event type, data) for every model and data test of the manifest, in a build's order."""
    import dagster as dg
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation,
        AssetCheckEvaluationPlanned,
    )
    from dagster._core.events import AssetMaterializationPlannedData, DagsterEventType, StepMaterializationData

    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    planned, done = [], []
    for uid, node in models.items():
        key = dg.AssetKey(node["name"])
        planned.append((DagsterEventType.ASSET_MATERIALIZATION_PLANNED, AssetMaterializationPlannedData(key, partition)))
        done.append((DagsterEventType.ASSET_MATERIALIZATION, StepMaterializationData(dg.AssetMaterialization(
            asset_key=key, partition=partition, metadata={"unique_id": uid, "as_of": partition,
                                                          "dagster/row_count": len(uid)}))))
    for test in tests:
        parent = models.get(test.get("attached_node") or "")
        if parent is None:
            continue
        key = dg.AssetKey(parent["name"])
        planned.append((DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
                        AssetCheckEvaluationPlanned(asset_key=key, check_name=test["name"])))
        done.append((DagsterEventType.ASSET_CHECK_EVALUATION, AssetCheckEvaluation(
            asset_key=key, check_name=test["name"], passed=True, metadata={"unique_id": test["unique_id"]})))
    return planned + done


def _entry(run_id: str, job: str, event_type, data):
    """An event as a run's step hands it to the event log."""
    from dagster._core.events import DagsterEvent
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(),
                         dagster_event=DagsterEvent(event_type.value, job, event_specific_data=data))


def store_daily_refresh(kind: str, base_dir: Path, manifest_path: Path, partition: str = "2026-01-01") -> dict:
    """Store one daily refresh's events through storage ``kind``; seconds, events per second and
    what reads back (per event type, and the assets materialized)."""
    events = daily_refresh_events(json.loads(Path(manifest_path).read_text()), partition)
    storage = _storage(kind, base_dir)
    started = time.perf_counter()
    for event_type, data in events:
        storage.store_event(_entry(RUN_ID, "daily_refresh", event_type, data))
    seconds = time.perf_counter() - started
    records = storage.get_records_for_run(RUN_ID, limit=len(events) + 1).records
    read_back = Counter(r.event_log_entry.dagster_event.event_type_value for r in records)
    materialized = sorted(key.to_user_string() for key in storage.all_asset_keys())
    storage.dispose()
    return {"storage": kind, "events": len(events), "seconds": round(seconds, 3),
            "ms_per_event": round(1000 * seconds / max(len(events), 1), 2),
            "events_per_second": round(len(events) / max(seconds, 1e-9), 1),
            "read_back": dict(sorted(read_back.items())), "assets": materialized}


def range_materializations(days: list[str]) -> dict:
    """A history run's materializations (Dagster records one per asset and partition): each landing
    table's, one per day, as a range run hands them to the event log."""
    import dagster as dg
    from dagster._core.events import DagsterEventType, StepMaterializationData

    from retention.ingest import SOURCE_TABLES

    def entry(key: dg.AssetKey, day: str):
        materialization = dg.AssetMaterialization(asset_key=key, partition=day, metadata={"days": len(days)})
        return _entry(RANGE_RUN_ID, "ingest_inbox", DagsterEventType.ASSET_MATERIALIZATION,
                      StepMaterializationData(materialization))

    keys = [dg.AssetKey(["landing", source, table]) for source, tables in SOURCE_TABLES.items() for table in tables]
    return {key: [entry(key, day) for day in days] for key in keys}


RANGE_RUN_ID = "bench-history-range"


def store_history_range(mode: str, base_dir: Path, days: list[str]) -> dict:
    """Store a history run's materializations through the project's event log, ``batched`` (one
    batch per asset, as with DAGSTER_EVENT_BATCH_SIZE set) or ``one_by_one``; seconds and what
    reads back (records of the run, each asset's partitions and latest partition)."""
    from orchestration.event_log import OpenSqliteEventLogStorage

    by_asset = range_materializations(days)
    storage = OpenSqliteEventLogStorage(str(base_dir))
    started = time.perf_counter()
    for events in by_asset.values():
        if mode == "batched":
            storage.store_event_batch(events)
        else:
            for event in events:
                storage.store_event(event)
    seconds = time.perf_counter() - started
    events = sum(len(e) for e in by_asset.values())
    records = storage.get_records_for_run(RANGE_RUN_ID, limit=events + 1).records
    latest = storage.get_latest_materialization_events(list(by_asset))
    read_back = {key.to_user_string(): [len(storage.get_materialized_partitions(key)),
                                        latest[key].dagster_event.partition] for key in by_asset}
    storage.dispose()
    return {"mode": mode, "events": events, "seconds": round(seconds, 3),
            "ms_per_event": round(1000 * seconds / max(events, 1), 3),
            "events_per_second": round(events / max(seconds, 1e-9), 1), "records": len(records),
            "read_back": read_back}
