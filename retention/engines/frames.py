"""A dbt Python model's input as pandas, whichever engine built it.

``dbt.ref`` gives a DuckDB relation on DuckDB and a Spark DataFrame on Spark (retention/engines/
spark_dbt.py). The models compute on pandas, so both become the frame DuckDB's ``.df()`` gives:
decimals as floats and dates as datetime64 (Spark's ``toPandas`` would give ``Decimal`` and
``datetime.date`` objects, which arithmetic and comparisons treat differently). ``order_by`` sorts
the rows: each engine scans in its own order, and a fit must not depend on it. ``columns`` keeps
only those, chosen by the engine before any row reaches Python: a model that reads two columns
of a wide table must not hold the whole table in pandas beside the engine's own memory.
"""

from __future__ import annotations

import pandas as pd


def model_frame(relation, order_by: list[str] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    duck = hasattr(relation, "df")  # DuckDB's relation has .df(), Spark's DataFrame has not
    if columns:
        relation = relation.project(", ".join(f'"{c}"' for c in columns)) if duck else relation.select(*columns)
    frame = relation.df() if duck else _spark_frame(relation)
    return frame.sort_values(order_by, kind="stable", ignore_index=True) if order_by else frame


def _spark_frame(relation) -> pd.DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, DecimalType

    fields = relation.schema.fields
    doubles = relation.select([F.col(f"`{f.name}`").cast("double").alias(f.name) if isinstance(f.dataType, DecimalType)
                               else F.col(f"`{f.name}`") for f in fields])
    frame = doubles.toPandas()
    for field in fields:
        if isinstance(field.dataType, DateType):
            frame[field.name] = pd.to_datetime(frame[field.name])
    return frame
