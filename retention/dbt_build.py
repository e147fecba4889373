"""The arguments and environment of the daily warehouse build, shared by the Dagster assets, the
benchmark and the tests.

dbt's unit tests check the models' logic on fixed inputs, not the day's data, so they run with the
test suite (``make test``), not in every daily build: there they cost a fifth of the build's time at
10,000 customers and tell nothing new about the day. Data tests (keys, accepted values, freshness)
still run every day.

The day (and an intraday increment's instant) goes to dbt in the environment, not in ``--vars``:
dbt parses the whole project again whenever the vars differ from its last parse, about 16 s a
build, and the data directory's vars stay the same from one day to the next. The macros read the
environment when executing only (macros/as_of.sql), so the parse does not depend on the day. A
build in the data directory's own dbt target (``dbt_target_path``) then parses only what changed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from retention.paths import DATA_DIR_ENV, DataDir

DAILY_EXCLUDE = ("test_type:unit",)
AS_OF_ENV, AS_OF_TIME_ENV = "RETENTION_AS_OF", "RETENTION_AS_OF_TIME"
DEFAULT_AS_OF = "2026-01-01"  # as macros/as_of.sql: a run given no day at all


def as_of_env(as_of: date | str, as_of_time: str | None = None) -> dict[str, str]:
    """The environment that tells a dbt process the day (and the intraday instant, else none)."""
    return {AS_OF_ENV: str(as_of), AS_OF_TIME_ENV: as_of_time or ""}


def model_as_of(configured: str | None) -> date:
    """A Python model's as_of, as the SQL models read it (macros/as_of.sql, run_as_of): its config's
    ``as_of`` (var as_of) when given, else the environment of the dbt process it runs in. The model
    itself calls ``dbt.config.get("as_of")``: dbt hands a Python model only the config keys its own
    code asks for (dbt-spark's generated code carries no others)."""
    return date.fromisoformat(str(configured or os.environ.get(AS_OF_ENV) or DEFAULT_AS_OF)[:10])


def dbt_target_path(data_dir: DataDir) -> Path:
    """The data directory's own dbt target: its last parse (partial_parse.msgpack) was made with the
    same profile and vars as the next build's, so that build parses only the files that changed."""
    return data_dir.root / "dbt_target"


def dbt_cli(args: Sequence[str], data_root: Path, project: Path, state_root: Path | None = None,
            environment: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The command of the dbt CLI (this interpreter's environment's) on the store at ``data_root``,
    and what its process's environment must add to the caller's: the day and other settings from
    ``environment`` (``as_of_env``). dbt's target and logs are kept in ``state_root`` (default: the
    store; a sibling copy shares its store's parse)."""
    state = DataDir(Path(state_root or data_root))
    cmd = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(project), "--profiles-dir",
           str(project), "--target-path", str(dbt_target_path(state)), "--log-path", str(state.root / "dbt_logs")]
    return cmd, {**(environment or {}), DATA_DIR_ENV: str(data_root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def data_dir_vars(data_dir: DataDir | None, warehouse: Path | None = None) -> dict[str, str]:
    """The dbt vars that point dbt at a data directory: ``data_dir`` (profiles.yml: the warehouse)
    and ``landing_root`` (the sources); ``warehouse``, when given, is the database file dbt writes
    instead of the data directory's (the copy a build works on, retention/warehouse_swap.py).
    They stay the same from one build of the data directory to the next, so they do not defeat
    partial parsing. Without a data directory, dbt falls back to ``$RETENTION_DATA_DIR`` (or
    ``../data``) as before."""
    chosen = {} if warehouse is None else {"warehouse": str(warehouse)}
    if data_dir is None:
        return chosen
    return {"data_dir": str(data_dir.root), "landing_root": str(data_dir.landing), **chosen}


def daily_build_args(full_refresh: bool = False, data_dir: DataDir | None = None,
                     warehouse: Path | None = None) -> list[str]:
    """``dbt build`` without the unit tests; the day comes from ``as_of_env``."""
    build_vars = data_dir_vars(data_dir, warehouse)
    args = ["build", "--exclude", *DAILY_EXCLUDE] + (["--vars", json.dumps(build_vars)] if build_vars else [])
    return args + (["--full-refresh"] if full_refresh else [])
