"""How much memory DuckDB may take, and where it spills: one setting for every connection.

DuckDB's own default is 80% of the machine's memory. A build takes what it is allowed, not what
it needs: at L (1M customers) the full refresh peaked at 20 GB by default and passed within a
4 GB limit (bench/RESULTS.md). The pipeline shares its machine with Dagster, a second build thread
and the reader of a report, so the default is an eighth of the memory DuckDB sees (it reads the
cgroup's limit when a container has one): 3 GiB on 24 GiB. DuckDB spills what does not fit to
its temporary directory. dbt_project/profiles.yml gives dbt the same default (it cannot import
this module; a test keeps the two equal), and there ``RETENTION_DUCKDB_MEMORY_LIMIT`` (``4GB``,
``25%``), ``RETENTION_DUCKDB_THREADS`` and ``RETENTION_DUCKDB_TEMP_DIRECTORY`` override it: the
builds are what needs the memory. The library reads no environment; a caller that wants the same
overrides passes them (``overrides``, keyed by those names).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb

MEMORY_LIMIT_ENV = "RETENTION_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "RETENTION_DUCKDB_THREADS"
TEMP_DIRECTORY_ENV = "RETENTION_DUCKDB_TEMP_DIRECTORY"
DEFAULT_MEMORY_LIMIT = "12.5%"  # of the memory DuckDB sees; DuckDB turns it into bytes


def settings(database: str | os.PathLike | None = None, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configuration of a connection. A database file spills beside itself (DuckDB's
    ``<file>.tmp``); an in-memory one would spill into the working directory, so it spills into
    the system's temporary directory instead."""
    env = overrides or {}
    chosen = {"memory_limit": env.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT}
    if env.get(THREADS_ENV):
        chosen["threads"] = env[THREADS_ENV]
    if env.get(TEMP_DIRECTORY_ENV):
        chosen["temp_directory"] = env[TEMP_DIRECTORY_ENV]
    elif database is None:
        chosen["temp_directory"] = str(Path(tempfile.gettempdir()) / "retention-duckdb")
    return chosen


def connect(database: str | os.PathLike | None = None, read_only: bool = False,
            overrides: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with the pipeline's memory limit; no database: an in-memory one.

    The settings are SET after connecting, not passed as ``config``: DuckDB refuses a second
    connection to a file the process already has open with another configuration, and a SET
    applies to the database every connection of the process shares."""
    con = duckdb.connect(str(database) if database is not None else ":memory:", read_only=read_only)
    for name, value in settings(database, overrides).items():
        quoted = value.replace("'", "''")  # a value from the environment is a literal, never SQL
        con.execute(f"SET {name} = '{quoted}'")
    return con
