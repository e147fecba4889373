"""pymc-marketing's BetaGeoModel and GammaGammaModel fitted by MAP (maximum a posteriori with
the models' default priors) on the benchmark's customer summary, run by the Python of its own
environment: ``python pymc_marketing_peer.py fit SUMMARY.parquet OUTPUT.json``."""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path

import pandas as pd


def _map_fit(model) -> None:
    # fit(method="map") in recent versions, fit(fit_method="map") in older ones
    if "method" in inspect.signature(model.fit).parameters:
        model.fit(method="map", progressbar=False)
    else:
        model.fit(fit_method="map", progressbar=False)


def _point(model, names: tuple[str, ...]) -> dict:
    posterior = model.fit_result
    return {name: float(posterior[name].values.ravel()[0]) for name in names}


def fit(summary: pd.DataFrame) -> dict:
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    data = summary.reset_index(drop=True)
    data["customer_id"] = range(len(data))
    started, cpu_started = time.perf_counter(), time.process_time()
    bg = BetaGeoModel(data=data[["customer_id", "frequency", "recency", "T"]])
    _map_fit(bg)
    bg_done = time.perf_counter()
    repeat = data[data["frequency"] > 0]
    gg = GammaGammaModel(data=repeat[["customer_id", "frequency", "monetary_value"]])
    _map_fit(gg)
    done = time.perf_counter()
    gg_params = _point(gg, ("p", "q", "v"))
    return {"bg_nbd": _point(bg, ("r", "alpha", "a", "b")),
            "gamma_gamma": {"p": gg_params["p"], "q": gg_params["q"], "gamma": gg_params["v"]},
            "bg_nbd_s": bg_done - started, "gamma_gamma_s": done - bg_done, "fit_s": done - started,
            "fit_cpu_s": time.process_time() - cpu_started}


def main(argv: list[str]) -> int:
    import pymc_marketing

    source, out = Path(argv[1]), Path(argv[2])
    read_started = time.perf_counter()
    data = pd.read_parquet(source)
    read_s = time.perf_counter() - read_started
    result = fit(data)
    out.write_text(json.dumps({"peer": "pymc_marketing", "version": pymc_marketing.__version__, "read_s": read_s,
                               **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
