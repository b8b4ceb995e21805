"""ExecuteRequest: send the prepared call through the transport, with retries and the breaker.

Retry and the circuit breaker are state machines this step consults (their plugs put
them in `private`), which keeps the pipeline a straight line and lets every attempt
show in the metadata and the trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import Any

from .. import providers
from ..errors import PipelineError, ProviderConnectionError, ProviderError, StreamInterruptedError
from ..plug import Plug
from ..request import Request
from ..responses import StreamChunk
from ..transport import HttpResponse

RETRY_POLICY = "llmpipe.retry_policy"
CIRCUIT_BREAKER = "llmpipe.circuit_breaker"


class _Attempts:
    """Bookkeeping of one execute step: attempts, the breaker, and when to try again."""

    __slots__ = ("breaker", "delivered", "log", "policy", "request", "start", "t0", "ttft_ms")

    def __init__(self, request: Request) -> None:
        if request.provider_request is None:
            raise PipelineError(
                "ExecuteRequest found no provider_request: put the provider's prepare plug before it."
            )
        self.request = request
        self.policy: Any = request.private.get(RETRY_POLICY)
        self.breaker: Any = request.private.get(CIRCUIT_BREAKER)
        self.log: list[dict[str, Any]] = []
        self.delivered = False
        self.start = self.t0 = perf_counter()
        self.ttft_ms: float | None = None

    def begin(self) -> None:
        if self.breaker is not None:
            self.breaker.before_call(self.request)
        self.t0 = perf_counter()

    def first_chunk(self) -> None:
        if not self.delivered:
            self.delivered = True
            self.ttft_ms = (perf_counter() - self.start) * 1000

    def failed(self, error: ProviderError) -> float | None:
        """Record a failed attempt; return the delay before the next one, or None to give up."""
        if self.breaker is not None:
            self.breaker.record_failure(error, self.request)
        delay = None
        if self.policy is not None and not self.delivered:
            delay = self.policy.next_delay(error, len(self.log) + 1)
        self.log.append(
            {
                "attempt": len(self.log) + 1,
                "outcome": type(error).__name__,
                "status_code": error.status_code,
                "duration_ms": (perf_counter() - self.t0) * 1000,
                "retry_in_s": delay,
            }
        )
        return delay

    def succeeded(self, response: HttpResponse) -> Request:
        if self.breaker is not None:
            self.breaker.record_success(self.request)
        self.log.append(
            {
                "attempt": len(self.log) + 1,
                "outcome": "ok",
                "status_code": response.status,
                "duration_ms": (perf_counter() - self.t0) * 1000,
                "retry_in_s": None,
            }
        )
        return self.request.evolve(
            response=response, metadata={**self.request.metadata, **self._facts(response)}
        )

    def gave_up(self, error: ProviderError) -> Request:
        if error.provider is None:
            error.provider = self.request.provider
        req = self.request.evolve(metadata={**self.request.metadata, **self._facts(None)})
        return req.add_error(error, terminal=True, plug=ExecuteRequest.name)

    def _facts(self, response: HttpResponse | None) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "attempts": len(self.log),
            "attempt_log": tuple(self.log),
            "latency_ms": (perf_counter() - self.start) * 1000,
        }
        if self.ttft_ms is not None:
            facts["ttft_ms"] = self.ttft_ms
        if response is not None and response.request_id:
            facts["request_id"] = response.request_id
        return facts


def _interrupted(error: ProviderError, decoder: Any, provider: str) -> ProviderError:
    """A connection that drops after content arrived is an interrupted stream, keeping the text."""
    if isinstance(error, ProviderConnectionError) and decoder.partial_text:
        return StreamInterruptedError(
            f"The stream broke off after partial output ({error.message}); "
            "the partial text is kept on the error.",
            partial_text=decoder.partial_text,
            usage=decoder.usage,
            provider=provider,
            status_code=error.status_code,
        )
    return error


def _unfinished(decoder: Any, provider: str) -> StreamInterruptedError:
    return StreamInterruptedError(
        "The stream ended without its end marker, so the answer may be incomplete; "
        "the partial text is kept on the error.",
        partial_text=decoder.partial_text,
        usage=decoder.usage,
        provider=provider,
    )


class ExecuteRequest(Plug):
    """Sends `request.provider_request` and puts the answer in `request.response`."""

    def call(self, request: Request) -> Request:
        attempts = _Attempts(request)
        while True:
            attempts.begin()
            try:
                response = request.http_client.send(request.provider_request)
            except ProviderError as error:
                delay = attempts.failed(error)
                if delay is None:
                    return attempts.gave_up(error)
                attempts.policy.sleep(delay)
            else:
                return attempts.succeeded(response)

    async def acall(self, request: Request) -> Request:
        attempts = _Attempts(request)
        while True:
            attempts.begin()
            try:
                response = await request.http_client.asend(request.provider_request)
            except ProviderError as error:
                delay = attempts.failed(error)
                if delay is None:
                    return attempts.gave_up(error)
                await attempts.policy.asleep(delay)
            else:
                return attempts.succeeded(response)

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        """Yield chunks as they arrive; finally the request whose response is the assembled body."""
        attempts = _Attempts(request)
        provider = providers.get(request.provider)
        while True:
            decoder = provider.stream_decoder(request)
            attempts.begin()
            try:
                with request.http_client.stream(request.provider_request) as events:
                    for event in events:
                        for chunk in decoder.feed(event):
                            attempts.first_chunk()
                            yield chunk
                    headers = events.headers
                if not decoder.complete:
                    raise _unfinished(decoder, request.provider)
            except ProviderError as error:
                error = _interrupted(error, decoder, request.provider)
                delay = attempts.failed(error)
                if delay is None:
                    yield attempts.gave_up(error)
                    return
                attempts.policy.sleep(delay)
            else:
                yield attempts.succeeded(HttpResponse(200, headers, decoder.result()))
                return

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        attempts = _Attempts(request)
        provider = providers.get(request.provider)
        while True:
            decoder = provider.stream_decoder(request)
            attempts.begin()
            try:
                async with request.http_client.astream(request.provider_request) as events:
                    async for event in events:
                        for chunk in decoder.feed(event):
                            attempts.first_chunk()
                            yield chunk
                    headers = events.headers
                if not decoder.complete:
                    raise _unfinished(decoder, request.provider)
            except ProviderError as error:
                error = _interrupted(error, decoder, request.provider)
                delay = attempts.failed(error)
                if delay is None:
                    yield attempts.gave_up(error)
                    return
                await attempts.policy.asleep(delay)
            else:
                yield attempts.succeeded(HttpResponse(200, headers, decoder.result()))
                return
