"""Run a suite on one landing partition, or on any DataFrame, and say what failed.

GX is slow to import and to set up, so one ephemeral context is built per process on first
use, and each suite is built once and reused for every later call.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pandas as pd
import pyarrow.parquet as pq

from retention.paths import DataDir
from retention.quality import suites

PART = "part-0.parquet"
EXAMPLES = 3
NO_UPPER_BOUND = pd.Timestamp("2200-01-01", tz="UTC")


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str  # GX's name, e.g. expect_column_values_to_be_unique
    column: str | None
    unexpected_count: int | None
    examples: tuple[str, ...] = ()  # hashed when the column is personal
    observed: str | None = None


@dataclass(frozen=True)
class QualityResult:
    suite: str
    success: bool
    rows: int  # distinct records validated
    evaluated: int  # expectations run
    failures: tuple[FailedExpectation, ...] = ()
    context: dict = field(default_factory=dict)  # the partition's window, volume and redeliveries

    def markdown(self) -> str:
        if not self.failures:
            return f"All {self.evaluated} expectations of `{self.suite}` passed on {self.rows} rows."
        return failures_markdown([self])


def _cell(value) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def failures_markdown(results: list[QualityResult], limit: int = 30) -> str:
    """One row per failed expectation per day: what, where, how many, a few (hashed) examples."""
    rows = [
        "| " + " | ".join(_cell(v) for v in (r.context.get("day"), f.expectation, f.column, f.unexpected_count,
                                              ", ".join(f.examples), f.observed)) + " |"
        for r in results
        for f in r.failures
    ]
    more = f"\n\n{len(rows) - limit} more not shown." if len(rows) > limit else ""
    header = "| day | expectation | column | unexpected | examples | observed |\n|---|---|---|---|---|---|\n"
    return header + "\n".join(rows[:limit]) + more


# -- the one GX context of this process ------------------------------------------------------
_lock = threading.RLock()
_suites: dict = {}
_gx: dict = {}


def _context():
    if "context" not in _gx:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            analytics_enabled=False,  # no usage reporting from a data pipeline
            progress_bars=ProgressBarsConfig(globally=False),  # keep run logs readable
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        frames = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
        _gx.update(context=context, batch=frames.add_batch_definition_whole_dataframe("whole"))
    return _gx["context"], _gx["batch"]


def _suite(name: str, expectations: Callable[[], list]):
    with _lock:
        if name not in _suites:
            context, _ = _context()
            _suites[name] = context.suites.add(suites.build_suite(name, expectations()))
        return _suites[name]


def _run(name: str, expectations: Callable[[], list], frame: pd.DataFrame, parameters: dict):
    """The suite's results; a failed check's with its unexpected values (GX's SUMMARY). Gathering
    those took a third of a passing suite's time, so they are asked for only when a check failed:
    the suite runs again (the same frame and parameters, the same outcome) with them. The batch
    validates the suite itself: a validation definition would also check the suite against the
    context's store and store every result, a fifth of the time, for results kept nowhere."""
    suite = _suite(name, expectations)
    with _lock:  # one context, one validation at a time
        batch = _context()[1].get_batch(batch_parameters={"dataframe": frame})
        for result_format in ("BOOLEAN_ONLY", "SUMMARY"):
            outcome = batch.validate(suite, expectation_parameters=parameters, result_format=result_format)
            if all(r.success for r in outcome.results):
                break
        return outcome


# -- what failed, without personal data ------------------------------------------------------
def hashed(value) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _show(value, personal: bool) -> str:
    if isinstance(value, dict):
        value = json.dumps(value, default=str, sort_keys=True)
    return hashed(value) if personal else str(value)[:60]


def _exception(result) -> str | None:
    info = result.exception_info or {}
    infos = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for item in infos:
        if item.get("raised_exception"):
            return f"error: {str(item.get('exception_message'))[:160]}"
    return None


def _failure(result) -> FailedExpectation:
    kwargs = result.expectation_config.kwargs
    columns = [kwargs["column"]] if kwargs.get("column") else list(kwargs.get("column_list") or [])
    details = result.result or {}
    personal = any(suites.is_personal(c) for c in columns)
    examples = tuple(dict.fromkeys(_show(v, personal) for v in details.get("partial_unexpected_list") or []))
    observed = _exception(result)
    if observed is None and "observed_value" in details:
        mismatched = (details.get("details") or {}).get("mismatched")
        observed = str(mismatched or details["observed_value"])[:200]
    return FailedExpectation(
        expectation=result.expectation_config.type,
        column=", ".join(columns) or None,
        unexpected_count=details.get("unexpected_count"),
        examples=examples[:EXAMPLES],
        observed=observed,
    )


def _result(name: str, frame: pd.DataFrame, outcome, context: dict) -> QualityResult:
    return QualityResult(
        suite=name,
        success=bool(outcome.success),
        rows=len(frame),
        evaluated=len(outcome.results),
        failures=tuple(_failure(r) for r in outcome.results if not r.success),
        context=context,
    )


# -- landing partitions ----------------------------------------------------------------------
def read_partition(path) -> pd.DataFrame:
    # Nullable dtypes keep integer ids integers when some are missing.
    return pd.read_parquet(path, dtype_backend="numpy_nullable")


def distinct_records(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Drop exact redeliveries (same record bytes, same key): at-least-once delivery, not a defect."""
    subset = [c for c in ("_record_hash", *key) if c in frame.columns]
    try:
        return frame.drop_duplicates(subset=subset) if subset else frame
    except TypeError:  # unhashable values in a broken column: judge the rows as they are
        return frame


def earlier_row_counts(data_dir: DataDir, source: str, table: str, day: date, last: int) -> list[int]:
    """Rows of the ``last`` landed partitions of the table before ``day``, oldest first (footer
    reads only). Only the trailing ones are compared with: reading every footer since the first
    day cost a daily check 0.2 s a table on a year and a half of history."""
    counts = []
    for folder in sorted((data_dir.landing / source / table).glob("date=*"), reverse=True):
        if len(counts) == last:
            break
        if folder.name.removeprefix("date=") < day.isoformat() and (folder / PART).is_file():
            counts.append(pq.read_metadata(folder / PART).num_rows)
    return counts[::-1]


def minimum_rows(earlier: list[int], rule: suites.VolumeRule) -> tuple[int, float | None]:
    """(rows the day needs, the trailing median); 0 when there is too little history to judge."""
    trailing = earlier[-rule.trailing_partitions:]
    if len(trailing) < rule.min_history:
        return 0, None
    median = float(statistics.median(trailing))
    if median < rule.min_median:
        return 0, median
    return math.floor(median * rule.min_share) + 1, median


def time_window(day: date, initial_sync: bool) -> dict:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return {
        # A table's first partition is its initial sync: history of any age is expected there.
        "window_start": None if initial_sync else pd.Timestamp(start - suites.LATE_DATA_ALLOWANCE),
        "window_end": pd.Timestamp(start + pd.Timedelta(days=1) + suites.CLOCK_SKEW),
    }


def parent_keys(data_dir: DataDir, source: str, table: str, column: str, day: date) -> list:
    path = data_dir.landing_partition(source, table, day) / PART
    if not path.is_file():
        return []
    values = pq.read_table(path, columns=[column]).column(0).drop_null().unique()
    return values.to_pylist()


def validate_partition(data_dir: DataDir, source: str, table: str, day: date,
                       *, volume: suites.VolumeRule = suites.VOLUME) -> QualityResult:
    """Validate ``landing/<source>/<table>/date=<day>`` with the table's suite."""
    name = suites.suite_name(source, table)
    rules = suites.RULES[(source, table)]
    path = data_dir.landing_partition(source, table, day) / PART
    if not path.is_file():
        missing = FailedExpectation("partition_exists", None, None, (), f"no {path.relative_to(data_dir.root)}")
        return QualityResult(name, False, 0, 0, (missing,))
    landed = read_partition(path)
    frame = distinct_records(landed, rules.key)
    earlier = earlier_row_counts(data_dir, source, table, day, volume.trailing_partitions)
    min_rows, median = minimum_rows(earlier, volume) if rules.volume else (0, None)
    parameters = {**time_window(day, initial_sync=not earlier), "min_rows": min_rows}
    for column, parent, parent_column in rules.references:
        parameters[suites.reference_parameter(column, parent)] = parent_keys(data_dir, source, parent, parent_column, day)
    outcome = _run(name, lambda: suites.landing_expectations(source, table), frame, parameters)
    context = {
        "day": day.isoformat(),
        "landed_rows": len(landed),
        "redeliveries": len(landed) - len(frame),
        "window_start": None if parameters["window_start"] is None else parameters["window_start"].isoformat(),
        "window_end": parameters["window_end"].isoformat(),
        "min_rows": min_rows,
        "trailing_median": median,
    }
    return _result(name, frame, outcome, context)


# -- any frame: marts and audiences ----------------------------------------------------------
def _landing_defaults(source: str, table: str, frame: pd.DataFrame) -> dict:
    # No partition day: no time window (GX needs one bound, so the upper one is far away) and no volume.
    parameters: dict = {"window_start": None, "window_end": NO_UPPER_BOUND, "min_rows": 0}
    for column, parent, _ in suites.RULES[(source, table)].references:
        values = frame[column].dropna().unique().tolist() if column in frame.columns else []
        parameters[suites.reference_parameter(column, parent)] = values
    return parameters


def validate_frame(df: pd.DataFrame, suite_name: str, *, parameters: dict | None = None,
                   **options) -> QualityResult:
    """Validate a DataFrame with a named suite: ``audience`` or ``mart`` (options name the columns:
    ``key``, ``email``, ``phone``, ``consent``, ``payload``), or a landing suite
    (``landing.<source>.<table>``, with ``parameters`` for its window, volume and references)."""
    columns = list(df.columns)
    if suite_name.startswith("landing."):
        _, source, table = suite_name.split(".", 2)
        if (source, table) not in suites.RULES:
            raise ValueError(f"unknown landing suite {suite_name!r}")
        build = lambda: suites.landing_expectations(source, table)  # noqa: E731
        df = distinct_records(df, suites.RULES[(source, table)].key)
        parameters = {**_landing_defaults(source, table, df), **(parameters or {})}
        cache_name = suite_name
    else:
        if suite_name not in suites.FRAME_SUITES:
            raise ValueError(f"unknown suite {suite_name!r}; known: {', '.join(suites.FRAME_SUITES)} or landing.*")
        build = lambda: suites.FRAME_SUITES[suite_name](columns, **options)  # noqa: E731
        # The suite depends on the frame's columns and the options: one cached suite per shape.
        shape = hashlib.sha256(json.dumps([columns, options], default=str, sort_keys=True).encode()).hexdigest()
        cache_name = f"{suite_name}.{shape[:12]}"
    outcome = _run(cache_name, build, df, parameters or {})
    return _result(suite_name, df, outcome, {})
