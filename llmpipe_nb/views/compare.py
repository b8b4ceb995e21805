"""A comparison grid: one row per prompt, one column per model, as HTML, text and rich.

The grid is plain data (`Grid`), so the same picture is drawn while answers stream in
and once they are all there. Parsed fields whose values differ between the models of a
row are highlighted; a failed cell shows its typed error in place of an answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import redact
from ._html import badge, clip, duration, esc, frame, money, shown
from .answer import answer_html

#: how an answer is shown while it is still arriving (JSON and HTML only make sense whole)
_STREAMING_FORMAT = {"markdown": "markdown", "code": "code"}
_TEXT_CHARS = 600

_CSS = """
#R table.lp-grid{border-collapse:collapse;width:100%;table-layout:fixed;font-size:12px;margin:4px 0}
#R table.lp-grid th,#R table.lp-grid td{border:1px solid var(--jp-border-color2,#d0d7de);
padding:4px 8px;vertical-align:top;text-align:left}
#R table.lp-grid thead th{background:var(--jp-layout-color2,#f6f8fa);font-weight:600;
overflow-wrap:anywhere}
#R table.lp-grid th.lp-prompt{font-weight:normal;width:22%;overflow-wrap:anywhere}
#R .lp-key{display:block;font-size:11px;color:var(--jp-ui-font-color2,#57606a)}
#R .lp-answer{max-height:20em;overflow:auto;margin:0}
#R .lp-answer h1,#R .lp-answer h2,#R .lp-answer h3,#R .lp-answer h4{font-size:1.05em;margin:.4em 0}
#R td.lp-cell-error{background:#fff8f7}
#R table.lp-fields{border-collapse:collapse;margin:4px 0;font-size:12px}
#R table.lp-fields td{border:none;padding:1px 8px 1px 0}
#R table.lp-fields td.lp-diff{background:#fff8c5;font-weight:600}
#R tr.lp-totals td,#R tr.lp-totals th{background:var(--jp-layout-color2,#f6f8fa)}
"""


@dataclass(frozen=True)
class GridCell:
    """One model's answer to one prompt, as far as it has arrived."""

    text: str = ""
    state: str = "waiting"  # waiting | streaming | done | error | unsent | interrupted
    error: BaseException | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cost_status: str | None = None
    cache_hit: bool = False
    fields: Mapping[str, Any] | None = None  # parsed structured output


@dataclass(frozen=True)
class GridRow:
    prompt: str  # the prompt as sent
    key: str | None  # the data row it came from
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class Grid:
    title: str
    headers: tuple[str, ...]
    rows: tuple[GridRow, ...]
    totals: tuple[str, ...]  # one summary line per column
    status: str  # "running" or "done"
    progress: str  # "4 of 6 done · $0.000120 · 1 failed"
    format: str = "markdown"


def differing(cells: Sequence[GridCell]) -> set[str]:
    """The parsed fields whose values are not the same in every cell that has them."""
    parsed = [c.fields for c in cells if c.fields is not None]
    if len(parsed) < 2:
        return set()
    names = {k for f in parsed for k in f}
    return {k for k in names if len({repr(f.get(k)) for f in parsed}) > 1}


def cell_facts(cell: GridCell) -> list[str]:
    """Latency, first token, tokens and cost, in that order, for what is known."""
    facts = []
    if cell.latency_ms is not None:
        facts.append(duration(cell.latency_ms * 1e6))
    if cell.ttft_ms is not None:
        facts.append(f"first token {duration(cell.ttft_ms * 1e6)}")
    if cell.output_tokens is not None:
        facts.append(f"{cell.input_tokens or 0} → {cell.output_tokens} tokens")
    if cell.state == "done" or cell.cost_usd is not None:
        facts.append(money(cell.cost_usd, cell.cost_status))
    if cell.cache_hit:
        facts.append("cache hit")
    return facts


def _error_line(cell: GridCell) -> str:
    error = cell.error
    if cell.state == "interrupted" and error is None:
        return "interrupted"
    return "" if error is None else f"{type(error).__name__}: {error}"


# -- HTML --------------------------------------------------------------------------------


def _fields_html(fields: Mapping[str, Any], diff: set[str]) -> str:
    mark = ' class="lp-diff"'
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td{mark if k in diff else ''}>{esc(shown(k, v, 200))}</td></tr>"
        for k, v in fields.items()
    )
    return f'<table class="lp-fields">{rows}</table>'


