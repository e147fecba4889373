"""DuckDB's memory limit is chosen from the machine for every connection, dbt's included; the
environment overrides it for dbt, a caller's overrides for the library's connections."""

from __future__ import annotations

import json

import duckdb
import pytest

from retention.duckdb_config import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV, TEMP_DIRECTORY_ENV, THREADS_ENV, connect
from tests.warehouse_fixtures import run_dbt

SETTINGS_SQL = "select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads"


def limit_of(value: str) -> str:
    """What DuckDB makes of a memory limit on this machine (it prints it in its own units)."""
    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{value}'")
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


@pytest.fixture
def clean_env(monkeypatch):
    for name in (MEMORY_LIMIT_ENV, THREADS_ENV, TEMP_DIRECTORY_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_connection_takes_an_eighth_of_the_memory_duckdb_sees_not_its_80_percent(clean_env, tmp_path):
    with duckdb.connect() as con:
        duckdb_default = con.execute("select current_setting('memory_limit')").fetchone()[0]
    with connect(tmp_path / "w.duckdb") as con:
        chosen = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert chosen == limit_of(DEFAULT_MEMORY_LIMIT) != duckdb_default


def test_overrides_set_the_limit_the_threads_and_the_spill_directory(clean_env, tmp_path):
    overrides = {MEMORY_LIMIT_ENV: "1GB", THREADS_ENV: "1", TEMP_DIRECTORY_ENV: str(tmp_path / "spill")}
    with connect(overrides=overrides) as con:
        limit, threads, spill = con.execute(
            "select current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')").fetchone()
    assert (limit, threads, spill) == (limit_of("1GB"), 1, str(tmp_path / "spill"))


def test_an_in_memory_connection_spills_into_the_temporary_directory_not_the_working_one(clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    with connect() as con:
        spill = con.execute("select current_setting('temp_directory')").fetchone()[0]
    assert not spill.startswith(str(tmp_path)) and spill.endswith("retention-duckdb")


def test_a_file_already_open_in_the_process_still_opens(clean_env, tmp_path):
    """DuckDB refuses a second connection to a file with another ``config``: the limit is SET after
    connecting, so a reader that opened the file plainly does not break the pipeline's connection."""
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create table t as select 1 as a")
    with duckdb.connect(str(database), read_only=True) as plain, connect(database, read_only=True) as ours:
        assert ours.execute("select a from t").fetchall() == plain.execute("select a from t").fetchall() == [(1,)]


def test_the_library_takes_no_setting_from_the_environment(clean_env):
    clean_env.setenv(MEMORY_LIMIT_ENV, "1GB")
    with connect() as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limit_of(DEFAULT_MEMORY_LIMIT)


def test_a_value_with_a_quote_is_a_literal_not_sql(clean_env):
    with pytest.raises(duckdb.Error):  # DuckDB cannot parse it as a size: refused, nothing executed
        connect(overrides={MEMORY_LIMIT_ENV: "1GB'; drop table x; --"})


def test_dbt_builds_with_the_same_default_and_the_same_override(clean_env, tmp_path):
    """profiles.yml cannot import retention.duckdb_config: this keeps the two equal."""
    def dbt_settings() -> dict:
        proc = run_dbt(tmp_path, "show", "--inline", SETTINGS_SQL, "--output", "json", "--log-format", "text")
        text = proc.stdout
        return json.loads(text[text.index("{"):text.rindex("}") + 1])["show"][0]

    assert dbt_settings()["memory_limit"] == limit_of(DEFAULT_MEMORY_LIMIT)
    clean_env.setenv(MEMORY_LIMIT_ENV, "1GB")
    clean_env.setenv(THREADS_ENV, "1")
    assert dbt_settings() == {"memory_limit": limit_of("1GB"), "threads": 1}
