"""A tool loop as a transcript: each model turn and each tool run, folded, before the answer.

Read from `reply.steps` (model turns carry a `response`, tool runs a `call`) and, for a
loop waiting for approval, `reply.pending`. Arguments show as pretty JSON with values under
credential-like names masked; every text is redacted and escaped, results are clipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import redact
from ._html import badge, clip, duration, esc, is_secret_name, money
from .waterfall import loop_html, loop_span_ns

#: how much of a tool's result or a turn's text a fold shows
RESULT_LIMIT = 2000
#: a tool run's status, as the badge colour that tells it apart
STATUS_KIND = {"ok": "ok", "denied": "halted", "error": "error", "invalid": "error"}


def _masked(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k): "***" if is_secret_name(str(k)) else _masked(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_masked(v, depth + 1) for v in value]
    return value


def pretty(value: Any, indent: int | None = 2) -> str:
    """Arguments as JSON (credential-like keys masked, secrets redacted)."""
    try:
        text = json.dumps(_masked(value), indent=indent, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return redact(text)


def _is_run(step: Any) -> bool:
    return hasattr(step, "call")


def _asked(turn: Any) -> str:
    names = [c.name for c in turn.response.tool_calls]
    return "asked for " + ", ".join(names) if names else "answered"


def loop_summary(steps: Sequence[Any]) -> str:
    """`2 model turns · 2 tool calls · 31.0 ms · $0.000100` for the whole loop."""
    turns = [s for s in steps if not _is_run(s)]
    runs = len(steps) - len(turns)
    costs = [s.response.cost for s in turns]
    cost = None if not costs or any(c is None for c in costs) else sum(costs)
    return (
        f"{len(turns)} model turn{'s' * (len(turns) != 1)} · {runs} tool "
        f"call{'s' * (runs != 1)} · {duration(loop_span_ns(steps))} · {money(cost)}"
    )


def _pre(text: str) -> str:
    """Redacted before it is clipped, so a clip cannot leave part of a key behind."""
    return f'<pre class="lp-pre">{esc(clip(redact(text), RESULT_LIMIT))}</pre>'


def _turn_html(turn: Any) -> str:
    response = turn.response
    head = (
        f"<b>Step {turn.step}</b> · model · {esc(_asked(turn))} · "
        f"{duration(turn.duration_ms * 1e6)} · {esc(money(response.cost, response.cost_status))}"
    )
    body = _pre(response.content) if response.content else ""
    for call in response.tool_calls:
        body += f"<div><code>{esc(call.name)}</code></div>{_pre(pretty(call.arguments))}"
    if not body:
        body = '<div class="lp-note">the answer is below</div>'
    return f'<details class="lp-step"><summary>{head}</summary>{body}</details>'


def _run_html(run: Any) -> str:
    head = (
        f"<code>{esc(run.call.name)}</code> {badge(run.status, STATUS_KIND.get(run.status, 'error'))}"
        f" · {duration(run.duration_ms * 1e6)}"
    )
    body = (
        f'<div class="lp-note">arguments</div>{_pre(pretty(run.call.arguments))}'
        f'<div class="lp-note">result</div>{_pre(run.output)}'
    )
    return f'<details class="lp-step lp-run"><summary>{head}</summary>{body}</details>'


def transcript_html(result: Any) -> str:
    """The loop's steps, each folded, and their waterfall (empty for a reply without steps)."""
    steps = getattr(result, "steps", ())
    if not steps:
        return ""
    items = "".join(_run_html(s) if _is_run(s) else _turn_html(s) for s in steps)
    timeline = (
        f"<details><summary>timeline · {esc(loop_summary(steps))}</summary>"
        f"{loop_html(steps)}</details>"
    )
    return f'<div class="lp-transcript"><div class="lp-note">tool loop</div>{items}{timeline}</div>'


def pending_html(result: Any) -> str:
    """The calls a paused loop waits on, with their arguments and how to go on."""
    calls = getattr(result, "pending", ())
    if not calls:
        return ""
    items = "".join(
        f"<li><code>{esc(c.name)}</code> <span class='lp-note'>{esc(c.id)}</span>"
        f"{_pre(pretty(c.arguments))}</li>"
        for c in calls
    )
    return (
        f'<div class="lp-note">waiting for approval</div><ul>{items}</ul>'
        '<div class="lp-note">go on with <code>reply.resume(approved=[...])</code>: the calls '
        "listed run, the others go back to the model as refused</div>"
    )


def transcript_text(result: Any) -> str:
    """The text twin: one line per model turn, an arrow line per tool call and result."""
    lines = []
    for s in getattr(result, "steps", ()):
        if _is_run(s):
            lines.append(
                f"  ← {s.call.name}: {s.status}, {s.duration_ms:.1f} ms: "
                f"{clip(redact(s.output).replace(chr(10), ' '), 200)}"
            )
            continue
        lines.append(
            f"Step {s.step} · model · {_asked(s)} · {s.duration_ms:.1f} ms · "
            f"{money(s.response.cost, s.response.cost_status)}"
        )
        lines += [
            f"  → {c.name}({clip(pretty(c.arguments, None), 200)})" for c in s.response.tool_calls
        ]
    return redact("\n".join(lines))


def pending_text(result: Any) -> str:
    """The calls a paused loop waits on, and how to go on."""
    calls = getattr(result, "pending", ())
    if not calls:
        return ""
    lines = [f"Waiting for approval ({len(calls)} call{'s' * (len(calls) != 1)}):"]
    lines += [f"  [{c.id}] {c.name}({clip(pretty(c.arguments, None), 200)})" for c in calls]
    ids = ", ".join(repr(c.id) for c in calls)
    lines.append(
        f"Run them with reply.resume(approved=[{ids}]); leave an id out to refuse that call."
    )
    return redact("\n".join(lines))
