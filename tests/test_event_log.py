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


RANGE = {"dagster/asset_partition_range_start": "2025-01-02", "dagster/asset_partition_range_end": "2025-01-05"}


@dg.multi_asset(specs=[dg.AssetSpec("orders"), dg.AssetSpec("customers")], partitions_def=DAYS,
                backfill_policy=dg.BackfillPolicy.single_run())
def landed_range(context: dg.AssetExecutionContext):
    for key in ("orders", "customers"):
        yield dg.MaterializeResult(asset_key=key, metadata={"days": len(context.partition_keys)})


def range_run(home: Path) -> dict:
    """One run over four days of two assets, and what another instance reads back of it."""
    with dg.DagsterInstance.from_config(str(home)) as writer:
        result = dg.materialize([landed_range], instance=writer, tags=RANGE)
        assert result.success
    with dg.DagsterInstance.from_config(str(home)) as reader:
        records = reader.get_records_for_run(result.run_id).records
        return {
            "events": [(r.event_log_entry.dagster_event_type, str(r.event_log_entry.dagster_event.asset_key),
                        r.event_log_entry.dagster_event.partition)
                       for r in records if r.event_log_entry.dagster_event_type in (
                           DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED)],
            "materialized": {key: reader.get_materialized_partitions(dg.AssetKey(key)) for key in ("orders", "customers")},
            "latest": {key: (reader.get_latest_materialization_event(dg.AssetKey(key)).dagster_event.partition,
                             reader.get_latest_materialization_event(dg.AssetKey(key)).run_id == result.run_id)
                       for key in ("orders", "customers")},
            "by_partition": {key: sorted(r.partition_key for r in reader.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=["2025-01-03", "2025-01-05"]),
                limit=10).records) for key in ("orders", "customers")},
        }


def test_a_range_run_writes_each_asset_s_partitions_as_one_batch_and_reads_back_as_one_at_a_time(
        tmp_path, monkeypatch):
    """With Dagster's batch size set (orchestration/definitions.py), a run over four days hands the
    event log one batch per asset, written in one transaction per file; another instance reads the
    run, the asset's partitions and its latest materialization exactly as when written one by one."""
    monkeypatch.delenv("RETENTION_DAGSTER_PG_HOST", raising=False)
    batches = []
    store_batch = OpenSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(OpenSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: batches.append({e.dagster_event_type for e in events} == {
                            DagsterEventType.ASSET_MATERIALIZATION} and len(events)) or store_batch(self, events))
    read = {}
    for size in ("0", "1000"):
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", size)
        write_instance_yaml(tmp_path / size)
        read[size] = range_run(tmp_path / size)
    # none while the size was 0; then the planned events (one at a time: two assets) and a batch per asset
    assert batches == [False, 4, 4]
    assert read["1000"] == read["0"]
    days = ["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"]
    assert read["1000"]["materialized"] == {"orders": set(days), "customers": set(days)}
    assert read["1000"]["latest"] == {"orders": ("2025-01-05", True), "customers": ("2025-01-05", True)}
    assert read["1000"]["by_partition"] == {"orders": ["2025-01-03", "2025-01-05"], "customers": ["2025-01-03", "2025-01-05"]}


def test_a_batch_it_cannot_write_at_once_is_written_one_event_at_a_time(tmp_path):
    """Two assets' events in one batch (Dagster batches one asset's), or two runs': each event is
    stored as store_event would, tags included."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    storage = OpenSqliteEventLogStorage(str(tmp_path))
    storage.store_event_batch([materialization("one", "a", "1", tags={DATA_VERSION_TAG: "v1"}),
                               materialization("one", "b", "1"), materialization("two", "a", "2")])
    storage.store_event_batch([materialization("one", "a", "3", tags={DATA_VERSION_TAG: "v3"}),
                               materialization("one", "a", "4", tags={DATA_VERSION_TAG: "v4"})])
    partitions = {run: [(str(r.event_log_entry.dagster_event.asset_key.path[0]), r.event_log_entry.dagster_event.partition)
                        for r in storage.get_records_for_run(run).records] for run in ("one", "two")}
    assert partitions == {"one": [("a", "1"), ("b", "1"), ("a", "3"), ("a", "4")], "two": [("a", "2")]}
    assert storage.get_materialized_partitions(dg.AssetKey("a")) == {"1", "2", "3", "4"}
    tags = storage.get_event_tags_for_asset(dg.AssetKey("a"))
    assert sorted(t[DATA_VERSION_TAG] for t in tags) == ["v1", "v3", "v4"]
    assert storage.get_latest_materialization_events([dg.AssetKey("a")])[dg.AssetKey("a")].dagster_event.partition == "4"


def test_the_definitions_turn_dagster_s_batches_on_unless_the_environment_chose():
    import subprocess
    import sys

    code = "import os, orchestration.definitions; print(os.environ['DAGSTER_EVENT_BATCH_SIZE'])"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_EVENT_BATCH_SIZE"}
    chosen = [subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, check=True,
                             cwd=Path(__file__).parents[1]).stdout.strip()
              for e in (env, {**env, "DAGSTER_EVENT_BATCH_SIZE": "0"})]
    assert chosen == ["1000", "0"]
