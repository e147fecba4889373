"""The Dagster instance on Postgres: ``make`` writes dagster.yaml with ``dagster.postgres.yaml`` when
RETENTION_DAGSTER_PG_HOST is set; a run materialized on that instance is read back by another
instance opened from the same yaml (what a second machine sees), and nothing stored names the password."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dagster as dg
import pandas as pd
import psycopg
import pytest

from tests.warehouse_fixtures import write_instance_yaml

PG_ENV = "RETENTION_DAGSTER_PG_"  # _HOST (selects Postgres), _PORT, _USER, _PASSWORD, _DB


def instance_settings(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {f"{PG_ENV}HOST": parts.hostname, f"{PG_ENV}PORT": str(parts.port), f"{PG_ENV}USER": parts.username,
            f"{PG_ENV}PASSWORD": parts.password, f"{PG_ENV}DB": parts.path.lstrip("/")}



def test_without_the_setting_the_instance_stays_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.delenv(f"{PG_ENV}HOST", raising=False)
    text = write_instance_yaml(tmp_path, dict(os.environ))
    assert "postgres" not in text.replace("dagster.postgres.yaml", "")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"


def test_a_run_on_the_postgres_instance_is_read_back_by_another_instance(tmp_path, monkeypatch, postgres_url):
    for name, value in instance_settings(postgres_url).items():
        monkeypatch.setenv(name, value)
    text = write_instance_yaml(tmp_path, dict(os.environ))
    password = urlsplit(postgres_url).password
    assert "env: RETENTION_DAGSTER_PG_PASSWORD" in text and password not in text

    @dg.asset
    def landed_orders() -> dg.MaterializeResult:
        frame = pd.DataFrame({"order_id": [1, 2, 3], "cents": [1200, 850, 4300]})
        frame.to_parquet(tmp_path / "orders.parquet")
        return dg.MaterializeResult(metadata={"rows": len(frame)})

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([landed_orders], instance=instance)
        assert result.success

    with dg.DagsterInstance.from_config(str(tmp_path)) as other:  # a fresh instance: only the database remembers
        run = other.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        event = other.get_latest_materialization_event(dg.AssetKey("landed_orders"))
        assert event.run_id == result.run_id
        assert event.asset_materialization.metadata["rows"].value == 3

    with psycopg.connect(postgres_url) as conn:  # really stored in Postgres, with no trace of the password
        assert conn.execute("SELECT count(*) FROM runs WHERE run_id = %s", (result.run_id,)).fetchone()[0] == 1
        stored = conn.execute("SELECT count(*) FROM event_logs WHERE event LIKE %s", (f"%{password}%",)).fetchone()[0]
        assert stored == 0
    assert pd.read_parquet(tmp_path / "orders.parquet")["cents"].sum() == 6350


def test_a_range_run_s_batched_materializations_are_all_stored_in_postgres(tmp_path, monkeypatch, postgres_url):
    """With Dagster's batches on (orchestration/definitions.py), a run over four days hands Dagster's
    Postgres event log one batch per asset: every partition reads back, the last one latest."""
    from dagster_postgres.event_log import PostgresEventLogStorage

    from tests.test_event_log import RANGE, landed_range

    batches = []
    store_batch = PostgresEventLogStorage.store_event_batch
    monkeypatch.setattr(PostgresEventLogStorage, "store_event_batch", lambda self, events: batches.append(
        [e.dagster_event_type for e in events].count(dg.DagsterEventType.ASSET_MATERIALIZATION)) or store_batch(self, events))
    for name, value in instance_settings(postgres_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    write_instance_yaml(tmp_path, dict(os.environ))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        result = dg.materialize([landed_range], instance=instance, tags=RANGE)
        assert result.success
    days = {"2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"}
    with dg.DagsterInstance.from_config(str(tmp_path)) as other:
        for key in ("orders", "customers"):
            assert other.get_materialized_partitions(dg.AssetKey(key)) >= days
            latest = other.get_latest_materialization_event(dg.AssetKey(key))
            assert (latest.run_id, latest.dagster_event.partition) == (result.run_id, "2025-01-05")
        materialized = [r for r in other.get_records_for_run(result.run_id).records
                        if r.event_log_entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
        assert len(materialized) == 8
    assert batches.count(4) == 2  # one batch per asset


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the instance comes from the test's own directory
