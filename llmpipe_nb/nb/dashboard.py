"""CostDashboard: the ledger filtered by provider and model, with totals, a summary and plots.

Charts are drawn on a matplotlib Figure (no pyplot state, no GUI backend) and embedded
as PNG data in an HTML widget, so the dashboard needs no file, server or CDN, and its
state can be read from Python (and tested) without a frontend. They have no background
and grey text, so they read in light and dark themes alike.
"""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any

import ipywidgets as widgets

from .. import views
from ..errors import ConfigError

ALL = "(all)"
#: chart name -> Ledger method
PLOTS = {
    "cost over time": "plot_cost_over_time",
    "cost by model": "plot_cost_by_model",
    "latency": "plot_latency",
    "time per plug": "plot_plug_time",
}
#: chart text and axes: a grey with about the same contrast on a white and a near-black page
CHART_GREY = "#777777"
#: in the summary a long model name wraps anywhere; numbers and their headings align right
SUMMARY_CSS = "#R table.lp-t td{overflow-wrap:anywhere}#R table.lp-t th+th{text-align:right}"
#: the views' font, for the controls too (in an exported page they would take a serif one)
FONT = "var(--jp-ui-font-family,system-ui,-apple-system,sans-serif)"
#: the summary table: ledger.summary() in short, names with their numbers
SUMMARY_COLUMNS = ("provider/model", "requests", "tokens in/out", "cost", "cache hits",
                   "saved", "errors", "p50/p95 ms")  # fmt: skip


