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