def _cell_html(cell: GridCell, fmt: str, diff: set[str]) -> str:
    parts = []
    if cell.state == "waiting":
        parts.append('<span class="lp-note">waiting…</span>')
    elif cell.text:
        shown_as = _STREAMING_FORMAT.get(fmt, "text") if cell.state == "streaming" else fmt
        parts.append(f'<div class="lp-body lp-answer">{answer_html(cell.text, shown_as)}</div>')
    if cell.state == "streaming":
        parts.append(badge("streaming", "streaming"))
    if cell.fields is not None:
        parts.append(_fields_html(cell.fields, diff))
    line = _error_line(cell)
    if line:
        parts.append(f'<ul class="lp-errors"><li>{esc(line)}</li></ul>')
    facts = cell_facts(cell)
    if facts:
        parts.append(f'<div class="lp-note">{esc(" · ".join(facts))}</div>')
    failed = cell.state in ("error", "unsent", "interrupted")
    return f'<td class="lp-cell lp-{esc(cell.state)}{" lp-cell-error" if failed else ""}">{"".join(parts)}</td>'


def grid_html(grid: Grid) -> str:
    """The grid as one self-contained, escaped HTML table with scoped CSS."""
    head = "".join(f"<th>{esc(h)}</th>" for h in grid.headers)
    body = []
    for row in grid.rows:
        key = f'<span class="lp-key">row {esc(row.key)}</span>' if row.key is not None else ""
        diff = differing(row.cells)
        cells = "".join(_cell_html(c, grid.format, diff) for c in row.cells)
        body.append(f'<tr><th class="lp-prompt">{key}{esc(clip(row.prompt, 400))}</th>{cells}</tr>')
    totals = "".join(f'<td class="lp-note">{esc(t)}</td>' for t in grid.totals)
    state = "streaming" if grid.status == "running" else "completed"
    inner = (
        f'<div class="lp-card"><div class="lp-head"><span class="lp-title">{esc(grid.title)}</span>'
        f"{badge(grid.status, state)}<span>{esc(grid.progress)}</span></div>"
        f'<table class="lp-grid"><thead><tr><th class="lp-prompt">prompt</th>{head}</tr></thead>'
        f'<tbody>{"".join(body)}<tr class="lp-totals"><th class="lp-prompt">per model</th>'
        f"{totals}</tr></tbody></table></div>"
    )
    return frame(inner, _CSS)


# -- text and rich -----------------------------------------------------------------------


def _cell_lines(cell: GridCell, diff: set[str]) -> list[str]:
    lines = []
    if cell.state == "waiting":
        lines.append("waiting…")
    elif cell.text:
        lines += clip(cell.text, _TEXT_CHARS).splitlines() or [""]
        if cell.state == "streaming":
            lines[-1] += "▌"
    if cell.fields is not None:
        lines += [
            f"{'*' if k in diff else ' '} {k} = {shown(k, v, 200)}" for k, v in cell.fields.items()
        ]
    line = _error_line(cell)
    if line:
        lines.append(f"! {line}")
    return lines


def grid_text(grid: Grid) -> str:
    """The text twin: each prompt, then each model's answer under its header and facts."""
    out = [f"{grid.title} · {grid.status} · {grid.progress}"]
    for number, row in enumerate(grid.rows, 1):
        key = f" (row {row.key})" if row.key is not None else ""
        out.append(f"── [{number}]{key} {clip(row.prompt, 200)}")
        diff = differing(row.cells)
        for header, cell in zip(grid.headers, row.cells, strict=True):
            out.append("   " + " · ".join([header, *cell_facts(cell)]))
            out += [f"     {line}" for line in _cell_lines(cell, diff)]
    out.append("── per model")
    out += [f"   {h}: {t}" for h, t in zip(grid.headers, grid.totals, strict=True)]
    return redact("\n".join(out))


def grid_rich(grid: Grid) -> Any:
    """A rich table for terminals: the prompts down the side, one column per model."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{grid.title} · {grid.status} · {grid.progress}", show_lines=True, expand=True
    )
    table.add_column("prompt", ratio=1)
    for header in grid.headers:
        table.add_column(header, ratio=2)
    for row in grid.rows:
        diff = differing(row.cells)
        key = f"row {row.key}\n" if row.key is not None else ""
        cells = []
        for cell in row.cells:
            text = Text(redact("\n".join(_cell_lines(cell, diff))))
            if cell.state in ("error", "unsent", "interrupted"):
                text.stylize("red")
            facts = cell_facts(cell)
            if facts:
                text.append("\n" + " · ".join(facts), style="dim")
            cells.append(text)
        table.add_row(Text(redact(key + clip(row.prompt, 200))), *cells)
    table.add_row(Text("per model", style="bold"), *(Text(t, style="dim") for t in grid.totals))
    return table
