"""The report's pictures as PNG bytes: pure functions of DataFrames, a readable picture when empty."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from retention.charts import to_png

FUNNEL_STAGES = ("sent", "delivered", "opened", "clicked", "converted")
SEGMENT_TYPES = ("lifecycle", "rfm", "loyalty_tier", "trigger")


def no_data_picture(title: str, hint: str = "no data yet") -> bytes:
    """A placeholder that says what would be here, so an empty store still gets a readable page."""
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.axis("off")
    ax.text(0.5, 0.62, title, ha="center", va="center", fontsize=13, weight="bold")
    ax.text(0.5, 0.32, hint, ha="center", va="center", fontsize=11, color="grey")
    return to_png(fig)


def segment_sizes_over_time(sizes: pd.DataFrame, title: str = "Segment sizes over time") -> bytes:
    """Customers per segment and day (columns day, segment_type, segment, customers), a panel per family."""
    if sizes.empty:
        return no_data_picture(title, "no segment history yet")
    families = [t for t in SEGMENT_TYPES if t in set(sizes["segment_type"])] + sorted(
        set(sizes["segment_type"]) - set(SEGMENT_TYPES))
    frame = sizes.assign(day=pd.to_datetime(sizes["day"]))
    days = sorted(frame["day"].unique())
    fig, axes = plt.subplots(len(families), 1, figsize=(9, 2.9 * len(families)), sharex=True, squeeze=False,
                             layout="constrained")
    colours = plt.get_cmap("tab20").colors  # trigger segments outnumber the default ten colours
    for ax, family in zip(axes[:, 0], families):
        table = frame[frame["segment_type"] == family].pivot_table(
            index="day", columns="segment", values="customers", aggfunc="sum", fill_value=0).reindex(days, fill_value=0)
        for index, segment in enumerate(table.columns):
            ax.plot(table.index, table[segment], marker="o" if len(table) < 15 else None, label=segment,
                    color=colours[index % len(colours)])
        ax.set_title(family.replace("_", " "), loc="left", fontsize=10)
        ax.set_ylabel("customers")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    axis = axes[-1, 0].xaxis
    axis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=10) if len(days) > 10 else plt.FixedLocator(
        mdates.date2num(days)))  # whole days only: the history has one point a day
    axis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.suptitle(title)
    plt.setp(axis.get_majorticklabels(), rotation=30, ha="right")
    return to_png(fig)


def cohort_heatmap(cohorts: pd.DataFrame, title: str = "Retention by first-purchase cohort") -> bytes:
    """Share of each monthly cohort ordering N months after its first purchase (retention_cohorts)."""
    if cohorts.empty:
        return no_data_picture(title)
    table = cohorts.pivot_table(index="cohort_month", columns="months_since_first_purchase",
                                values="retention_rate", aggfunc="max").sort_index()
    sizes = cohorts.groupby("cohort_month")["cohort_size"].max().reindex(table.index)
    values = table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * table.shape[1] + 2.5), max(2.5, 0.38 * table.shape[0] + 1.2)))
    # month 0 is always 100%: cap the colour scale at the later months so their differences show
    later = values[:, 1:] if values.shape[1] > 1 else values
    top = np.nanmax(later) if np.isfinite(later).any() and np.nanmax(later) > 0 else 1.0
    image = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=top, aspect="auto")
    if table.size <= 400:  # labels stay legible up to about 20 x 20 cells
        for (row, col), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 * top else "black")
    ax.set_xticks(range(table.shape[1]), [str(int(c)) for c in table.columns])
    labels = [f"{pd.Timestamp(m):%Y-%m} (n={int(n)})" for m, n in zip(table.index, sizes)]
    ax.set_yticks(range(table.shape[0]), labels, fontsize=8)
    ax.set_xlabel("months since first purchase")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of the cohort ordering", format="{x:.0%}")
    return to_png(fig)


def rfm_grid(grid: pd.DataFrame, title: str = "RFM grid: recency score by frequency score") -> bytes:
    """Customers and net revenue per (recency_score, frequency_score) cell, 5 = most recent / most frequent."""
    if grid.empty:
        return no_data_picture(title, "no customers with orders yet")
    scores = range(1, 6)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    for ax, column, label, fmt in ((axes[0], "customers", "customers", "{:,.0f}"),
                                   (axes[1], "net_revenue", "net revenue", "{:,.0f}")):
        table = grid.pivot_table(index="recency_score", columns="frequency_score", values=column,
                                 aggfunc="sum", fill_value=0).reindex(index=scores, columns=scores, fill_value=0)
        values = table.to_numpy(dtype=float)
        image = ax.imshow(values, cmap="Greens", origin="lower")
        top = values.max() or 1.0
        for (row, col), value in np.ndenumerate(values):
            ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 * top else "black")
        ax.set_xticks(range(5), [str(s) for s in scores])
        ax.set_yticks(range(5), [str(s) for s in scores])
        ax.set_xlabel("frequency score (5 = most orders)")
        ax.set_ylabel("recency score (5 = most recent)")
        ax.set_title(label)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title)
    return to_png(fig)


def campaign_funnel(performance: pd.DataFrame, title: str = "Campaign funnel and holdout lift") -> bytes:
    """Per campaign: sent, delivered, opened, clicked, converted, and step 1's lift over the holdout with its CI.

    ``performance`` is campaign_performance; "sent" counts everyone who got the message (sent or outbox).
    """
    if performance.empty:
        return no_data_picture(title, "no campaign has gone out yet")
    frame = performance.assign(sent=performance["treated"])
    funnel = frame.groupby("campaign")[list(FUNNEL_STAGES)].sum().sort_index()
    first = frame[frame["step"] == 1].set_index("campaign").reindex(funnel.index)
    fig, (bars, lift) = plt.subplots(1, 2, figsize=(12, max(3.2, 0.55 * len(funnel) + 1.5)),
                                     gridspec_kw={"width_ratios": [3, 2]}, sharey=True, layout="constrained")
    y = np.arange(len(funnel))
    height = 0.8 / len(FUNNEL_STAGES)
    for index, stage in enumerate(FUNNEL_STAGES):
        bars.barh(y + (index - 2) * height, funnel[stage], height=height, label=stage)
    bars.set_yticks(y, funnel.index)
    bars.invert_yaxis()
    bars.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    bars.set_xlabel("messages / people")
    bars.set_title("funnel (all steps)")
    bars.legend(fontsize=8, ncols=len(FUNNEL_STAGES), loc="lower center", bbox_to_anchor=(0.5, -0.45 if len(funnel) < 3
                else -0.25), frameon=False)
    bars.grid(axis="x", alpha=0.3)
    points = first["lift"].astype(float).to_numpy()
    low = np.nan_to_num(np.clip(points - first["lift_ci_lower"].astype(float).to_numpy(), 0, None))
    high = np.nan_to_num(np.clip(first["lift_ci_upper"].astype(float).to_numpy() - points, 0, None))
    lift.errorbar(points, y, xerr=[low, high], fmt="o", capsize=3, color="tab:purple")
    for row, value in zip(y, points):
        if np.isnan(value):
            lift.text(0, row, " no lift yet (needs treated and holdout)", va="center", ha="left", fontsize=8, color="grey")
    lift.axvline(0, color="black", linewidth=0.8)
    lift.set_xlabel("conversion lift over holdout (95% CI)")
    lift.set_title("holdout lift (step 1)")
    lift.xaxis.set_major_locator(mticker.MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))  # round percentages, few ticks
    lift.xaxis.set_major_formatter(mticker.PercentFormatter(xmax=1))
    lift.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    return to_png(fig)
