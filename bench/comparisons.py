"""Checks behind the side-by-side figures: are the two ways' results identical?"""

from __future__ import annotations

from pathlib import Path

# History tables keep one entry per daily run: a full refresh starts them on its as_of day while
# the incremental run carries the earlier days, so they differ by design and are not compared.
NOT_COMPARABLE = {
    "segment_membership_history": "history of daily runs: a full refresh starts it anew",
    "clv_model_runs": "history of daily runs: a full refresh starts it anew",
}
# Columns that record how long something took differ on every run, whatever the data.
TIMING_COLUMNS = ("seconds", "elapsed_s", "duration_s")


# Doubles rounded to this many significant digits, to tell a difference in the last bits of a
# float sum (its order follows DuckDB's threads) from a difference in the data.
FLOAT_DIGITS = 12


def _rounded(column: str) -> str:
    c = f'"{column}"'
    return (f"case when {c} is null or {c} = 0 or not isfinite({c}) then {c} "
            f"else round({c}, {FLOAT_DIGITS - 1} - cast(floor(log10(abs({c}))) as integer)) end as {c}")


def _table_fingerprints(con, catalog: str, only: list[str] | None = None,
                        round_floats: bool = False) -> dict[str, tuple[int, int]]:
    tables = [r[0] for r in con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = 'main' and table_type = 'BASE TABLE' order by 1",
        [catalog]).fetchall()]
    prints = {}
    for table in [t for t in tables if only is None or t in only]:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = 'main' and table_name = ?", [catalog, table]).fetchall())
        timing = [f'"{c}"' for c in TIMING_COLUMNS if c in types]
        rows = f'select * exclude ({", ".join(timing)})' if timing else "select *"
        floats = [c for c, t in types.items() if round_floats and t in ("DOUBLE", "FLOAT") and c not in TIMING_COLUMNS]
        if floats:
            rows += f' replace ({", ".join(_rounded(c) for c in floats)})'
        # row count and an order-independent sum of row hashes: equal contents, equal prints
        prints[table] = con.execute(f'select count(*), coalesce(sum(hash(t)::hugeint), 0) '
                                    f'from ({rows} from "{catalog}".main."{table}") t').fetchone()
    return prints


def compare_warehouses(incremental: Path, full_refresh: Path, explain_floats: bool = False) -> dict:
    """Every table of the two warehouses, compared by contents (not by order). With
    ``explain_floats``, the differing tables are compared again with their doubles rounded to
    FLOAT_DIGITS significant digits: those still different differ in their data."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full_refresh}' as full_refresh (read_only)")
        a, b = _table_fingerprints(con, "incremental"), _table_fingerprints(con, "full_refresh")
        compared = sorted((set(a) & set(b)) - set(NOT_COMPARABLE))
        different = [t for t in compared if a[t] != b[t]]
        beyond = None
        if explain_floats and different:
            ra, rb = (_table_fingerprints(con, c, different, round_floats=True) for c in ("incremental", "full_refresh"))
            beyond = [t for t in different if ra[t] != rb[t]]
    finally:
        con.close()
    only = sorted(set(a) ^ set(b))
    extra = {} if not explain_floats else {"float_digits": FLOAT_DIGITS, "different_beyond_float_rounding": beyond or []}
    return {"tables_compared": len(compared), "different_tables": different, "tables_in_one_only": only,
            "excluded": {t: why for t, why in NOT_COMPARABLE.items() if t in a or t in b},
            "rows_compared": sum(a[t][0] for t in compared),
            "identical": not different and not only, **extra}


def compare_summary_files(warehouse_parquet: Path, pandas_parquet: Path) -> dict:
    import pandas as pd

    from bench.summary import compare_summaries

    return compare_summaries(pd.read_parquet(warehouse_parquet), pd.read_parquet(pandas_parquet))
