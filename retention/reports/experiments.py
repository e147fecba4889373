"""The experiments as marketers read them (the segment report and the demo): per experiment, step
and variant, counts, the metric's rate with its interval, the probability of being best, the
corrected p-value against the control and the status. Counts and rates only: no one is named."""

from __future__ import annotations

import pandas as pd

COLUMNS = ("experiment", "step", "variant", "recipients", "rate", "interval", "P(best)", "p (Holm)", "MDE", "status")


def _pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def experiment_lines(results: pd.DataFrame) -> list[dict[str, str]]:
    """One dict of display texts per variant row of experiment_results (keys: COLUMNS)."""
    lines = []
    if results is None or results.empty:
        return lines
    for _, r in results.sort_values(["experiment", "step", "is_control"], ascending=[True, True, False]).iterrows():
        metric = str(r["metric"])
        status = "winner" if r["is_winner"] else ("lost" if r["status"] == "winner" else str(r["status"]))
        variant = f"{r['variant']} (control)" if r["is_control"] else str(r["variant"])
        p_holm, mde = r["p_value_holm"], r["minimum_detectable_effect"]
        lines.append({
            "experiment": f"{r['experiment']} ({metric.replace('_', ' ')})", "step": str(int(r["step"])),
            "variant": variant, "recipients": f"{int(r['recipients']):,}", "rate": _pct(r[metric]),
            "interval": f"{_pct(r[metric + '_low'])} - {_pct(r[metric + '_high'])}",
            "P(best)": _pct(r["probability_best"]), "p (Holm)": "" if pd.isna(p_holm) else f"{float(p_holm):.3f}",
            "MDE": "" if pd.isna(mde) else _pct(mde), "status": status,
        })
    return lines


def experiments_text(results: pd.DataFrame) -> str:
    """The experiments as a fixed-width table (the demo's output)."""
    lines = experiment_lines(results)
    if not lines:
        return "No experiment has sent anything yet."
    widths = {c: max(len(c), *(len(line[c]) for line in lines)) + 2 for c in COLUMNS}
    rows = ["".join(c.ljust(widths[c]) for c in COLUMNS)]
    rows += ["".join(line[c].ljust(widths[c]) for c in COLUMNS) for line in lines]
    return "\n".join(row.rstrip() for row in rows)
