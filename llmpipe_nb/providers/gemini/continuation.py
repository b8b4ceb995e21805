"""Long answers in hops: Gemini's `CONTINUATION` finish reason, followed to the end.

An answer that reaches the per-request output limit ends with finish reason CONTINUATION
and a `continuationToken`. The same request is sent again with the token beside
`contents`, until another finish reason; the hops make one answer. Each hop goes through
the execute step (so retries and the circuit breaker apply per hop) and shows in the
request's metadata: `hops` (one entry per hop) and `attempt_log` (each entry with its hop).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from contextlib import aclosing, closing, suppress
from dataclasses import replace
from time import perf_counter
from typing import Any, cast

from ... import notices
from ...errors import ConfigError
from ...pipeline import leave_partial
from ...plug import Plug
from ...plugs.execute_request import ExecuteRequest
from ...request import Request
from ...responses import StreamChunk
from ...transport import HttpResponse
from .response import parse_usage

DEFAULT_MAX_HOPS = 16
_warned_off: set[str] = set()


def continuation_settings(options: Mapping[str, Any]) -> tuple[bool, int]:
    """(whether to follow CONTINUATION, the most hops), from the request's options."""
    enabled = options.get("continuation", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"continuation must be True or False, not {enabled!r}.")
    hops = options.get("max_continuation_hops", DEFAULT_MAX_HOPS)
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 1:
        raise ConfigError(
            f"max_continuation_hops must be a whole number of requests, 1 or more, not {hops!r}."
        )
    return enabled, hops


def merge_hops(bodies: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The hops' answers as one: their parts in order (each hop's kept apart), the finish
    reason and token of the last, and every token count summed for billing."""
    merged = dict(bodies[-1])
    candidates = [(body.get("candidates") or [{}])[0] for body in bodies]
    parts = [p for c in candidates for p in (c.get("content") or {}).get("parts") or ()]
    merged["candidates"] = [candidates[-1] | {"content": {"role": "model", "parts": parts}}]
    usage: dict[str, Any] = {}
    for body in bodies:
        for key, value in (body.get("usageMetadata") or {}).items():
            if key.endswith("Count") and isinstance(value, int):
                usage[key] = usage.get(key, 0) + value
            else:
                usage[key] = value
    merged["usageMetadata"] = usage
    return merged


def _token(response: HttpResponse | None) -> str | None:
    """The token to continue with, when the answer stopped for CONTINUATION."""
    body = response.body if response is not None else None
    if not isinstance(body, Mapping):
        return None
    candidate = (body.get("candidates") or [{}])[0]
    if candidate.get("finishReason") != "CONTINUATION":
        return None
    token = candidate.get("continuationToken")
    return token if isinstance(token, str) and token else None


class _Hops:
    """The hops of one answer so far, and the request for the next."""

    def __init__(self, request: Request) -> None:
        self.first = request
        self.enabled, self.limit = continuation_settings(request.options)
        self.responses: list[HttpResponse] = [request.response]
        self.durations: list[float] = [request.metadata.get("latency_ms", 0.0)]
        self.log = [entry | {"hop": 1} for entry in request.metadata.get("attempt_log", ())]
        self.started = perf_counter()

    def next(self) -> Request | None:
        """The request for the next hop, or None when the answer is complete."""
        token = _token(self.responses[-1])
        if token is None:
            return None
        if not self.enabled:
            _warn_once_off(self.first.provider)
            return None
        if len(self.responses) >= self.limit:
            notices.warn(
                __name__,
                f"{self.first.provider} was still continuing its answer after "
                f"{self.limit} requests, so it is cut off there (finish reason 'length'): "
                "raise max_continuation_hops to get the rest.",
                stacklevel=2,
            )
            return None
        call = self.first.provider_request
        return self.first.evolve(
            provider_request=replace(call, json={**call.json, "continuationToken": token})
        )

    def add(self, done: Request) -> Request | None:
        """Take a finished hop; the failed request, if it failed."""
        hop = len(self.responses) + 1
        self.log += [entry | {"hop": hop} for entry in done.metadata.get("attempt_log", ())]
        self.durations.append(done.metadata.get("latency_ms", 0.0))
        if done.state == "error" or done.response is None:
            return done.evolve(metadata={**done.metadata, **self._facts(done)})
        self.responses.append(done.response)
        return None

    def stopped(self, stop: BaseException) -> None:
        """Stopped from outside during a later hop: the run records that hop's call too."""
        hop = len(self.responses) + 1
        took = (perf_counter() - self.started) * 1000 - sum(self.durations[1:])
        self.log.append(
            {
                "attempt": 1,  # the call in flight; a retry before it is not seen from here
                "outcome": "cancelled",
                "status_code": None,
                "duration_ms": took,
                "retry_in_s": None,
                "hop": hop,
            }
        )
        facts = self._facts(None)
        facts["hops"] += ({"hop": hop, "error": "cancelled", "duration_ms": took},)
        leave_partial(stop, self.first.evolve(metadata={**self.first.metadata, **facts}))

    def finish(self) -> Request:
        if len(self.responses) == 1:
            return self.first
        body = merge_hops([r.body for r in self.responses])
        response = HttpResponse(
            200,
            self.responses[-1].headers,
            body,
            sum(r.elapsed_ms for r in self.responses),
        )
        return self.first.evolve(
            response=response, metadata={**self.first.metadata, **self._facts(None)}
        )

    def _facts(self, failed: Request | None) -> dict[str, Any]:
        hops: list[dict[str, Any]] = []
        for number, (response, took) in enumerate(
            zip(self.responses, self.durations, strict=False), start=1
        ):
            usage = parse_usage(response.body.get("usageMetadata"))
            candidate = (response.body.get("candidates") or [{}])[0]
            hops.append(
                {
                    "hop": number,
                    "finish_reason": candidate.get("finishReason"),
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "duration_ms": took,
                }
            )
        if failed is not None:
            error = type(failed.terminal_error).__name__
            hops.append({"hop": len(hops) + 1, "error": error, "duration_ms": self.durations[-1]})
        first_usage = self.responses[0].body.get("usageMetadata") or {}
        return {
            "hops": tuple(hops),
            "context_tokens": first_usage.get("promptTokenCount"),
            "attempts": len(self.log),
            "attempt_log": tuple(self.log),
            "latency_ms": self.durations[0] + (perf_counter() - self.started) * 1000,
        }


