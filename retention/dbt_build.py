"""The arguments of the daily warehouse build, shared by the Dagster asset and the benchmark.

dbt's unit tests check the models' logic on fixed inputs, not the day's data, so they run with the
test suite (``make test``), not in every daily build: there they cost a fifth of the build's time at
10,000 customers and tell nothing new about the day. Data tests (keys, accepted values, freshness)
still run every day.
"""

from __future__ import annotations

import json
from pathlib import Path

from retention.paths import DataDir

DAILY_EXCLUDE = ("test_type:unit",)


def data_dir_vars(data_dir: DataDir | None, warehouse: Path | None = None) -> dict[str, str]:
    """The dbt vars that point dbt at a data directory: ``data_dir`` (profiles.yml: the warehouse)
    and ``landing_root`` (the sources); ``warehouse``, when given, is the database file dbt writes
    instead of the data directory's (the copy a build works on, retention/warehouse_swap.py).
    Passed on the command line rather than through the dbt process's environment: dagster-dbt's
    ``DbtCliResource.cli`` (0.29) copies that environment from the running process and takes no
    ``env`` of its own, so the only other way would be to change the environment of the whole
    process at run time. Without a data directory, dbt falls back to ``$RETENTION_DATA_DIR`` (or
    ``../data``) as before."""
    chosen = {} if warehouse is None else {"warehouse": str(warehouse)}
    if data_dir is None:
        return chosen
    return {"data_dir": str(data_dir.root), "landing_root": str(data_dir.landing), **chosen}


def daily_build_args(as_of: str, full_refresh: bool = False, data_dir: DataDir | None = None,
                     warehouse: Path | None = None) -> list[str]:
    """``dbt build`` as of ``as_of`` (YYYY-MM-DD), without the unit tests."""
    build_vars = {"as_of": as_of, **data_dir_vars(data_dir, warehouse)}
    args = ["build", "--exclude", *DAILY_EXCLUDE, "--vars", json.dumps(build_vars)]
    return args + (["--full-refresh"] if full_refresh else [])
