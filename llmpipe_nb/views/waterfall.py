"""Per-plug timing bars, so where a request spent its time is visible at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import redact
from ._html import badge, duration, esc


def time_span(steps: Sequence[Any]) -> tuple[int, int]:
    """When `steps` start and how long they last together, in ns (never 0: bars divide by it)."""
    start = min(s.started_at_ns for s in steps)
    end = max(s.started_at_ns + s.duration_ns for s in steps)
    return start, max(end - start, 1)


def _bar(step: Any, start: int, span: int, old: bool = False) -> str:
    kind = "old" if old else step.outcome
    return _span_bar(step.started_at_ns, step.duration_ns, start, span, kind)


def _span_bar(began: int, took: int, start: int, span: int, kind: str) -> str:
    left = min(100 * (began - start) / span, 99.6)
    width = min(max(100 * took / span, 0.4), 100 - left)
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
    start, span = time_span(steps)
    earlier = {s.plug: s for s in compare or ()}
    old_start, old_span = time_span(compare) if compare else (0, 1)
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
    _, span = time_span(steps)
    width = max(len(s.plug) for s in steps)
    lines = []
    for s in steps:
        bar = "█" * max(1, round(24 * s.duration_ns / span))
        note = f"  {s.note}" if s.note else ""
        lines.append(f"{s.index:>2} {s.plug:<{width}} {duration(s.duration_ns):>10} {bar}{note}")
    return redact("\n".join(lines))


# -- a tool loop's steps on one time axis ---------------------------------------------------

#: a step's outcome as (its bar's colour, its badge's colour)
_KINDS = {
    "asked": ("completed", "ok"),
    "answered": ("completed", "ok"),
    "ok": ("completed", "ok"),
    "denied": ("halted", "halted"),
}


def loop_spans(steps: Sequence[Any]) -> list[tuple[int, int]]:
    """(start, duration) in ns of each model turn and tool run; a step without a recorded
    start (a call answered without running) sits where the step before it ended."""
    spans: list[tuple[int, int]] = []
    cursor: int | None = None
    for step in steps:
        took = int(step.duration_ms * 1e6)
        began = getattr(step, "started_at_ns", None)
        if began is None:
            began = cursor or 0
        spans.append((began, took))
        cursor = max(cursor or began, began + took)
    return spans


def loop_span_ns(steps: Sequence[Any]) -> int:
    """The wall time of a loop's steps (parallel calls overlap), in ns."""
    spans = loop_spans(steps)
    if not spans:
        return 0
    return max(b + t for b, t in spans) - min(b for b, _ in spans)


def _label(step: Any) -> tuple[str, str]:
    """(the step's name, its outcome) for a model turn or a tool run."""
    if hasattr(step, "call"):
        return step.call.name, step.status
    return f"model, step {step.step}", "asked" if step.response.tool_calls else "answered"


def loop_html(steps: Sequence[Any]) -> str:
    """The loop's model turns and tool runs as bars on one time axis."""
    if not steps:
        return '<div class="lp-note">no steps recorded</div>'
    spans = loop_spans(steps)
    start = min(b for b, _ in spans)
    span = max(loop_span_ns(steps), 1)
    rows = []
    for step, (began, took) in zip(steps, spans, strict=True):
        name, outcome = _label(step)
        kind, badge_kind = _KINDS.get(outcome, ("error", "error"))
        bar = _span_bar(began, took, start, span, kind)
        rows.append(
            f"<tr><td><code>{esc(name)}</code></td><td>{badge(outcome, badge_kind)}</td>"
            f"<td class='lp-num'>{duration(took)}</td><td style='width:50%'>{bar}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("step", "outcome", "time", ""))
    return f'<table class="lp-t"><tr>{head}</tr>{"".join(rows)}</table>'
