"""The per-model summary of a comparison, and its bar chart (pandas through matplotlib,
as the ledger's charts are drawn). Latency counts the answers only; a cell that failed
or was never sent counts as a failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "answers",
    "failures",
    "mean_latency_ms",
    "p95_latency_ms",
    "mean_ttft_ms",
    "cost_usd",
    "mean_output_tokens",
)


def per_model(frame: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """One row per model, in the order of the comparison's columns."""
    import pandas as pd

    rows = []
    for model in models:
        mine = frame[frame.model == model]
        ok = mine[mine.error.isna()]
        latency = ok.latency_ms.dropna().astype(float)
        rows.append(
            (
                len(ok),
                len(mine) - len(ok),
                latency.mean() if len(latency) else None,
                latency.quantile(0.95) if len(latency) else None,
                ok.ttft_ms.dropna().astype(float).mean() if ok.ttft_ms.notna().any() else None,
                float(mine.cost_usd.fillna(0.0).sum()),
                ok.output_tokens.dropna().astype(float).mean()
                if ok.output_tokens.notna().any()
                else None,
            )
        )
    out = pd.DataFrame(rows, columns=list(COLUMNS), index=pd.Index(list(models), name="model"))
    return out.astype(
        {
            "answers": "int64",
            "failures": "int64",
            "mean_latency_ms": "Float64",
            "p95_latency_ms": "Float64",
            "mean_ttft_ms": "Float64",
            "cost_usd": "float64",
            "mean_output_tokens": "Float64",
        }
    )


def plot(summary: pd.DataFrame, axes: Any = None) -> Any:
    """Total cost per model above mean and p95 latency per model; returns the two Axes."""
    if axes is None:
        import matplotlib.pyplot as plt

        height = 0.5 * len(summary) + 1.4
        _, axes = plt.subplots(2, 1, figsize=(9, 2 * height), layout="constrained")
    cost_ax, latency_ax = axes
    summary.cost_usd.plot(kind="barh", ax=cost_ax, title="Cost per model (USD)")
    cost_ax.set_xlabel("USD")
    cost_ax.set_ylabel("")
    cost_ax.invert_yaxis()  # the first model on top, as in the grid
    latency = summary[["mean_latency_ms", "p95_latency_ms"]].astype(float).fillna(0.0)
    latency.columns = ["mean", "p95"]
    latency.plot(kind="barh", ax=latency_ax, title="Latency per model (ms)")
    latency_ax.set_xlabel("ms")
    latency_ax.set_ylabel("")
    latency_ax.invert_yaxis()
    return axes
