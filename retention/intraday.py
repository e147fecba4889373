"""Intraday increments: the trigger audiences rebuilt through the day, as of the increment's time.

An increment at time T re-lands the day's partitions of the trigger sources from the inbox files
present so far (``ingest_day`` replaces a day, so nothing is duplicated and the daily run's landing
later replaces it with the complete day), then builds the trigger audiences and their parents as of
the day and T (``RETENTION_AS_OF`` and ``RETENTION_AS_OF_TIME``, or ``--vars {as_of: <day>, as_of_time:
T}`` by hand). See orchestration/INTRADAY.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from retention.dbt_build import as_of_env, data_dir_vars
from retention.ingest import IngestReport, ingest_day
from retention.paths import DataDir

# The sources whose records start or stop a trigger: checkouts, orders, customers and products
# (Shopify), browsing, and the email / SMS events that carry consent changes.
TRIGGER_SOURCES = ("shopify", "web", "sendgrid", "twilio")
# Audiences of the behaviour-triggered campaigns, whose value decays within hours.
TRIGGER_AUDIENCES = ("audience_abandoned_cart", "audience_back_in_stock", "audience_price_drop")
# The dbt selector of an increment (dbt_project/selectors.yml): the trigger audiences and their
# parents, minus what changes once a day and costs the most (the CLV models, the recommendations;
# increments reuse the morning's tables), the tests that read those, and the unit tests.
SELECTOR = "intraday_triggers"


@dataclass(frozen=True)
class Increment:
    """One increment: the delivery day it re-lands and the instant (UTC) it is computed as of."""

    day: date
    as_of_time: datetime

    @classmethod
    def at(cls, moment: datetime) -> Increment:
        """The increment of a tick at ``moment``; a tick at midnight closes the day before."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        moment = moment.replace(microsecond=0)
        return cls((moment - timedelta(microseconds=1)).date(), moment)

    @property
    def as_of_time_text(self) -> str:
        return self.as_of_time.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def run_key(self) -> str:
        return f"intraday:{self.as_of_time.isoformat()}"

    def dbt_env(self) -> dict[str, str]:
        """The day and the instant, as the environment gives them to dbt (retention/dbt_build.py)."""
        return as_of_env(self.day, self.as_of_time_text)

    def dbt_build_args(self, data_dir: DataDir | None = None, warehouse: Path | None = None) -> list[str]:
        """``dbt build`` of the trigger audiences and their parents, minus the daily-only models
        (the day and the instant come from ``dbt_env``). A test runs only when all it reads was
        rebuilt, so no test judges a mix of moments."""
        build_vars = data_dir_vars(data_dir, warehouse)
        return ["build", "--selector", SELECTOR] + (["--vars", json.dumps(build_vars)] if build_vars else [])


def land_trigger_sources(data_dir: DataDir, day: date) -> dict[str, IngestReport]:
    """Re-land ``day`` of every trigger source from the inbox files present now."""
    return {source: ingest_day(data_dir, source, day) for source in TRIGGER_SOURCES}
