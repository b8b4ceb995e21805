"""What a finished request gives its caller: the result linked back to it, or the typed error.

One place for every entry point (the one-call API, the builder, streams), so a halt, a
failure and a stream's timing read the same whichever way the request was run.
"""

from __future__ import annotations

from typing import Any

from .errors import LLMPipeError, PipelineError, PipelineHalted
from .request import Request


def raise_for(done: Request) -> None:
    """Raise the error that stopped `done`, typed, with the request attached."""
    error = done.terminal_error
    if error is None:
        return
    if not isinstance(error, LLMPipeError):
        plug = next((e.plug for e in reversed(done.errors) if e.error is error), None)
        raise PipelineError(
            f"Plug {plug} failed with {type(error).__name__}: {error}", request=done
        ) from error
    error.request = done
    raise error


def finish(done: Request) -> Any:
    """The result of a finished request, linked back to it.

    Raises its terminal error, or PipelineHalted when a plug halted it without an answer.
    """
    raise_for(done)
    result = done.result
    if result is None and done.state == "halted":
        halted = next((s for s in reversed(done.trace) if s.outcome == "halted"), None)
        raise PipelineHalted(
            None if halted is None else halted.plug, done.metadata.get("halt_reason"), request=done
        )
    if result is None and done.state == "completed":
        raise PipelineError(
            "The pipeline finished without a result: it needs the provider's prepare, execute "
            "and parse plugs (compare inspect_pipeline() with the provider's pipeline).",
            request=done,
        )
    if hasattr(result, "request"):
        result.request = done
        meta = done.metadata
        if meta.get("cache_hit") and not result.cache_hit:
            result.cache_hit = meta["cache_hit"]  # True, or how it hit: "semantic", "replay"
        if result.latency_ms is None and "duration_ns" in meta:
            result.latency_ms = meta["duration_ns"] / 1e6
        if getattr(result, "ttft_ms", False) is None and "ttft_ms" in meta:
            result.ttft_ms = meta["ttft_ms"]
    return result
