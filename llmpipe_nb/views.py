"""HTML, text and rich views of responses, requests and pipelines (standard library only).

Every piece of model or user text is escaped and passed through `redact`, every option
whose name says it is a credential is masked, the CSS is scoped to a container id that
is unique per output, and nothing is fetched from outside (no CDN, no font, no script).
Each HTML view has a text twin for terminals, GitHub and nbconvert.
"""

from __future__ import annotations

import dataclasses
import html
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from .config import ProviderConfig, Secret, mask_header
from .errors import redact

FORMATS = ("markdown", "text", "code", "json", "html")
_SANDBOX_CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
)
_SECRET_WORDS = ("api_key", "apikey", "secret", "password", "authorization", "credential")

# -- safe text -------------------------------------------------------------------------------


def esc(text: Any) -> str:
    """Text made safe for HTML: secrets removed, then escaped (quotes too)."""
    return html.escape(redact(str(text)), quote=True)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text) - limit + 1} more)"


def is_secret_name(name: str) -> bool:
    """Whether an option or field called `name` holds a credential."""
    n = name.lower().replace("-", "_")
    return (
        n in ("key", "token")
        or n.endswith("_key")
        or n.endswith("_token")
        or any(w in n for w in _SECRET_WORDS)
    )


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


# -- the answer ------------------------------------------------------------------------------


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def markdown_html(text: str) -> str:
    """Markdown rendered with raw HTML disabled; plain escaped text if markdown-it-py is absent."""
    try:
        md = _markdown()
    except ImportError:
        return f'<pre class="lp-pre">{esc(text)}</pre>'
    return str(md.render(redact(text)))


def _unfence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        return stripped[3:-3].split("\n", 1)[-1] if "\n" in stripped else stripped[3:-3]
    return text


def answer_html(text: str, format: str = "markdown") -> str:
    """The answer's text rendered as `format`: markdown, text, code, json or html (sandboxed)."""
    if format == "markdown":
        return markdown_html(text)
    if format == "code":
        return f'<pre class="lp-pre"><code>{esc(_unfence(text))}</code></pre>'
    if format == "json":
        try:
            pretty = json.dumps(json.loads(_unfence(text)), indent=2, ensure_ascii=False)
        except ValueError:
            return f'<pre class="lp-pre">{esc(text)}</pre><div class="lp-note">not valid JSON</div>'
        return f'<pre class="lp-pre"><code>{esc(pretty)}</code></pre>'
    if format == "html":
        # The model's HTML in a sandbox: no scripts, no access to the page, nothing fetched.
        doc = _SANDBOX_CSP + text
        return f'<iframe class="lp-frame" sandbox="" srcdoc="{esc(doc)}"></iframe>'
    return f'<pre class="lp-pre">{esc(text)}</pre>'


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


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
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


# -- timing ----------------------------------------------------------------------------------


def _span(steps: Sequence[Any]) -> tuple[int, int]:
    start = min(s.started_at_ns for s in steps)
    end = max(s.started_at_ns + s.duration_ns for s in steps)
    return start, max(end - start, 1)


def _bar(step: Any, start: int, span: int, old: bool = False) -> str:
    left = min(100 * (step.started_at_ns - start) / span, 99.6)
    width = min(max(100 * step.duration_ns / span, 0.4), 100 - left)
    kind = "old" if old else step.outcome
    return (
        f'<div class="lp-track"><span class="lp-bar lp-{esc(kind)}" '
        f'style="margin-left:{left:.2f}%;width:{width:.2f}%"></span></div>'
    )


