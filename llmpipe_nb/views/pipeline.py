"""A pipeline's ordered plugs with their options, credentials masked."""

from __future__ import annotations

from typing import Any

from ..errors import redact
from ._html import esc, frame, options_html, shown, table


def pipeline_html(info: Any) -> str:
    """The ordered plugs of a pipeline with their options (credentials masked)."""
    rows = [
        [
            str(p.index),
            f"<code>{esc(p.name)}</code>",
            options_html(p.options),
            f'<span class="lp-note">{esc(p.cls)}</span>',
        ]
        for p in info
    ]
    head = (
        f'<div class="lp-head"><span class="lp-title">Pipeline</span>{esc(info.provider)}/{esc(info.kind)}'
        f"<span>{len(info)} plugs</span></div>"
    )
    return frame(
        f'<div class="lp-card">{head}{table(["#", "plug", "options", "class"], rows)}</div>'
    )


def pipeline_text(info: Any) -> str:
    lines = [f"Pipeline {info.provider}/{info.kind}"]
    for p in info:
        opts = ", ".join(f"{k}={shown(k, v)}" for k, v in p.options.items())
        lines.append(f"{p.index:>2} {p.name}" + (f"({opts})" if opts else ""))
    return redact("\n".join(lines))


def pipeline_rich(info: Any) -> Any:
    """A table of the plugs with their options (credentials masked)."""
    from rich.table import Table
    from rich.text import Text

    table = Table("#", "plug", "options", title=Text(f"Pipeline {info.provider}/{info.kind}"))
    for p in info:
        opts = ", ".join(f"{k}={shown(k, v)}" for k, v in p.options.items())
        table.add_row(str(p.index), Text(p.name), Text(redact(opts)))  # Text: no markup parsing
    return table
