"""The model's reasoning, shown collapsed: it explains an answer but is not the answer."""

from __future__ import annotations

from typing import Any

from ..errors import redact
from ._html import esc

_LINE = 100  # characters of thinking the text twin shows


def _summary(result: Any) -> str:
    """'thinking · 812 characters · 1 redacted block', or '' when there is no reasoning."""
    parts = getattr(result, "reasoning", ())
    if not parts:
        return ""
    text = result.reasoning_text
    redacted = sum(1 for p in parts if p.kind == "redacted_thinking")
    facts = ["thinking", f"{len(text)} characters" if text else "hidden"]
    if redacted:
        facts.append(f"{redacted} redacted block" + ("s" if redacted > 1 else ""))
    return " · ".join(facts)


def reasoning_html(result: Any) -> str:
    """A closed `<details>` holding the readable reasoning, escaped; '' without reasoning."""
    summary = _summary(result)
    if not summary:
        return ""
    text = result.reasoning_text
    inner = f'<div class="lp-pre">{esc(text)}</div>' if text else ""
    return f'<details class="lp-reasoning"><summary>{esc(summary)}</summary>{inner}</details>'


def reasoning_line(result: Any) -> str:
    """One line for the text twin: the summary and the start of the reasoning."""
    summary = _summary(result)
    if not summary:
        return ""
    start = " ".join(redact(result.reasoning_text).split())
    if len(start) > _LINE:
        start = start[: _LINE - 1] + "…"
    return f"▸ {summary}" + (f": {start}" if start else "")
