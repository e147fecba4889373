"""What activation reads of the experiments, and the winner roll-out: an experiment whose rule is
met gets its winner recorded in the ledger with the evidence, once; from then on the engine gives
every later send the winner (assignment.assign).

    recorded = record_winners(results, ledger, now)   # results: the experiment_results table
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from retention.activation.ledger import Ledger
from retention.duckdb_config import connect

RESULTS_MODEL = "experiment_results"  # the dbt model the winners are read from
EVIDENCE = ("recipients", "metric", "metric_successes", "metric_trials", "probability_best", "p_value_holm")


def _read(warehouse: Path, sql: str) -> pd.DataFrame:
    """A query of the warehouse; empty before the warehouse or the model is built."""
    if not Path(warehouse).exists():
        return pd.DataFrame()
    with connect(warehouse, read_only=True) as con:
        try:
            return con.sql(sql).df()
        except duckdb.CatalogException:
            return pd.DataFrame()


def read_results(warehouse: Path) -> pd.DataFrame:
    return _read(warehouse, f"select * from {RESULTS_MODEL}")


def read_send_hours(warehouse: Path) -> dict[str, int]:
    """customer -> best local hour (dbt customer_send_hours), for optimised send times."""
    frame = _read(warehouse, "select customer_key, best_hour from customer_send_hours")
    return dict(zip(frame["customer_key"].astype(str), frame["best_hour"].astype(int), strict=True)) if len(frame) else {}


def evidence_of(group: pd.DataFrame) -> str:
    """Every variant's counts and statistics at the moment of the decision, as JSON (no one named)."""
    return json.dumps({str(row["variant"]): {k: _plain(row[k]) for k in EVIDENCE}
                       for _, row in group.iterrows()}, sort_keys=True)


def record_winners(results: pd.DataFrame | None, ledger: Ledger, now: datetime) -> dict[str, str]:
    """experiment -> winner, for the winners this call recorded (a decided experiment stays decided)."""
    recorded: dict[str, str] = {}
    if results is None or results.empty:
        return recorded
    known = ledger.experiment_winners()
    for (experiment, _step), group in results.groupby(["experiment", "step"]):
        winners = group[group["is_winner"].astype(bool)]
        if experiment in known or winners.empty:
            continue
        winner = winners.iloc[0]
        if ledger.record_winner(str(experiment), str(winner["campaign"]), str(winner["variant"]), evidence_of(group),
                                now):
            recorded[str(experiment)] = str(winner["variant"])
    return recorded


def _plain(value):
    """A numpy or pandas scalar as JSON-able Python (NaN as null)."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and pd.isna(value) else value