def trace_html(
    steps: Sequence[Any], compare: Sequence[Any] | None = None, selected: int | None = None
) -> str:
    """A waterfall of the plugs' timings; with `compare`, the earlier run's bars beside them."""
    if not steps:
        return '<div class="lp-note">no trace recorded</div>'
    start, span = _span(steps)
    earlier = {s.plug: s for s in compare or ()}
    old_start, old_span = _span(compare) if compare else (0, 1)
    scale = max(span, old_span)
    rows = []
    for s in steps:
        note = f'<div class="lp-note">{esc(s.note)}</div>' if s.note else ""
        bar = _bar(s, start, scale)
        was = ""
        if compare is not None:
            prev = earlier.get(s.plug)
            bar = (_bar(prev, old_start, scale, old=True) if prev else "") + bar
            was = f"<td class='lp-num'>{duration(prev.duration_ns) if prev else '-'}</td>"
        sel = ' class="lp-sel"' if s.index == selected else ""
        rows.append(
            f"<tr{sel}><td class='lp-num'>{s.index}</td><td><code>{esc(s.plug)}</code>{note}</td>"
            f"<td>{badge(s.outcome, s.outcome)}</td>{was}"
            f"<td class='lp-num'>{duration(s.duration_ns)}</td><td style='width:45%'>{bar}</td></tr>"
        )
    if compare is not None:
        gone = [p for p in earlier if p not in {s.plug for s in steps}]
        rows += [
            f"<tr><td></td><td><code>{esc(p)}</code></td><td>{badge('off')}</td>"
            f"<td class='lp-num'>{duration(earlier[p].duration_ns)}</td><td class='lp-num'>-</td><td></td></tr>"
            for p in gone
        ]
    heads = ["#", "plug", "outcome", *(["before"] if compare is not None else []), "time", ""]
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f'<table class="lp-t"><tr>{head}</tr>{"".join(rows)}</table>'


def trace_text(steps: Sequence[Any]) -> str:
    if not steps:
        return "no trace recorded"
    _, span = _span(steps)
    width = max(len(s.plug) for s in steps)
    lines = []
    for s in steps:
        bar = "█" * max(1, round(24 * s.duration_ns / span))
        note = f"  {s.note}" if s.note else ""
        lines.append(f"{s.index:>2} {s.plug:<{width}} {duration(s.duration_ns):>10} {bar}{note}")
    return redact("\n".join(lines))


# -- responses -------------------------------------------------------------------------------


def _request_of(result: Any) -> Any:
    return getattr(result, "request", None)


def _response_facts(result: Any) -> list[tuple[str, str]]:
    usage = getattr(result, "usage", None)
    req = _request_of(result)
    meta = req.metadata if req is not None else {}
    facts: list[tuple[str, str]] = []
    if usage is not None:
        tokens = f"{usage.input_tokens} in · {usage.output_tokens} out"
        if usage.cached_input_tokens:
            tokens += f" · {usage.cached_input_tokens} cached"
        if usage.reasoning_tokens:
            tokens += f" · {usage.reasoning_tokens} reasoning"
        facts.append(("tokens", tokens))
    facts.append(
        ("cost", money(getattr(result, "cost", None), getattr(result, "cost_status", None)))
    )
    if getattr(result, "latency_ms", None) is not None:
        facts.append(("latency", duration(result.latency_ms * 1e6)))
    if meta.get("ttft_ms") is not None:
        facts.append(("first token", duration(meta["ttft_ms"] * 1e6)))
    if meta.get("attempts", 1) > 1:
        facts.append(("attempts", str(meta["attempts"])))
    if getattr(result, "finish_reason", None):
        facts.append(("finish", result.finish_reason))
    if meta.get("tags"):
        facts.append(("tags", ", ".join(meta["tags"])))
    return facts


def _errors_html(request: Any) -> str:
    if request is None or not request.errors:
        return ""
    items = "".join(
        f"<li>{'error' if e.terminal else 'warning'} in <code>{esc(e.plug or '?')}</code>: "
        f"{esc(type(e.error).__name__)}: {esc(e.error)}</li>"
        for e in request.errors
    )
    return f'<ul class="lp-errors">{items}</ul>'


def _head(result: Any, state: str | None, extra: str = "") -> str:
    parts = [f'<span class="lp-title">{esc(getattr(result, "provider", None) or "?")}</span>']
    if getattr(result, "model", None):
        parts.append(f"<code>{esc(result.model)}</code>")
    if state:
        parts.append(badge(state, state))
    if getattr(result, "cache_hit", False):
        parts.append(badge("cache hit", "hit"))
    return f'<div class="lp-head">{"".join(parts)}{extra}</div>'


