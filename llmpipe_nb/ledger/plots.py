"""The ledger's charts, drawn by pandas through matplotlib; each returns its Axes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def cost_over_time(costs: pd.DataFrame, ax: Axes | None) -> Axes:
    """Cumulative spend over time, one line per provider/model."""
    df = _labelled(costs)
    wide = df.pivot_table(index="ts", columns="label", values="cost", aggfunc="sum")
    return _plot(
        wide.fillna(0.0).cumsum(),
        ax,
        "Cumulative cost (USD)",
        "line",
        "time",
        "USD",
        drawstyle="steps-post",
    )


def cost_by_model(costs: pd.DataFrame, ax: Axes | None) -> Axes:
    """Total cost per provider/model, as horizontal bars."""
    by = _labelled(costs).groupby("label").cost.sum().sort_values()
    return _plot(by, ax, "Cost by model (USD)", "barh", "USD")


def latency(costs: pd.DataFrame, ax: Axes | None, bins: int) -> Axes:
    """The distribution of request latency in milliseconds."""
    return _plot(costs.latency_ms.dropna(), ax, "Latency (ms)", "hist", "ms", "requests", bins=bins)


def plug_time(traces: pd.DataFrame, ax: Axes | None) -> Axes:
    """Each plug's share of the total time spent in plugs, in percent."""
    by = traces.groupby("plug").duration_us.sum()
    share = (100 * by / by.sum()).sort_values()
    return _plot(share, ax, "Share of time per plug (%)", "barh", "% of time")


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Costs with a "provider/model" label and unpriced rows counted as 0 for drawing."""
    return df.assign(label=df.provider + "/" + df.model.fillna("?"), cost=df.cost_usd.fillna(0.0))


def _plot(
    data: Any,
    ax: Axes | None,
    title: str,
    kind: str,
    xlabel: str,
    ylabel: str | None = None,
    **options: Any,
) -> Axes:
    """Draw through pandas; with no rows, an empty chart that says so instead of an error."""
    if data.empty:
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.figure().add_subplot()
        ax.set_title(title)
        ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes)
    else:
        ax = data.plot(kind=kind, ax=ax, title=title, **options)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax
