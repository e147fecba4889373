"""The instance's event log on SQLite with its connections kept open (orchestration/event_log.py):
the same files as Dagster's default, every event readable by another instance, nothing written
after a wipe, and a forked process on its own connections."""

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry

from orchestration.event_log import OPEN_FILES, OpenSqliteEventLogStorage
from tests.warehouse_fixtures import write_instance_yaml

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-01-06")


@dg.asset(partitions_def=DAYS)
def landed(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"day": context.partition_key})


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("RETENTION_DAGSTER_PG_HOST", raising=False)
    write_instance_yaml(tmp_path)
    return tmp_path


def materialization(run_id: str, key: str, partition: str, tags: dict | None = None) -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "job",
                         event_specific_data=StepMaterializationData(
                             dg.AssetMaterialization(asset_key=key, partition=partition, tags=tags)))
    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(),
                         dagster_event=event)


def test_the_instance_the_makefile_writes_keeps_its_event_log_where_dagster_does(home):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, OpenSqliteEventLogStorage)
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        result = dg.materialize([landed], instance=instance, partition_key="2025-01-03")
        assert result.success
    assert (home / "history" / "runs" / f"{result.run_id}.db").exists()
    assert (home / "history" / "runs" / "index.db").exists()


def test_every_event_of_a_run_is_read_back_by_another_instance(home):
    with dg.DagsterInstance.from_config(str(home)) as writer:
        results = [dg.materialize([landed], instance=writer, partition_key=day)
                   for day in DAYS.get_partition_keys()]
        written = {r.run_id: len(writer.all_logs(r.run_id)) for r in results}
    # a second instance, as the UI or the daemon opens one, reads the same files
    with dg.DagsterInstance.from_config(str(home)) as reader:
        assert {run_id: len(reader.all_logs(run_id)) for run_id in written} == written
        record = reader.get_latest_materialization_event(dg.AssetKey("landed"))
        assert record.asset_materialization.partition == DAYS.get_partition_keys()[-1]
        status = reader.get_materialized_partitions(dg.AssetKey("landed"))
        assert status == set(DAYS.get_partition_keys())


def test_only_the_most_recently_used_files_stay_open_and_the_others_still_read(tmp_path):
    storage = OpenSqliteEventLogStorage(str(tmp_path))
    runs = [f"run{n}" for n in range(OPEN_FILES + 3)]
    for run_id in runs:
        storage.store_event(materialization(run_id, "a", run_id))
    assert len(storage._engines) == OPEN_FILES
    assert all(len(storage.get_records_for_run(run_id).records) == 1 for run_id in runs)
    storage.dispose()
    assert not storage._engines


def test_a_wipe_closes_the_files_it_deletes_and_later_events_land_in_new_ones(tmp_path):
    storage = OpenSqliteEventLogStorage(str(tmp_path))
    storage.store_event(materialization("before", "a", "1"))
    storage.wipe()
    assert not (tmp_path / "before.db").exists()
    storage.store_event(materialization("after", "a", "2"))
    assert (tmp_path / "after.db").exists()
    assert len(storage.get_records_for_run("after").records) == 1
    assert storage.get_records_for_run("before").records == []


def test_a_forked_process_writes_through_its_own_connections(tmp_path):
    storage = OpenSqliteEventLogStorage(str(tmp_path))
    storage.store_event(materialization("shared", "a", "parent"))
    pid = os.fork()
    if pid == 0:  # the child: the parent's open connection must not be used here
        try:
            storage.store_event(materialization("shared", "a", "child"))
            os._exit(0 if storage._pid == os.getpid() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    storage.store_event(materialization("shared", "a", "parent again"))
    partitions = [r.event_log_entry.dagster_event.partition for r in storage.get_records_for_run("shared").records]
    assert partitions == ["parent", "child", "parent again"]


def test_a_table_found_once_is_not_looked_up_again_and_tags_are_still_indexed(tmp_path, monkeypatch):
    """Dagster asks whether its tag table exists before each tagged materialization, through a new
    engine every time, and reads the asset table's columns before each asset event; the storage
    asks the file once and remembers what it found, not what it did not."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    asked = []
    looked_up, read_columns = SqliteEventLogStorage.has_table, SqliteEventLogStorage._has_asset_key_index_cols_on_connection
    monkeypatch.setattr(SqliteEventLogStorage, "has_table", lambda self, name: asked.append(name) or looked_up(self, name))
    monkeypatch.setattr(SqliteEventLogStorage, "_has_asset_key_index_cols_on_connection",
                        lambda self, conn: asked.append("columns") or read_columns(self, conn))
    storage = OpenSqliteEventLogStorage(str(tmp_path))
    for n in range(5):
        storage.store_event(materialization("tagged", "a", str(n), tags={DATA_VERSION_TAG: f"v{n}"}))
    assert asked.count("asset_event_tags") == 1 and asked.count("columns") == 1
    tags = storage.get_event_tags_for_asset(dg.AssetKey("a"))
    assert sorted(t[DATA_VERSION_TAG] for t in tags) == [f"v{n}" for n in range(5)]
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert asked.count("no_such_table") == 2  # an absent table may be added later: not remembered
