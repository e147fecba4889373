"""Writing a day's partitions: every table, even empty; a re-run replaces the day atomically.

All of the day's Parquet files (landing and quarantine) are first written to a private
staging directory under ``<data>/.ingest-staging/`` -- on the same file system, outside every
``landing/**`` and ``quarantine/**`` glob, so a reader never sees a half-written file. Then
each file is moved onto ``<partition>/part-0.parquet`` with ``os.replace`` (an atomic rename:
a reader sees the old file or the new one, never a mix or a duplicate) and anything else left
in the partition directory is removed. The partition holds exactly one file, so re-running a
day replaces it and never adds to it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from retention.paths import DataDir

PART = "part-0.parquet"
STAGING = ".ingest-staging"


def write_day(
    data_dir: DataDir,
    source: str,
    day: date,
    landing: dict[str, pa.Table],
    quarantine: dict[str, pa.Table],
) -> list[Path]:
    """Write and swap in every partition of ``source`` for ``day``; returns the final files."""
    staging = data_dir.root / STAGING / f"{source}-{day.isoformat()}-{uuid.uuid4().hex}"
    staged: list[tuple[Path, Path]] = []
    try:
        for zone, tables, partition in (
            ("landing", landing, data_dir.landing_partition),
            ("quarantine", quarantine, data_dir.quarantine_partition),
        ):
            for table, data in tables.items():
                tmp = staging / zone / table / PART
                tmp.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(data, tmp, compression="zstd")
                staged.append((tmp, partition(source, table, day)))
        finals = [swap_in(tmp, final_dir) for tmp, final_dir in staged]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.parent.rmdir()  # only when no other run is staging
        except OSError:
            pass
    return finals


def swap_in(tmp: Path, partition_dir: Path) -> Path:
    partition_dir.mkdir(parents=True, exist_ok=True)
    final = partition_dir / PART
    os.replace(tmp, final)
    for other in partition_dir.iterdir():
        if other.name != PART:
            if other.is_dir() and not other.is_symlink():
                shutil.rmtree(other, ignore_errors=True)
            else:
                other.unlink(missing_ok=True)
    return final