class CostDashboard(widgets.VBox):
    """`CostDashboard()`: pick a provider and a model; totals, the summary and a chart follow."""

    def __init__(self, ledger: Any = None) -> None:
        if ledger is None:
            from ..ledger import ledger as process_ledger

            ledger = process_ledger()
        self.ledger = ledger
        self._quiet = False
        self.provider = widgets.Dropdown(options=[ALL], value=ALL, description="provider")
        self.model = widgets.Dropdown(options=[ALL], value=ALL, description="model")
        self.plot = widgets.Dropdown(
            options=list(PLOTS), value="cost by model", description="chart"
        )
        self.refresh_button = widgets.Button(description="Refresh")
        uid = f"llmpipe-{secrets.token_hex(6)}"
        self._font_css = f"<style>.{uid}{{font-family:{FONT}}}</style>"
        self.totals_html = widgets.HTML()
        self.summary_html = widgets.HTML()
        self.chart_html = widgets.HTML()
        for control in (self.provider, self.model, self.plot):
            control.observe(self._changed, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        controls = widgets.HBox([self.provider, self.model, self.plot, self.refresh_button])
        super().__init__([controls, self.totals_html, self.summary_html, self.chart_html])
        self.add_class(uid)
        self.refresh()

    # -- the Python API ------------------------------------------------------------------------

    def filters(self) -> dict[str, str]:
        """The ledger filters the controls stand for."""
        chosen = {"provider": self.provider.value, "model": self.model.value}
        return {k: v for k, v in chosen.items() if v != ALL}

    def filter(self, provider: str | None = None, model: str | None = None) -> None:
        """Show one provider and/or model (None for all of them)."""
        for control, value in ((self.provider, provider), (self.model, model)):
            wanted = ALL if value is None else value
            if wanted not in control.options:
                known = ", ".join(o for o in control.options if o != ALL) or "none yet"
                raise ConfigError(
                    f"The ledger has no {control.description} '{value}' (it has: {known})."
                )
            control.value = wanted
            if control is self.provider:
                self._fill_models()

    def totals(self) -> dict[str, Any]:
        """Requests, tokens, cost, cache hits, cost saved and errors under the current filters."""
        df = self.ledger.costs(**self.filters())
        return {
            "requests": len(df),
            "input_tokens": int(df.input_tokens.sum()),
            "output_tokens": int(df.output_tokens.sum()),
            "cost_usd": float(df.cost_usd.sum()),
            "unpriced": int(df.cost_usd.isna().sum()),
            "cache_hits": int(df.cache_hit.sum()),
            "cost_saved_usd": float(df.cost_saved_usd.sum()),
            "errors": int((df.status == "error").sum()),
        }

    def refresh(self) -> None:
        """Read the ledger again (new requests since) and redraw."""
        self._quiet = True
        try:
            providers = sorted(set(self.ledger.costs().provider.dropna()))
            self.provider.options = [ALL, *providers]
            if self.provider.value not in self.provider.options:
                self.provider.value = ALL
            self._fill_models()
        finally:
            self._quiet = False
        self._draw()

    def chart_png(self) -> bytes:
        """The chosen chart as PNG bytes; a line that says why, where it would be empty."""
        from matplotlib import rc_context
        from matplotlib.figure import Figure

        empty = self.nothing_to_draw()
        grey = CHART_GREY
        with rc_context(
            {
                "figure.facecolor": "none",
                "axes.facecolor": "none",
                "savefig.transparent": True,
                "text.color": grey,
                "axes.labelcolor": grey,
                "axes.edgecolor": grey,
                "xtick.color": grey,
                "ytick.color": grey,
            }
        ):
            figure = Figure(figsize=(7, 0.6 if empty else 3), dpi=80, layout="constrained")
            ax = figure.add_subplot()
            if empty:
                ax.set_axis_off()
                ax.text(0, 0.5, empty, va="center", fontsize=12, parse_math=False)
            else:
                getattr(self.ledger, PLOTS[self.plot.value])(ax=ax, **self.filters())
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def nothing_to_draw(self) -> str | None:
        """Why the chosen chart would be empty (no requests; no spend on a cost chart), or None."""
        t = self.totals()
        if not t["requests"]:
            return "No requests recorded yet"
        if not self.plot.value.startswith("cost") or t["cost_usd"]:
            return None
        if t["unpriced"]:
            return (
                f"No spend yet: {t['unpriced']} of {t['requests']} requests without a price "
                "(llm.set_price sets one)"
            )
        return f"No spend yet: {t['requests']} request{'s' * (t['requests'] != 1)}, $0 in all"

    # -- rendering -----------------------------------------------------------------------------

    def _fill_models(self) -> None:
        provider = self.provider.value
        df = self.ledger.costs(**({} if provider == ALL else {"provider": provider}))
        models = sorted(set(df.model.dropna()))
        quiet, self._quiet = self._quiet, True
        try:
            current = self.model.value
            self.model.options = [ALL, *models]
            self.model.value = current if current in self.model.options else ALL
        finally:
            self._quiet = quiet

    def _changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"] is self.provider:
            self._fill_models()
        self._draw()

    def _totals_html(self) -> str:
        t = self.totals()
        unpriced = f" ({t['unpriced']} unpriced)" if t["unpriced"] else ""
        facts = [
            ("requests", str(t["requests"])),
            ("tokens", f"{t['input_tokens']} in · {t['output_tokens']} out"),
            ("cost", views.money(t["cost_usd"]) + unpriced),
            ("cache hits", str(t["cache_hits"])),
            ("saved", views.money(t["cost_saved_usd"])),
            ("errors", str(t["errors"])),
        ]
        scope = " · ".join(f"{k} {v}" for k, v in self.filters().items()) or "everything"
        items = "".join(f"<span>{views.esc(k)} <b>{views.esc(v)}</b></span>" for k, v in facts)
        return (
            f'<div class="lp-head"><span class="lp-title">Costs</span>{views.esc(scope)}</div>'
            f'<div class="lp-facts">{items}</div>'
        )

    def _summary_table(self) -> str:
        summary = self.ledger.summary(**self.filters())
        if summary.empty:
            return '<div class="lp-note">no requests recorded yet</div>'
        rows = [
            [
                "/".join(r.Index),
                f"{r.requests:,}",
                f"{r.input_tokens:,}/{r.output_tokens:,}",
                "unpriced" if r.cost_usd != r.cost_usd else views.money(r.cost_usd),
                f"{r.cache_hits:,}",
                views.money(r.cost_saved_usd),
                f"{r.error_rate:.0%}",
                f"{_ms(r.p50_latency_ms)}/{_ms(r.p95_latency_ms)}",
            ]
            for r in summary.itertuples()  # keeps each column's dtype, unlike iterrows
        ]
        cells = [[views.esc(c) for c in row] for row in rows]
        return views.table(SUMMARY_COLUMNS, cells, numeric=range(1, len(SUMMARY_COLUMNS)))

    def _draw(self) -> None:
        totals = views.frame(f'<div class="lp-card">{self._totals_html()}</div>')
        self.totals_html.value = self._font_css + totals
        self.summary_html.value = views.frame(self._summary_table(), SUMMARY_CSS)
        png = base64.b64encode(self.chart_png()).decode("ascii")
        self.chart_html.value = (
            f'<img alt="{views.esc(self.plot.value)}" src="data:image/png;base64,{png}"'
            ' style="max-width:100%">'
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live dashboard where widgets render; its current view as HTML everywhere else."""
        data = super()._repr_mimebundle_(**kwargs) or {}
        t = self.totals()
        data["text/plain"] = (
            f"CostDashboard: {t['requests']} requests, {views.money(t['cost_usd'])}, "
            f"{t['cache_hits']} cache hits, {t['errors']} errors"
        )
        data["text/html"] = (
            views.frame(
                f'<div class="lp-card">{self._totals_html()}{self._summary_table()}</div>',
                SUMMARY_CSS,
            )
            + self.chart_html.value
        )
        return data


def _ms(value: float) -> str:
    """Milliseconds with three significant digits below 100, whole ones above."""
    if value != value:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
