"""Chat and embedding responses: the answer first, then its tokens, cost, errors and timing."""

from __future__ import annotations

from typing import Any

from ..errors import redact
from ._html import badge, duration, errors_html, esc, facts_html, frame, money, shown, table
from .answer import answer_html
from .markdown import parser
from .reasoning import reasoning_html, reasoning_line
from .sources import sources_html, sources_text
from .structured import parsed_html, parsed_text
from .transcript import pending_html, pending_text, transcript_html, transcript_text
from .waterfall import trace_html


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
        if getattr(usage, "estimated", False):  # the server sent no counts
            tokens = f"≈ {tokens}"
        facts.append(("tokens", tokens))
    facts.append(
        ("cost", money(getattr(result, "cost", None), getattr(result, "cost_status", None)))
    )
    if getattr(result, "latency_ms", None) is not None:
        facts.append(("latency", duration(result.latency_ms * 1e6)))
    if getattr(result, "ttft_ms", None) is not None:
        facts.append(("first token", duration(result.ttft_ms * 1e6)))
    if meta.get("tokens_per_second"):  # measured where the model runs here
        facts.append(("speed", f"{meta['tokens_per_second']:.0f} tokens/s"))
    if meta.get("attempts", 1) > 1:
        facts.append(("attempts", str(meta["attempts"])))
    if getattr(result, "finish_reason", None):
        facts.append(("finish", result.finish_reason))
    if meta.get("tags"):
        facts.append(("tags", ", ".join(meta["tags"])))
    return facts


def _head(result: Any, state: str | None, extra: str = "") -> str:
    parts = [f'<span class="lp-title">{esc(getattr(result, "provider", None) or "?")}</span>']
    if getattr(result, "model", None):
        parts.append(f"<code>{esc(result.model)}</code>")
    if state:
        parts.append(badge(state, state))
    if getattr(result, "cache_hit", False):
        parts.append(badge(hit_label(result), "hit"))
    return f'<div class="lp-head">{"".join(parts)}{extra}</div>'


def hit_label(result: Any) -> str:
    """How an answer came without a call: "replayed", "semantic hit 0.97" or "cache hit"."""
    how = getattr(result, "cache_hit", False)
    if how == "replay":
        return "replayed"
    if how == "semantic":
        req = _request_of(result)
        score = req.metadata.get("cache_similarity") if req is not None else None
        return "semantic hit" + (f" {score:.2f}" if isinstance(score, float) else "")
    return "cache hit"


def response_html(result: Any, *, format: str = "markdown") -> str:
    """A chat or embedding response: the answer, its facts, errors and the per-plug timing."""
    req = _request_of(result)
    state = req.state if req is not None else None
    if hasattr(result, "embeddings"):
        body = _embeddings_html(result)
    elif getattr(result, "parsed", None) is not None:
        raw = answer_html(result.content or "", "code")
        body = (
            reasoning_html(result)
            + parsed_html(result.parsed)
            + f"<details><summary>JSON</summary>{raw}</details>"
            + sources_html(result)
        )
    else:
        body = (
            transcript_html(result)
            + reasoning_html(result)
            + answer_html(getattr(result, "content", "") or "", format)
        )
        if getattr(result, "pending", ()):
            body += pending_html(result)
        elif getattr(result, "tool_calls", ()):
            calls = "".join(
                f"<li><code>{esc(c.name)}({esc(shown('', c.arguments, 400))})</code></li>"
                for c in result.tool_calls
            )
            body += f'<div class="lp-note">tool calls</div><ul>{calls}</ul>'
        body += sources_html(result)
    timing = ""
    if req is not None and req.trace:
        total = duration(req.metadata.get("duration_ns", 0))
        timing = (
            f"<details><summary>{len(req.trace)} plugs · {total}</summary>"
            f"{trace_html(req.trace)}</details>"
        )
    waiting = badge("waiting for approval", "halted") if getattr(result, "pending", ()) else ""
    inner = (
        f'<div class="lp-card">{_head(result, state, waiting)}<div class="lp-body">{body}</div>'
        f"{facts_html(_response_facts(result))}{errors_html(req)}{timing}</div>"
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
    if getattr(result, "parsed", None) is not None:
        body = parsed_text(result.parsed)
    if line := reasoning_line(result):
        body = f"{line}\n{body}"
    if steps := transcript_text(result):
        body = f"{steps}\n{body}" if body else steps
    if getattr(result, "pending", ()):
        body += f"\n{pending_text(result)}"
    else:
        for c in getattr(result, "tool_calls", ()):
            body += f"\n→ tool call {c.name}({shown('', c.arguments, 400)})"
    return body + sources_text(result)


def response_footer(result: Any) -> str:
    """One line of facts (who answered, tokens, cost, latency), then any errors."""
    who = " · ".join(
        x for x in (getattr(result, "provider", None), getattr(result, "model", None)) if x
    )
    facts = " · ".join(
        v if k in ("cost", "finish") else f"{k} {v}" for k, v in _response_facts(result)
    )
    hit = f" · {hit_label(result)}" if getattr(result, "cache_hit", False) else ""
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
    if hasattr(result, "embeddings") or getattr(result, "parsed", None) is not None:
        main: Any = Text(_body_text(result))
    else:
        main = Markdown(redact(result.content))
        main.parsed = parser().parse(main.markup)  # tags in the answer stay visible as text
    loop = [Text(part) for part in (transcript_text(result),) if part]
    waiting = [Text(part) for part in (pending_text(result),) if part]
    footer = Text(response_footer(result), style="dim")
    return Panel(Group(*loop, main, *waiting, footer), title=title, title_align="left")
