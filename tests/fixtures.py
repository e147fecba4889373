"""Where the providers' real payloads are: `tests/data/providers` (their sources: SOURCES.md there)."""

from pathlib import Path

PROVIDER_FIXTURES = Path(__file__).resolve().parent / "data" / "providers"


def column_chunks(path: Path) -> list:
    """Every column chunk of a Parquet file (compression, encodings, dictionary page), from its footer."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    return [meta.row_group(g).column(c) for g in range(meta.num_row_groups) for c in range(meta.num_columns)]
