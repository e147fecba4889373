"""The arguments of the daily warehouse build, shared by the Dagster asset and the benchmark.

dbt's unit tests check the models' logic on fixed inputs, not the day's data, so they run with the
test suite (``make test``), not in every daily build: there they cost a fifth of the build's time at
10,000 customers and tell nothing new about the day. Data tests (keys, accepted values, freshness)
still run every day.
"""

from __future__ import annotations

import json

DAILY_EXCLUDE = ("test_type:unit",)


def daily_build_args(as_of: str, full_refresh: bool = False) -> list[str]:
    """``dbt build`` as of ``as_of`` (YYYY-MM-DD), without the unit tests."""
    args = ["build", "--exclude", *DAILY_EXCLUDE, "--vars", json.dumps({"as_of": as_of})]
    return args + (["--full-refresh"] if full_refresh else [])
