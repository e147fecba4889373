"""Pictures as PNG bytes (matplotlib, no display), and as Markdown a UI or a page can show inline."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    """An inline image: Dagster's metadata Markdown and static HTML pages both render data URIs."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def calibration_plot(table: pd.DataFrame, title: str = "Holdout purchases by calibration frequency") -> bytes:
    """Predicted against actual mean holdout purchases per frequency bin (clv_calibration's table)."""
    bins = table[table["frequency_cal"] >= 0]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    x = range(len(bins))
    ax.plot(x, bins["actual_mean"], marker="o", label="actual")
    ax.plot(x, bins["predicted_mean"], marker="s", linestyle="--", label="predicted (BG/NBD)")
    ax.set_xticks(list(x), [str(label) for label in bins["label"]])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return to_png(fig)
