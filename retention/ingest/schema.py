"""Arrow schemas: the column types every landing table shares, lineage, and quarantine.

Every landing table ends with the lineage columns
``_source_file`` (path relative to the inbox root, e.g. ``shopify/2026-01-02/orders-0001.json``),
``_record_index`` (position of the record in that file: array index, or 0-based line number),
``_ingested_at`` (UTC, one value per run) and ``_record_hash`` (sha256 hex of the record's
canonical bytes). Child rows carry their parent record's lineage. Tables whose rows can be
records of their own also have ``_raw`` (the record's text) and ``_warnings`` (values that
could not be typed and are null in their column; ``_raw`` still has them).
"""

from __future__ import annotations

import pyarrow as pa

from retention.ingest.records import MONEY, TIMESTAMP

FILES_TABLE = "_files"

STRING = pa.string()
INT64 = pa.int64()
INT32 = pa.int32()
BOOL = pa.bool_()
STRINGS = pa.list_(pa.string())

LINEAGE_FIELDS = [
    pa.field("_source_file", STRING, nullable=False),
    pa.field("_record_index", INT64),
    pa.field("_ingested_at", TIMESTAMP, nullable=False),
    pa.field("_record_hash", STRING, nullable=False),
]
RECORD_FIELDS = [pa.field("_warnings", STRINGS), pa.field("_raw", STRING)]


def record_schema(columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """A table whose rows are provider records: columns, ``_warnings``, ``_raw``, lineage."""
    return pa.schema([pa.field(n, t) for n, t in columns] + RECORD_FIELDS + LINEAGE_FIELDS)


def child_schema(columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """A table of rows derived from a parent record: columns and the parent's lineage."""
    return pa.schema([pa.field(n, t) for n, t in columns] + LINEAGE_FIELDS)


QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", STRING, nullable=False),
        pa.field("table", STRING, nullable=False),
        pa.field("_source_file", STRING, nullable=False),
        pa.field("_record_index", INT64),
        pa.field("record_id", STRING),
        pa.field("reason", STRING, nullable=False),
        pa.field("reason_group", STRING, nullable=False),
        pa.field("raw", STRING, nullable=False),
        pa.field("_ingested_at", TIMESTAMP, nullable=False),
        pa.field("_record_hash", STRING, nullable=False),
    ]
)

__all__ = [
    "BOOL", "FILES_TABLE", "INT32", "INT64", "LINEAGE_FIELDS", "MONEY", "QUARANTINE_SCHEMA", "STRING",
    "STRINGS", "TIMESTAMP", "child_schema", "record_schema",
]
