"""Show an answer while it arrives: one output, throttled updates, then one final render.

Each update re-sends (and re-renders) the whole output, so updates are spaced by
`interval` seconds, and further apart when rendering gets slow, so that a long answer
never spends more than a fifth of its time on display; the first text shows at once and
the final render carries the complete answer and its facts.
Where outputs cannot be updated (terminal IPython) the text is printed as it comes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from .. import views
from ..errors import redact

#: how each answer format is shown while incomplete (JSON and HTML only make sense whole)
_STREAMING_FORMAT = {"markdown": "markdown", "code": "code"}


def can_update(shell: Any) -> bool:
    """Whether the shell's frontend can update an output in place.

    IPython's base DisplayPublisher prints (terminal IPython); kernels and capturing
    publishers keep outputs with their display ids.
    """
    from IPython.core.displaypub import DisplayPublisher

    return type(shell.display_pub) is not DisplayPublisher


def final_bundle(result: Any, format: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The finished answer's output and its provenance metadata."""
    req = getattr(result, "request", None)
    meta = req.metadata if req is not None else {}
    usage = getattr(result, "usage", None)
    facts = {
        "stage": "final",
        "request_id": req.id if req is not None else None,
        "provider": getattr(result, "provider", None),
        "model": getattr(result, "model", None),
        "input_tokens": getattr(usage, "input_tokens", None),
        "output_tokens": getattr(usage, "output_tokens", None),
        "cost_usd": getattr(result, "cost", None),
        "latency_ms": getattr(result, "latency_ms", None),
        "ttft_ms": getattr(result, "ttft_ms", None),
        "cache_hit": bool(getattr(result, "cache_hit", False)),
        "plugs": [s.plug for s in meta.get("trace", ())],
    }
    bundle = {
        "text/plain": views.response_text(result),
        "text/html": views.response_html(result, format=format),
    }
    return bundle, {"llmpipe": facts}


def failed_bundle(text: str, who: str, error: BaseException) -> dict[str, str]:
    """What arrived before a failure, with the error under it."""
    line = (
        "interrupted"
        if isinstance(error, KeyboardInterrupt)
        else f"{type(error).__name__}: {error}"
    )
    html = views.frame(
        f'<div class="lp-card"><div class="lp-head"><span class="lp-title">{views.esc(who)}</span>'
        f"{views.badge('error', 'error')}</div>"
        f'<div class="lp-body">{views.answer_html(text, "text")}</div>'
        f'<ul class="lp-errors"><li>{views.esc(line)}</li></ul></div>'
    )
    return {"text/plain": redact(f"{text}\n! {line}"), "text/html": html}


def tool_line(chunk: Any) -> str | None:
    """A one-line note for a tool loop's chunk (a call starting, or its result), else None."""
    if chunk.tool_start is not None:
        call = chunk.tool_start
        args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        return f"→ {call.name}({args})"
    run = chunk.tool_result
    if run is not None:
        return f"← {run.call.name}: {run.status}, {run.duration_ms:.0f} ms"
    return None


class LiveAnswer:
    """One display that grows with the answer; `finish` or `fail` replaces it with the result."""

    def __init__(
        self,
        who: str,
        format: str = "markdown",
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.who = who
        self.format = _STREAMING_FORMAT.get(format, "text")
        self.interval = interval
        self.clock = clock
        self.parts: list[str] = []
        self.partial: Any = None  # with a schema: the object so far, shown as a table
        self.tools: list[str] = []  # in a tool loop: the calls and their results so far
        self.updates = 0
        self._handle: Any = None
        self._last = 0.0
        self._cost = 0.0  # seconds the last update took to render and send
        self._shown = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start(self) -> None:
        """Show the output at once, waiting for the first text."""
        self._update(self._bundle(), {"llmpipe": {"stage": "streaming"}})
        self._last = self.clock()

    def add(self, text: str, partial: Any = None) -> None:
        """Take a piece of the answer (and the object so far, with a schema); show it when
        the last update is old enough (or none yet)."""
        if partial is not None:
            self.partial = partial
        elif not text:
            return
        self.parts.append(text)
        now = self.clock()
        if self._shown == 0 or now - self._last >= max(self.interval, 4 * self._cost):
            self._update(self._bundle(), {"llmpipe": {"stage": "streaming"}})
            self._last = self.clock()
            self._cost = self._last - now

    def tool(self, line: str) -> None:
        """Note a tool call starting or ending; shown at once (tool runs are rare and slow)."""
        self.tools.append(line)
        self._update(self._bundle(), {"llmpipe": {"stage": "streaming"}})
        self._last = self.clock()

    def finish(self, result: Any, format: str) -> None:
        bundle, metadata = final_bundle(result, format)
        if getattr(result, "pending", ()):  # a loop waiting for approval: its card, in a kernel
            from .approval import mimebundle

            bundle = mimebundle(result) or bundle
        self._update(bundle, metadata)

    def fail(self, error: BaseException) -> None:
        self._update(failed_bundle(self.text, self.who, error), {"llmpipe": {"stage": "error"}})

    def _update(self, bundle: dict[str, str], metadata: dict[str, Any]) -> None:
        if self._handle is None:
            from IPython.display import display

            self._handle = display(bundle, raw=True, metadata=metadata, display_id=True)
        else:
            self._handle.update(bundle, raw=True, metadata=metadata)
            self.updates += 1
        self._shown = len(self.parts)

    def _bundle(self) -> dict[str, str]:
        text = self.text
        if self.partial is not None:
            body = views.parsed_html(self.partial)
        elif text:
            body = views.answer_html(text, self.format)
        else:
            body = '<span class="lp-note">waiting…</span>'
        notes = "".join(f'<div class="lp-note">{views.esc(line)}</div>' for line in self.tools)
        html = views.frame(
            f'<div class="lp-card"><div class="lp-head"><span class="lp-title">{views.esc(self.who)}</span>'
            f'{views.badge("streaming", "streaming")}</div>{notes}<div class="lp-body">{body}</div></div>'
        )
        lines = "".join(f"{line}\n" for line in self.tools)
        return {"text/plain": redact(lines + text + "▌"), "text/html": html}


class PrintedAnswer:
    """The terminal twin of LiveAnswer: text printed as it arrives, then one line of facts."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start(self) -> None:
        pass

    def add(self, text: str, partial: Any = None) -> None:
        self.parts.append(text)
        sys.stdout.write(redact(text))
        sys.stdout.flush()

    def tool(self, line: str) -> None:
        print(redact(line), flush=True)

    def finish(self, result: Any, format: str) -> None:
        print(f"\n{views.response_footer(result)}" if self.parts else views.response_text(result))

    def fail(self, error: BaseException) -> None:
        print()
