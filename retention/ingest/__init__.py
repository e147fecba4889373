"""Ingestion: providers' native files in ``inbox/`` -> typed Parquet in ``landing/``, rejects in
``quarantine/`` with a reason. No Dagster here; ``assets/ingest.py`` calls ``ingest_days``.

Modules: ``records`` (typing values, issues, hashes), ``schema`` (shared column types,
lineage, quarantine), ``collect`` (counting rules; a fault quarantines its record, or its file,
never the day), ``json_files``, one parser per source
(``shopify``, ``sendgrid``, ``twilio``, ``jsonl_sources`` for web/reviews/nps), ``vectorised``
(a file's clean records typed together), ``landing`` (atomic partition writes) and ``day``
(``ingest_day``, and ``ingest_days`` over processes).
"""

from retention.ingest.day import (
    SOURCE_TABLES,
    IngestReport,
    ParsedFiles,
    TableCounts,
    ingest_day,
    ingest_days,
    parse_file,
    parse_files,
)

__all__ = ["SOURCE_TABLES", "IngestReport", "ParsedFiles", "TableCounts", "ingest_day", "ingest_days", "parse_file",
           "parse_files"]
