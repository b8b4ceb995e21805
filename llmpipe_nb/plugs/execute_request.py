"""ExecuteRequest: send the prepared call through the transport, with retries and the breaker.

Retry and the circuit breaker are state machines this step consults (their plugs put
them in `private`), which keeps the pipeline a straight line and lets every attempt
show in the metadata and the trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from types import TracebackType
from typing import Any

from .. import registry
from ..errors import (
    CircuitOpenError,
    PipelineError,
    ProviderConnectionError,
    ProviderError,
    StreamInterruptedError,
)
from ..pipeline import leave_partial
from ..plug import Plug
from ..pricing import ESTIMATED, cost_for
from ..request import Request
from ..responses import StreamChunk, Usage
from ..tokens import estimate_message_tokens, estimate_tokens
from ..transport import HttpResponse

RETRY_POLICY = "llmpipe.retry_policy"
CIRCUIT_BREAKER = "llmpipe.circuit_breaker"


class _Attempts:
    """Bookkeeping of one execute step: attempts, the breaker, and when to try again.

    Used as a context manager around the attempts: stopped from outside (Ctrl-C, a cancelled
    task, a closed stream), it leaves the request with the attempts sent so far, the one in
    flight included, and for a stream the tokens so far, for the runner to record.
    """

    __slots__ = (
        "breaker",
        "decoder",
        "delivered",
        "last_error",
        "log",
        "policy",
        "request",
        "sending",
        "start",
        "t0",
        "ttft_ms",
    )

    def __init__(self, request: Request) -> None:
        if request.provider_request is None:
            raise PipelineError(
                "ExecuteRequest found no provider_request: put the provider's prepare plug before it."
            )
        self.request = request
        self.policy: Any = request.private.get(RETRY_POLICY)
        self.breaker: Any = request.private.get(CIRCUIT_BREAKER)
        self.log: list[dict[str, Any]] = []
        self.last_error: ProviderError | None = None
        self.delivered = self.sending = False
        self.start = self.t0 = perf_counter()
        self.ttft_ms: float | None = None
        self.decoder: Any = None

    def begin(self) -> Request | None:
        """Ask the breaker before each call: None to send it, or the finished request when it
        refuses a retry (refusing the first call raises CircuitOpenError: nothing was sent)."""
        if self.breaker is not None:
            try:
                self.breaker.before_call(self.request)
            except CircuitOpenError as refusal:
                if self.last_error is None:
                    raise
                return self.refused(refusal, self.last_error)
        self.t0 = perf_counter()
        self.sending = True
        return None

    def first_chunk(self) -> None:
        """Time the first chunk (the stream loops call this until `delivered`)."""
        self.delivered = True
        self.ttft_ms = (perf_counter() - self.start) * 1000

    def failed(self, error: ProviderError) -> float | Request:
        """Record a failed attempt; return the delay before the next one, or the finished
        request when there is none (no retry left, or the breaker will refuse it). A stream
        that drops after content arrived fails as interrupted, keeping its text."""
        self.sending = False
        if self.decoder is not None:
            error = _interrupted(error, self.decoder, self.request.provider)
        if self.breaker is not None:
            self.breaker.record_failure(error, self.request)
        delay = None
        if self.policy is not None and not self.delivered:
            delay = self.policy.next_delay(error, len(self.log) + 1)
        refusal = None if delay is None else self._refusal(delay)
        self._log(type(error).__name__, error.status_code, None if refusal is not None else delay)
        self.last_error = error
        if refusal is not None:
            return self.refused(refusal, error)
        return self.gave_up(error) if delay is None else delay

    def _refusal(self, delay: float) -> CircuitOpenError | None:
        """What the breaker will say to a retry in `delay` seconds, asked before sleeping."""
        ask = getattr(self.breaker, "refusal", None)
        return None if ask is None else ask(self.request, delay)

    def refused(self, refusal: CircuitOpenError, last: ProviderError) -> Request:
        """Give up because the breaker refuses the retry; the error chains the last failure."""
        calls = len(self.log)
        status = "" if last.status_code is None else f" {last.status_code}"
        wait = "later" if refusal.retry_after is None else f"in {refusal.retry_after:.1f} s"
        error = CircuitOpenError(
            f"Gave up after {calls} call{'s' if calls != 1 else ''} (the last failed with "
            f"{type(last).__name__}{status}): the circuit is open, so the retry was not sent; "
            f"try again {wait}.",
            provider=self.request.provider,
            retry_after=refusal.retry_after,
        )
        error.__cause__ = last
        return self.gave_up(error)

    def succeeded(self, response: HttpResponse, latency_ms: float | None = None) -> Request:
        self.sending = False
        if self.breaker is not None:
            self.breaker.record_success(self.request)
        self._log("ok", response.status)
        facts = self._facts(response, latency_ms)
        return self.request.evolve(response=response, metadata={**self.request.metadata, **facts})

    def stream_ended(self) -> None:
        """The connection closed: a stream without its end marker fails as interrupted."""
        if not self.decoder.complete:
            raise _unfinished(self.decoder, self.request.provider)

    def streamed(self, headers: Any, body: Any) -> Request:
        """The stream's assembled answer, timed from the first call to its last chunk (the
        parse plugs take a response's `elapsed_ms` as its latency)."""
        elapsed = self._elapsed_ms()
        return self.succeeded(HttpResponse(200, headers, body, elapsed), elapsed)

    def _elapsed_ms(self) -> float:
        return (perf_counter() - self.start) * 1000

    def gave_up(self, error: ProviderError) -> Request:
        if error.provider is None:
            error.provider = self.request.provider
        req = self.request.evolve(metadata={**self.request.metadata, **self._facts(None)})
        return req.add_error(error, terminal=True, plug=ExecuteRequest.name)

    def __enter__(self) -> _Attempts:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and not isinstance(exc, Exception):  # stopped from outside
            if self.sending:
                self.sending = False
                self._log("cancelled", None)
            facts = self._facts(None)
            if self.decoder is not None and self.delivered:
                facts.update(self._so_far())
            leave_partial(exc, self.request.evolve(metadata={**self.request.metadata, **facts}))

    def _so_far(self) -> dict[str, Any]:
        """The usage and cost of a stream stopped midway: the provider's count when it has
        sent one that covers the text received, else estimated from that text."""
        request, reported = self.request, self.decoder.usage
        output = estimate_tokens(self.decoder.partial_text)
        estimated = reported is None or reported.output_tokens < output
        if estimated:
            prompt = reported.input_tokens if reported else 0
            prompt = prompt or estimate_message_tokens(request.messages)
            usage = Usage(input_tokens=prompt, output_tokens=output, estimated=True)
        else:
            usage = reported
        provider = registry.get(request.provider)
        cost, status = cost_for(
            request.provider,
            request.model,
            usage,
            local=provider.local,
            price_provider=provider.price_provider,
        )
        if estimated and cost:
            status = ESTIMATED
        return {"usage_so_far": usage, "cost_usd": cost, "cost_status": status}

    def _log(self, outcome: str, status_code: int | None, retry_in_s: float | None = None) -> None:
        """One entry of `metadata["attempt_log"]`: the attempt that just ended."""
        self.log.append(
            {
                "attempt": len(self.log) + 1,
                "outcome": outcome,
                "status_code": status_code,
                "duration_ms": (perf_counter() - self.t0) * 1000,
                "retry_in_s": retry_in_s,
            }
        )

    def _facts(
        self, response: HttpResponse | None, latency_ms: float | None = None
    ) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "attempts": len(self.log),
            "attempt_log": tuple(self.log),
            "latency_ms": self._elapsed_ms() if latency_ms is None else latency_ms,
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
        with _Attempts(request) as attempts:
            while True:
                if (refused := attempts.begin()) is not None:
                    return refused
                try:
                    response = request.http_client.send(request.provider_request)
                except ProviderError as error:
                    delay = attempts.failed(error)
                    if isinstance(delay, Request):
                        return delay
                    attempts.policy.sleep(delay)
                else:
                    return attempts.succeeded(response)

    async def acall(self, request: Request) -> Request:
        with _Attempts(request) as attempts:
            while True:
                if (refused := attempts.begin()) is not None:
                    return refused
                try:
                    response = await request.http_client.asend(request.provider_request)
                except ProviderError as error:
                    delay = attempts.failed(error)
                    if isinstance(delay, Request):
                        return delay
                    await attempts.policy.asleep(delay)
                else:
                    return attempts.succeeded(response)

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        """Yield chunks as they arrive; finally the request whose response is the assembled body."""
        provider = registry.get(request.provider)
        with _Attempts(request) as attempts:
            while True:
                decoder = attempts.decoder = provider.stream_decoder(request)
                if (refused := attempts.begin()) is not None:
                    yield refused
                    return
                try:
                    with request.http_client.stream(request.provider_request) as events:
                        feed = decoder.feed
                        for event in events:
                            for chunk in feed(event):
                                if not attempts.delivered:
                                    attempts.first_chunk()
                                yield chunk
                        headers = events.headers
                    attempts.stream_ended()
                except ProviderError as error:
                    delay = attempts.failed(error)
                    if isinstance(delay, Request):
                        yield delay
                        return
                    attempts.policy.sleep(delay)
                else:
                    yield attempts.streamed(headers, decoder.result())
                    return

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        provider = registry.get(request.provider)
        with _Attempts(request) as attempts:
            while True:
                decoder = attempts.decoder = provider.stream_decoder(request)
                if (refused := attempts.begin()) is not None:
                    yield refused
                    return
                try:
                    async with request.http_client.astream(request.provider_request) as events:
                        feed = decoder.feed
                        async for event in events:
                            for chunk in feed(event):
                                if not attempts.delivered:
                                    attempts.first_chunk()
                                yield chunk
                        headers = events.headers
                    attempts.stream_ended()
                except ProviderError as error:
                    delay = attempts.failed(error)
                    if isinstance(delay, Request):
                        yield delay
                        return
                    await attempts.policy.asleep(delay)
                else:
                    yield attempts.streamed(headers, decoder.result())
                    return
