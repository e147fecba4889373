"""lifetimes 0.11 on the benchmark's data, run by the Python of its own environment (never the
project's): ``python lifetimes_peer.py fit|summary INPUT.parquet OUTPUT [OPTIONS_JSON]``.

fit: BetaGeoFitter and GammaGammaFitter on a customer summary (frequency, recency, T,
monetary_value); writes the parameters and the seconds of each fit as JSON.
summary: ``summary_data_from_transaction_data`` on transactions (customer_key, created_at,
subtotal_price) as of ``options["as_of"]``, in weeks (days / 7); writes the summary as Parquet and
its seconds as JSON beside it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd


def fit(summary: pd.DataFrame, options: dict) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    penalizer = options.get("penalizer", {})
    started, cpu_started = time.perf_counter(), time.process_time()
    bg = BetaGeoFitter(penalizer_coef=penalizer.get("bg_nbd", 0.0))
    bg.fit(summary["frequency"], summary["recency"], summary["T"])
    bg_done = time.perf_counter()
    repeat = summary[summary["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=penalizer.get("gamma_gamma", 0.0))
    gg.fit(repeat["frequency"], repeat["monetary_value"])
    done = time.perf_counter()
    gg_params = gg.params_.to_dict()
    return {"bg_nbd": {k: float(v) for k, v in bg.params_.to_dict().items()},
            "gamma_gamma": {"p": float(gg_params["p"]), "q": float(gg_params["q"]), "gamma": float(gg_params["v"])},
            "bg_nbd_s": bg_done - started, "gamma_gamma_s": done - bg_done, "fit_s": done - started,
            "fit_cpu_s": time.process_time() - cpu_started}


def summary(transactions: pd.DataFrame, options: dict, out: Path) -> dict:
    from lifetimes.utils import summary_data_from_transaction_data

    started = time.perf_counter()
    df = summary_data_from_transaction_data(
        transactions, "customer_key", "created_at", "subtotal_price",
        observation_period_end=options["as_of"], freq="D", freq_multiplier=7)
    seconds = time.perf_counter() - started
    df.index.name = "customer_key"
    df.to_parquet(out.with_suffix(".parquet"))
    return {"summary_s": seconds, "customers": len(df)}


def main(argv: list[str]) -> int:
    import lifetimes

    task, source, out = argv[0], Path(argv[1]), Path(argv[2])
    options = json.loads(argv[3]) if len(argv) > 3 else {}
    read_started = time.perf_counter()
    data = pd.read_parquet(source)
    read_s = time.perf_counter() - read_started
    result = fit(data, options) if task == "fit" else summary(data, options, out)
    out.write_text(json.dumps({"peer": "lifetimes", "version": lifetimes.__version__, "read_s": read_s, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
