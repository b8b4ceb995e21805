"""The building blocks every view shares, so that safety is decided in one place.

Text is redacted then escaped, credential-looking names are masked, and the CSS is scoped
to a container id unique per output; nothing is fetched from outside.
"""

from __future__ import annotations

import dataclasses
import html
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..config import ProviderConfig
from ..credentials import Secret, is_secret_name, mask_header
from ..errors import redact

# -- safe text -------------------------------------------------------------------------------


def esc(text: Any) -> str:
    """Text made safe for HTML: secrets removed, then escaped (quotes too)."""
    return html.escape(redact(str(text)), quote=True)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text) - limit + 1} more)"


def shown(name: str, value: Any, limit: int = 160) -> str:
    """A value as text for display: credentials masked, secrets redacted, long values clipped."""
    return clip(redact(_shown(name, value, 0)), limit)


def _shown(name: str, value: Any, depth: int) -> str:
    if isinstance(value, Secret) or (value is not None and is_secret_name(name)):
        return "'***'"
    if isinstance(value, ProviderConfig):
        value = value.masked()
    if depth > 3:
        return "…"
    if isinstance(value, Mapping):
        if name.lower() == "headers":
            return repr({str(k): mask_header(str(k), str(v)) for k, v in value.items()})
        items = ", ".join(f"{k!r}: {_shown(str(k), v, depth + 1)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        items = ", ".join(_shown("", v, depth + 1) for v in value[:20])
        more = ", …" if len(value) > 20 else ""
        return f"[{items}{more}]" if isinstance(value, list) else f"({items}{more})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(
            f"{f.name}={_shown(f.name, getattr(value, f.name), depth + 1)}"
            for f in dataclasses.fields(value)
            if f.repr
        )
        return f"{type(value).__name__}({fields})"
    return repr(value)


# -- numbers ---------------------------------------------------------------------------------


def duration(ns: float) -> str:
    ms = ns / 1e6
    if ms < 1:
        return f"{ms:.3f} ms"
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def money(cost: float | None, status: str | None = None) -> str:
    text = "cost unknown" if cost is None else f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"
    return f"{text} ({status})" if status and status != "priced" else text


# -- the frame ---------------------------------------------------------------------------------

_CSS = """
#R{font-family:var(--jp-ui-font-family,system-ui,-apple-system,sans-serif);font-size:13px;
color:var(--jp-ui-font-color1,#1f2328);line-height:1.45;max-width:100%}
#R .lp-card{border:1px solid var(--jp-border-color2,#d0d7de);border-radius:6px;padding:6px 12px;
margin:2px 0}
#R .lp-head{display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12px;
color:var(--jp-ui-font-color2,#57606a)}
#R .lp-title{font-weight:600;color:var(--jp-ui-font-color1,#1f2328)}
#R .lp-badge{border-radius:9px;padding:0 7px;background:var(--jp-layout-color2,#eaeef2)}
#R .lp-completed,#R .lp-ok{background:#dafbe1;color:#116329}
#R .lp-error{background:#ffebe9;color:#a40e26}
#R .lp-halted,#R .lp-hit,#R .lp-streaming{background:#fff8c5;color:#7d4e00}
#R .lp-body{margin:6px 0;overflow-wrap:anywhere}
#R .lp-body p{margin:.35em 0}
#R .lp-body table{border-collapse:collapse;margin:4px 0}
#R .lp-body th,#R .lp-body td{border:1px solid var(--jp-border-color2,#d0d7de);padding:2px 8px;
text-align:left}
#R .lp-pre,#R .lp-body pre{white-space:pre-wrap;margin:4px 0;padding:6px 8px;border-radius:4px;
background:var(--jp-layout-color2,#f6f8fa);font-family:var(--jp-code-font-family,monospace);
font-size:12px;text-align:left}
#R .lp-frame{width:100%;height:22em;border:1px solid var(--jp-border-color2,#d0d7de);resize:vertical}
#R .lp-facts{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;
color:var(--jp-ui-font-color2,#57606a)}
#R .lp-facts b{font-weight:600;color:var(--jp-ui-font-color1,#1f2328)}
#R .lp-errors{margin:4px 0;padding-left:18px;color:#a40e26;font-size:12px}
#R .lp-note{font-size:11px;color:var(--jp-ui-font-color2,#57606a)}
#R details{margin:4px 0}
#R .lp-step{margin:2px 0}
#R .lp-run{margin-left:18px}
#R summary{cursor:pointer;font-size:12px;color:var(--jp-ui-font-color2,#57606a)}
#R table.lp-t{border-collapse:collapse;width:100%;font-size:12px;margin:2px 0}
#R table.lp-t th,#R table.lp-t td{text-align:left;vertical-align:top;padding:2px 8px 2px 0;
border:none;background:none;white-space:normal}
#R table.lp-t th{font-weight:600;color:var(--jp-ui-font-color2,#57606a)}
#R table.lp-t tr.lp-sel td{background:var(--jp-layout-color2,#eaeef2)}
#R table.lp-t td.lp-num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
#R code{font-family:var(--jp-code-font-family,monospace);font-size:12px}
#R .lp-track{position:relative;height:9px;min-width:140px;border-radius:3px;margin-top:4px;
background:var(--jp-layout-color2,#eaeef2)}
#R .lp-bar{display:block;height:9px;border-radius:3px;background:#0969da}
#R .lp-bar.lp-old{background:#8c959f}
#R .lp-bar.lp-error{background:#cf222e}
#R .lp-bar.lp-halted{background:#bf8700}
"""