def _warn_once_off(provider: str) -> None:
    if provider not in _warned_off:
        _warned_off.add(provider)
        notices.warn(
            __name__,
            f"{provider} ended an answer with CONTINUATION, and continuation is off, so the "
            "answer is cut off (finish reason 'length'): leave continuation on to get the rest.",
            stacklevel=3,
        )


class GeminiContinuation(Plug):
    """Follows CONTINUATION: sends the request again with the token until the answer is whole."""

    def call(self, request: Request) -> Request:
        hops = _Hops(request)
        while (follow := hops.next()) is not None:
            if (failed := hops.add(ExecuteRequest().call(follow))) is not None:
                return failed
        return hops.finish()

    async def acall(self, request: Request) -> Request:
        hops = _Hops(request)
        while (follow := hops.next()) is not None:
            if (failed := hops.add(await ExecuteRequest().acall(follow))) is not None:
                return failed
        return hops.finish()

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        hops = _Hops(request)
        while (follow := hops.next()) is not None:
            done = follow
            hop = cast(Generator[StreamChunk | Request], ExecuteRequest().stream(follow))
            with closing(hop) as items:  # closed with this stream, so is its connection
                for item in items:
                    if not isinstance(item, StreamChunk):
                        done = item
                        continue
                    try:
                        yield item
                    except BaseException as stop:  # closed or interrupted: the hop hears it too
                        with suppress(StopIteration, type(stop)):
                            items.throw(stop)
                        hops.stopped(stop)
                        raise
            if (failed := hops.add(done)) is not None:
                yield failed
                return
        yield hops.finish()

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        hops = _Hops(request)
        while (follow := hops.next()) is not None:
            done = follow
            ahop = cast(AsyncGenerator[StreamChunk | Request], ExecuteRequest().astream(follow))
            async with aclosing(ahop) as items:
                async for item in items:
                    if not isinstance(item, StreamChunk):
                        done = item
                        continue
                    try:
                        yield item
                    except BaseException as stop:
                        with suppress(StopAsyncIteration, type(stop)):
                            await items.athrow(stop)
                        hops.stopped(stop)
                        raise
            if (failed := hops.add(done)) is not None:
                yield failed
                return
        yield hops.finish()