def response_html(result: Any, *, format: str = "markdown") -> str:
    """A chat or embedding response: the answer, its facts, errors and the per-plug timing."""
    req = _request_of(result)
    state = req.state if req is not None else None
    if hasattr(result, "embeddings"):
        body = _embeddings_html(result)
    else:
        body = answer_html(getattr(result, "content", "") or "", format)
        if getattr(result, "tool_calls", ()):
            calls = "".join(
                f"<li><code>{esc(c.name)}({esc(shown('', c.arguments, 400))})</code></li>"
                for c in result.tool_calls
            )
            body += f'<div class="lp-note">tool calls</div><ul>{calls}</ul>'
    timing = ""
    if req is not None and req.trace:
        total = duration(req.metadata.get("duration_ns", 0))
        timing = (
            f"<details><summary>{len(req.trace)} plugs · {total}</summary>"
            f"{trace_html(req.trace)}</details>"
        )
    inner = (
        f'<div class="lp-card">{_head(result, state)}<div class="lp-body">{body}</div>'
        f"{_facts(_response_facts(result))}{_errors_html(req)}{timing}</div>"
    )
    return frame(inner)


def _embeddings_html(result: Any) -> str:
    vectors = result.embeddings
    dims = len(vectors[0]) if vectors else 0
    rows = [
        [str(i), esc(", ".join(f"{x:.4f}" for x in v[:6]) + (", …" if len(v) > 6 else ""))]
        for i, v in enumerate(vectors[:8])
    ]
    more = f'<div class="lp-note">… {len(vectors) - 8} more</div>' if len(vectors) > 8 else ""
    return (
        f"<div>{len(vectors)} vectors x {dims} dimensions</div>{table(['#', 'values'], rows)}{more}"
    )


def _body_text(result: Any) -> str:
    if hasattr(result, "embeddings"):
        dims = len(result.embeddings[0]) if result.embeddings else 0
        return f"{len(result.embeddings)} vectors x {dims} dimensions"
    body = getattr(result, "content", "") or ""
    for c in getattr(result, "tool_calls", ()):
        body += f"\n→ tool call {c.name}({shown('', c.arguments, 400)})"
    return body


def response_footer(result: Any) -> str:
    """One line of facts (who answered, tokens, cost, latency), then any errors."""
    who = " · ".join(
        x for x in (getattr(result, "provider", None), getattr(result, "model", None)) if x
    )
    facts = " · ".join(
        v if k in ("cost", "finish") else f"{k} {v}" for k, v in _response_facts(result)
    )
    hit = " · cache hit" if getattr(result, "cache_hit", False) else ""
    req = _request_of(result)
    errors = "".join(
        f"\n! {type(e.error).__name__} in {e.plug}: {e.error}" for e in (req.errors if req else ())
    )
    return redact(f"── {who}{hit} · {facts}{errors}")


def response_text(result: Any) -> str:
    """The text twin: the answer, then one line of facts."""
    return f"{redact(_body_text(result))}\n{response_footer(result)}"