def frame(inner: str, extra_css: str = "") -> str:
    """Wrap `inner` in a container whose CSS applies to it alone (ids are unique per output).

    The math-ignore classes keep MathJax from turning `$` amounts into formulas.
    """
    uid = f"llmpipe-{secrets.token_hex(6)}"
    css = (_CSS + extra_css).replace("#R", f"#{uid}").replace("\n", "")
    return (
        f'<div id="{uid}" class="llmpipe tex2jax_ignore mathjax_ignore">'
        f"<style>{css}</style>{inner}</div>"
    )


def badge(text: str, kind: str = "") -> str:
    return f'<span class="lp-badge lp-{esc(kind)}">{esc(text)}</span>'


def facts_html(pairs: Iterable[tuple[str, str]]) -> str:
    """Label and value pairs as one wrapping line."""
    items = "".join(f"<span>{esc(k)} <b>{esc(v)}</b></span>" for k, v in pairs)
    return f'<div class="lp-facts">{items}</div>' if items else ""


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A table of already escaped cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="lp-num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<table class="lp-t"><tr>{head}</tr>{body}</table>'


def table_view(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> View:
    """A titled table of plain values, as HTML and text (used for listings)."""
    cells = [[esc(c) for c in row] for row in rows]
    inner = f'<div class="lp-card"><div class="lp-title">{esc(title)}</div>{table(headers, cells)}</div>'
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        title,
        "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip(),
    ]
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
        for row in rows
    ]
    return View(frame(inner), redact("\n".join(lines)))


class View:
    """Ready HTML with its text twin; displays itself in notebooks and terminals alike."""

    __slots__ = ("html", "text")

    def __init__(self, html: str, text: str) -> None:
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)

    def __repr__(self) -> str:
        return self.text

    def bundle(self) -> dict[str, str]:
        return {"text/plain": self.text, "text/html": self.html}


# -- parts of requests ------------------------------------------------------------------------


def errors_html(request: Any) -> str:
    """A request's errors and warnings, each with the plug that recorded it."""
    if request is None or not request.errors:
        return ""
    items = "".join(
        f"<li>{'error' if e.terminal else 'warning'} in <code>{esc(e.plug or '?')}</code>: "
        f"{esc(type(e.error).__name__)}: {esc(e.error)}</li>"
        for e in request.errors
    )
    return f'<ul class="lp-errors">{items}</ul>'


def options_html(options: Mapping[str, Any]) -> str:
    """Options as `name=value`, credentials masked."""
    if not options:
        return '<span class="lp-note">none</span>'
    return ", ".join(f"<code>{esc(k)}={esc(shown(k, v))}</code>" for k, v in options.items())
