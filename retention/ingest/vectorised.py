"""Typing a file's clean records together, column by column, instead of one record at a time.

The per-record path (``Check`` and each source's ``parse_*``) defines what lands, what warns and
what goes to quarantine. This module types only values whose meaning is beyond doubt: a string
where text is expected, an integer where an integer is, an ISO 8601 time with its UTC offset...
A record holding anything else (a line that is not JSON, a number where text is expected, a
value that would warn) goes through the per-record path, and its row (if it lands) is merged back
among its neighbours', so every warning and every reject still comes from one definition and
the rows keep the file's order. ``tests/test_ingest_vectorised.py`` holds both paths to the same output.

Per record only C-level work remains (orjson, sha256); a column is checked by the set of its
values' types (value by value only when that set has a stranger) and built by Arrow, timestamps
parsed by Arrow's ISO 8601 cast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import orjson
import pyarrow as pa

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import EPOCH, MS_LIMIT, MS_THRESHOLD, TIMESTAMP, bytes_to_text, canonical_json, sha256_hex
from retention.ingest.schema import INT64, STRING, STRINGS

NONE = type(None)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# What ``datetime.fromisoformat`` and Arrow's cast read alike: a real clock time with its offset.
_ISO_TIME = re.compile(
    r"(19|20)\d\d-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)\Z")


@dataclass(frozen=True)
class Kind:
    """A column kind: ``clean(value)`` says the per-record path would type the value with no issue,
    ``types`` the value types for which a whole column is clean without asking value by value;
    ``get(record)`` reads the value (default: the column's key) and ``convert(values)`` turns clean
    values into the column's (default: as they are)."""

    clean: Callable[[object], bool]
    arrow: pa.DataType = STRING
    types: frozenset = frozenset()
    get: Callable[[dict], object] | None = None
    convert: Callable[[list], list] | None = None

    def values(self, records: list[dict], column: str) -> list:
        return [self.get(r) for r in records] if self.get else [r.get(column) for r in records]

    def clean_rows(self, values: list) -> list[bool] | None:
        """Per value whether it is clean; None when all are."""
        if self.types and set(map(type, values)) <= self.types:
            return None
        return [self.clean(v) for v in values]

    def build(self, values: list) -> pa.Array:
        if self.arrow == TIMESTAMP and not self.convert:  # Arrow's ISO 8601 parser, offsets to UTC (a bad date raises)
            return pa.array(values, STRING).cast(TIMESTAMP)
        return pa.array(self.convert(values) if self.convert else values, self.arrow)


def _is_int(value, low: int = _INT64_MIN, high: int = _INT64_MAX) -> bool:
    return type(value) is int and low <= value <= high  # a bool is no integer here


def nonblank(value) -> bool:
    return type(value) is str and bool(value.strip())


def _texts(values: list) -> list:
    return [str(v) if type(v) is int else v for v in values] if int in set(map(type, values)) else values


# Lenient text: an integer becomes its text (``as_text``); a float, an object or a bool goes one by one.
TEXT = Kind(lambda v: type(v) in (str, NONE, int), types=frozenset({str, NONE}), convert=_texts)
BOOLEAN = Kind(lambda v: type(v) in (bool, NONE), pa.bool_(), frozenset({bool, NONE}))
REQUIRED_TEXT = Kind(nonblank)  # also a required identifier: an integer id would become its text
OPTIONAL_ID = Kind(lambda v: v is None or nonblank(v))


def one_of(allowed: tuple[str, ...]) -> Kind:
    return Kind(lambda v: type(v) is str and v in allowed)


def integer(required: bool = False, low: int = _INT64_MIN, high: int = _INT64_MAX, arrow=INT64) -> Kind:
    return Kind(lambda v: _is_int(v, low, high) or (v is None and not required), arrow)


def timestamp(required: bool = False) -> Kind:
    return Kind(lambda v: (type(v) is str and _ISO_TIME.match(v) is not None) or (v is None and not required),
                TIMESTAMP)


def unix_time(required: bool = True, zero_is_none: bool = False) -> Kind:
    """Unix seconds or milliseconds as an integer (what ``epoch_to_datetime`` reads), to UTC times."""
    def clean(v) -> bool:
        return _is_int(v, 0, MS_LIMIT - 1) or (v is None and not required)

    def convert(values: list) -> list:
        return [None if v is None or (zero_is_none and v == 0) else
                EPOCH + (timedelta(seconds=v) if v < MS_THRESHOLD else timedelta(milliseconds=v)) for v in values]

    return Kind(clean, TIMESTAMP, convert=convert)


# -- files -------------------------------------------------------------------------------------------------
def land_jsonl(ctx: FileContext, out: Collector, table: str, columns: dict[str, Kind],
               lines: list[tuple[int, bytes]], one_by_one: Callable[[int, bytes], None]) -> None:
    """Land a JSON Lines file's ``(index, line)``s: the clean records typed together, every other
    line through ``one_by_one(index, line)`` (the per-record path); the rows in file order."""
    records = [_loads(line) for _, line in lines]
    digests = [_digest(r) if type(r) is dict else None for r in records]
    land_records(ctx, out, table, columns, records, [bytes_to_text(line) for _, line in lines], digests,
              [index for index, _ in lines], lambda i: one_by_one(*lines[i]))


def land_records(ctx: FileContext, out: Collector, table: str, columns: dict[str, Kind], records: list,
              raws: list[str | None], digests: list[str | None], indexes: list[int],
              one_by_one: Callable[[int], None]) -> None:
    """Land a file's ``records`` (their ``_raw``, ``_record_hash`` and ``_record_index``; a digest of
    None marks a record for the per-record path): the clean ones typed together, every other one
    through ``one_by_one(position)``, in order, and the rows merged back into the file's order."""
    try:
        clean, typed = _typed_clean(ctx, out.schemas[table], columns, records, raws, digests, indexes)
    except Exception:  # noqa: BLE001 -- whatever this shortcut did not foresee, the per-record path judges
        clean, typed = [], None
    if typed is None:  # nothing clean, or Arrow refused a value the checks let through: all one by one
        for position in range(len(records)):
            one_by_one(position)
        return
    out.flush()
    merge_from = len(out.batches[table])
    for position in (i for i, ok in enumerate(clean) if not ok):
        one_by_one(position)
    out.land_table(table, typed, merge_from)


def _typed_clean(ctx: FileContext, schema: pa.Schema, columns: dict[str, Kind], records: list,
                 raws: list, digests: list, indexes: list) -> tuple[list[bool], pa.Table | None]:
    """Which records are clean, and those typed as ``schema`` (None if none is)."""
    clean = [d is not None for d in digests]
    records = [r if ok else {} for r, ok in zip(records, clean, strict=True)]
    values = {column: kind.values(records, column) for column, kind in columns.items()}
    for column, kind in columns.items():
        flags = kind.clean_rows(values[column])
        if flags is not None:
            clean = [a and b for a, b in zip(clean, flags, strict=True)]
    kept = [i for i, ok in enumerate(clean) if ok]
    if not kept:
        return clean, None
    return clean, _typed(ctx, schema, columns, {c: [v[i] for i in kept] for c, v in values.items()},
                         [raws[i] for i in kept], [indexes[i] for i in kept], [digests[i] for i in kept])


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
           raws: list[str], indexes: list[int], digests: list[str]) -> pa.Table | None:
    """The records typed as ``schema`` with no warnings, ``_raw`` and the lineage; None when Arrow
    refuses a value the checks let through (a 30 February)."""
    try:
        typed = {column: kind.build(values[column]) for column, kind in columns.items()}
    except (pa.ArrowInvalid, OverflowError):
        return None
    n = len(raws)
    arrays = {
        **typed,
        "_warnings": pa.nulls(n, STRINGS),
        "_raw": pa.array(raws, STRING),
        "_source_file": pa.array([ctx.rel] * n, STRING),
        "_record_index": pa.array(indexes, INT64),
        "_ingested_at": pa.array([ctx.ingested_at] * n, TIMESTAMP),
        "_record_hash": pa.array(digests, STRING),
    }
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)