def response_rich(result: Any) -> Any:
    """A rich renderable for terminals: the answer as Markdown in a panel, facts below."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    title = Text(" · ".join(x for x in (result.provider, result.model) if x))
    if hasattr(result, "embeddings"):
        main: Any = Text(_body_text(result))
    else:
        main = Markdown(redact(result.content))
        main.parsed = _markdown().parse(main.markup)  # tags in the answer stay visible as text
    footer = Text(response_footer(result), style="dim")
    return Panel(Group(main, footer), title=title, title_align="left")


# -- requests --------------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") if p.get("type") == "text" else f"[{p.get('type')}]" for p in content
        )
    return "" if content is None else str(content)


def _messages_html(messages: Sequence[Any]) -> str:
    rows = []
    for m in messages:
        if isinstance(m, Mapping):
            role, text = m.get("role", ""), _content_text(m.get("content"))
        else:  # embedding inputs
            role, text = "input", str(m)
        rows.append(
            [f"<code>{esc(role)}</code>", f'<div class="lp-pre">{esc(clip(text, 4000))}</div>']
        )
    return table(["role", "content"], rows)


def options_html(options: Mapping[str, Any]) -> str:
    if not options:
        return '<span class="lp-note">none</span>'
    return ", ".join(f"<code>{esc(k)}={esc(shown(k, v))}</code>" for k, v in options.items())


def request_facts(request: Any) -> list[tuple[str, str]]:
    meta = request.metadata
    facts = [("kind", request.kind), ("state", request.state)]
    if request.model:
        facts.append(("model", request.model))
    if "latency_ms" in meta:
        facts.append(("latency", duration(meta["latency_ms"] * 1e6)))
    if "duration_ns" in meta:
        facts.append(("pipeline", duration(meta["duration_ns"])))
    if "attempts" in meta:
        facts.append(("attempts", str(meta["attempts"])))
    if "cost_usd" in meta:
        facts.append(("cost", money(meta["cost_usd"], meta.get("cost_status"))))
    if meta.get("cache_hit"):
        facts.append(("cache", "hit"))
    if meta.get("halt_reason"):
        facts.append(("halted by", str(meta["halt_reason"])))
    if meta.get("tags"):
        facts.append(("tags", ", ".join(meta["tags"])))
    return facts


def request_html(request: Any) -> str:
    """A request: its messages, options, result, errors and the per-plug timing waterfall."""
    head = (
        f'<div class="lp-head"><span class="lp-title">Request</span><code>{esc(request.id)}</code>'
        f"{esc(request.provider)}/{esc(request.kind)}{badge(request.state, request.state)}</div>"
    )
    result = request.result
    answer = ""
    if result is not None and isinstance(getattr(result, "content", None), str):
        answer = f'<div class="lp-body">{answer_html(result.content)}</div>'
    elif result is not None:
        answer = f'<div class="lp-body"><code>{esc(shown("result", result, 400))}</code></div>'
    inner = (
        f'<div class="lp-card">{head}{answer}{_facts(request_facts(request))}{_errors_html(request)}'
        f"<details><summary>{len(request.messages)} messages</summary>{_messages_html(request.messages)}</details>"
        f"<details><summary>options</summary>{options_html(request.options)}</details>"
        f"<details open><summary>timing</summary>{trace_html(request.trace)}</details></div>"
    )
    return frame(inner)


def request_text(request: Any) -> str:
    facts = " · ".join(f"{k} {v}" for k, v in request_facts(request))
    lines = [f"Request {request.id} {request.provider}/{request.kind} · {facts}"]
    lines += [
        f"  {m.get('role')}: {clip(_content_text(m.get('content')), 200)}"
        for m in request.messages
        if isinstance(m, Mapping)
    ]
    lines += [f"! {type(e.error).__name__} in {e.plug}: {e.error}" for e in request.errors]
    if request.trace:
        lines.append(trace_text(request.trace))
    return redact("\n".join(lines))


def request_rich(request: Any) -> Any:
    """A panel with the request's facts, errors and a table of its plugs' timings."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    facts = Text(redact(" · ".join(f"{k} {v}" for k, v in request_facts(request))), style="dim")
    parts: list[Any] = [facts]
    parts += [
        Text(redact(f"{type(e.error).__name__} in {e.plug}: {e.error}"), style="red")
        for e in request.errors
    ]
    if request.trace:
        _, span = _span(request.trace)
        table = Table("#", "plug", "outcome", "time", "", box=None, pad_edge=False)
        for s in request.trace:
            bar = "█" * max(1, round(30 * s.duration_ns / span))
            table.add_row(str(s.index), Text(s.plug), s.outcome, duration(s.duration_ns), bar)
        parts.append(table)
    title = Text(f"Request {request.id} {request.provider}/{request.kind}")
    return Panel(Group(*parts), title=title, title_align="left")


# -- pipelines -------------------------------------------------------------------------------


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
