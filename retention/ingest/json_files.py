"""Reading a whole-JSON file (Shopify page, SendGrid POST body): BOM allowed, invalid = one reject."""

from __future__ import annotations

import orjson

from retention.ingest.collect import Collector, FileContext
from retention.ingest.records import bytes_to_text, sha256_hex
from retention.ingest.schema import FILES_TABLE

BOM = b"\xef\xbb\xbf"
NOT_JSON = object()  # returned instead of a document when the file was quarantined


def load_json_file(ctx: FileContext, data: bytes, collector: Collector, table: str = FILES_TABLE):
    """The parsed document, or ``NOT_JSON`` after quarantining the file as one record."""
    body = data[len(BOM):] if data.startswith(BOM) else data
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        collector.reject_file(
            ctx, f"not valid JSON: {exc}", "not valid JSON", bytes_to_text(data), sha256_hex(data), table
        )
        return NOT_JSON

