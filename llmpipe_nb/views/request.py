"""A request as it went through the pipeline: messages, options, result, errors, timing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import redact
from ._html import (
    badge,
    clip,
    duration,
    errors_html,
    esc,
    facts_html,
    frame,
    money,
    options_html,
    shown,
    table,
)
from .answer import answer_html
from .waterfall import time_span, trace_html, trace_text


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
        how = meta["cache_hit"]
        facts.append(("cache", "replayed" if how == "replay" else "hit" if how is True else how))
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
        f'<div class="lp-card">{head}{answer}{facts_html(request_facts(request))}{errors_html(request)}'
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
        _, span = time_span(request.trace)
        table = Table("#", "plug", "outcome", "time", "", box=None, pad_edge=False)
        for s in request.trace:
            bar = "█" * max(1, round(30 * s.duration_ns / span))
            table.add_row(str(s.index), Text(s.plug), s.outcome, duration(s.duration_ns), bar)
        parts.append(table)
    title = Text(f"Request {request.id} {request.provider}/{request.kind}")
    return Panel(Group(*parts), title=title, title_align="left")
