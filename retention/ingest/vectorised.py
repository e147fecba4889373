"""Typing a file's clean records together, column by column, instead of one record at a time.

The per-record path (``Check`` and each source's ``parse_*``) defines what lands, what warns and
what goes to quarantine. This module types only values whose meaning is beyond doubt: a string
where text is expected, an integer where an integer is, an ISO 8601 time with its UTC offset...
A record holding anything else (a line that is not JSON, a number where text is expected, a
value that would warn) goes through the per-record path, in its place among its neighbours, so
every warning and every reject still comes from one definition and the rows keep the file's
order. ``tests/test_ingest_vectorised.py`` holds both paths to the same output.

Per record only C-level work remains (orjson, sha256); a column is checked by the set of its
values' types (value by value only when that set has a stranger) and built by Arrow, timestamps
parsed by Arrow's ISO 8601 cast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

import orjson
import pyarrow as pa

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import TIMESTAMP, bytes_to_text, canonical_json, sha256_hex
from retention.ingest.schema import INT64, STRING, STRINGS

NONE = type(None)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# What ``datetime.fromisoformat`` and Arrow's cast read alike: a real clock time with its offset.
_ISO_TIME = re.compile(
    r"(19|20)\d\d-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)\Z")


@dataclass(frozen=True)
class Kind:
    """A column kind: ``clean(value)`` says the per-record path would type it with no issue, and
    ``types`` the value types for which a whole column is clean without asking value by value."""

    clean: Callable[[object], bool]
    arrow: pa.DataType = STRING
    types: frozenset = frozenset()

    def clean_rows(self, values: list) -> list[bool] | None:
        """Per value whether it is clean; None when all are."""
        if self.types and set(map(type, values)) <= self.types:
            return None
        return [self.clean(v) for v in values]

    def build(self, values: list) -> pa.Array:
        if self.arrow == TIMESTAMP:  # Arrow's ISO 8601 parser, offsets to UTC (a bad date raises)
            return pa.array(values, STRING).cast(TIMESTAMP)
        return pa.array(values, self.arrow)


def _is_int(value, low: int = _INT64_MIN, high: int = _INT64_MAX) -> bool:
    return type(value) is int and low <= value <= high  # a bool is no integer here


def _nonblank(value) -> bool:
    return type(value) is str and bool(value.strip())


TEXT = Kind(lambda v: type(v) in (str, NONE), types=frozenset({str, NONE}))  # a number would become its text
BOOLEAN = Kind(lambda v: type(v) in (bool, NONE), pa.bool_(), frozenset({bool, NONE}))
REQUIRED_TEXT = Kind(_nonblank)  # also a required identifier: an integer id would become its text
OPTIONAL_ID = Kind(lambda v: v is None or _nonblank(v))


def one_of(allowed: tuple[str, ...]) -> Kind:
    return Kind(frozenset(allowed).__contains__)


def integer(required: bool = False, low: int = _INT64_MIN, high: int = _INT64_MAX, arrow=INT64) -> Kind:
    return Kind(lambda v: _is_int(v, low, high) or (v is None and not required), arrow)


def timestamp(required: bool = False) -> Kind:
    return Kind(lambda v: (type(v) is str and _ISO_TIME.match(v) is not None) or (v is None and not required),
                TIMESTAMP)


# -- JSON Lines -----------------------------------------------------------------------------------------
def land_jsonl(ctx: FileContext, out: Collector, table: str, columns: dict[str, Kind],
               lines: list[tuple[int, bytes]], one_by_one: Callable[[int, bytes], None]) -> None:
    """Land a JSON Lines file's ``(index, line)``s: each run of clean records typed together,
    every other line through ``one_by_one(index, line)`` (the per-record path), in file order."""
    records = [_loads(line) for _, line in lines]
    clean = [type(r) is dict for r in records]
    records = [r if ok else {} for r, ok in zip(records, clean, strict=True)]
    values = {column: [r.get(column) for r in records] for column in columns}
    for column, kind in columns.items():
        flags = kind.clean_rows(values[column])
        if flags is not None:
            clean = [a and b for a, b in zip(clean, flags, strict=True)]
    digests = [_digest(r) if ok else None for r, ok in zip(records, clean, strict=True)]
    start = 0
    for is_clean, run in groupby(range(len(lines)), key=lambda i: digests[i] is not None):
        end = start + len(list(run))
        typed = _typed(ctx, out.schemas[table], columns, {c: v[start:end] for c, v in values.items()},
                       lines[start:end], digests[start:end]) if is_clean else None
        if typed is not None:
            out.land_table(table, typed)
        else:
            for index, line in lines[start:end]:
                one_by_one(index, line)
        start = end


def _loads(line: bytes):
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def _digest(record: dict) -> str | None:
    try:
        return sha256_hex(canonical_json(record))
    except TypeError:
        return None


def _typed(ctx: FileContext, schema: pa.Schema, columns: dict[str, Kind], values: dict[str, list],
           lines: list[tuple[int, bytes]], digests: list[str]) -> pa.Table | None:
    """The records typed as ``schema`` with no warnings, ``_raw`` (the line) and the lineage; None
    when Arrow refuses a value the checks let through (a 30 February): then one by one."""
    try:
        typed = {column: kind.build(values[column]) for column, kind in columns.items()}
    except (pa.ArrowInvalid, OverflowError):
        return None
    n = len(lines)
    arrays = {
        **typed,
        "_warnings": pa.nulls(n, STRINGS),
        "_raw": pa.array([bytes_to_text(line) for _, line in lines], STRING),
        "_source_file": pa.array([ctx.rel] * n, STRING),
        "_record_index": pa.array([index for index, _ in lines], INT64),
        "_ingested_at": pa.array([ctx.ingested_at] * n, TIMESTAMP),
        "_record_hash": pa.array(digests, STRING),
    }
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)
