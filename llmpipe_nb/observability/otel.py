"""The OpenTelemetry listener: one span per finished request, a child per plug, and metrics.

Imported only by `llm.instrument()`, so `import llmpipe_nb` never loads OpenTelemetry.
The runner already times every plug and keeps every attempt, so the spans are written
when the request finishes, with the times it recorded (the API takes explicit start and
end times): nothing runs per plug while the request is in flight, and a stream's span
ends when the stream ends or is closed. The parent is the context current where the
request finished, which is where it ran: the caller's thread, its task, or the batch
loop's task (asyncio copies the caller's context into it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import time_ns
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._version import __version__
from ..errors import redact
from ..request import Request
from .content import content_attributes
from .conventions import metric_attributes, request_attributes, span_name, usage

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
#: the conventions' advised buckets: seconds of a call, tokens of a call
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
EXECUTE = "ExecuteRequest"


class Instrumentation:
    """The pipeline listener that turns each finished request into spans and metric points."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        self.capture_content = capture_content
        self.tracer = trace.get_tracer("llmpipe_nb", __version__, tracer_provider, SCHEMA_URL)
        meter = metrics.get_meter("llmpipe_nb", __version__, meter_provider, SCHEMA_URL)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time from the start of a streamed call to its first chunk",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.cost = meter.create_counter(
            "llmpipe.client.cost", unit="USD", description="Cost of the requests, in US dollars"
        )

    def __call__(self, done: Request) -> None:
        attrs = request_attributes(done)
        steps: Sequence[Any] = done.metadata.get("trace", ())
        start = done.metadata.get("started_at_ns") or time_ns()
        origin = start - steps[0].started_at_ns if steps else 0
        span = self.tracer.start_span(
            span_name(done), kind=SpanKind.CLIENT, attributes=attrs, start_time=start
        )
        if span.is_recording():  # a sampled-out or no-op span needs no children nor content
            if self.capture_content:
                span.set_attributes(content_attributes(done))
            parent = trace.set_span_in_context(span)
            for step in steps:
                self._step(parent, done, step, origin)
        error = done.terminal_error
        if error is not None:
            message = redact(str(error))
            span.add_event(
                "exception", {"exception.type": type(error).__name__, "exception.message": message}
            )
            span.set_status(Status(StatusCode.ERROR, message))
        ttft = self._first_chunk(span, done, steps, origin)
        last = steps[-1] if steps else None
        end = max(time_ns(), origin + last.started_at_ns + last.duration_ns if last else start)
        span.end(end_time=end)
        self._measure(done, attrs, ttft)

    def _step(self, parent: Any, done: Request, step: Any, origin: int) -> None:
        """One plug's child span; the execute step's has a child per attempt."""
        begin = origin + step.started_at_ns
        end = begin + step.duration_ns
        attrs: dict[str, Any] = {
            "llmpipe.plug.index": step.index,
            "llmpipe.plug.outcome": step.outcome,
        }
        note = None if step.note is None else redact(str(step.note))
        if step.outcome == "halted" and note:
            attrs["llmpipe.halt_reason"] = note
        span = self.tracer.start_span(
            step.plug, context=parent, kind=SpanKind.INTERNAL, attributes=attrs, start_time=begin
        )
        if step.outcome == "error":
            error = done.terminal_error
            if error is not None:
                span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, note))
        if step.plug == EXECUTE:
            self._attempts(trace.set_span_in_context(span), done, begin, end)
        span.end(end_time=end)

    def _attempts(self, parent: Any, done: Request, begin: int, end: int) -> None:
        """A span per call sent, laid end to end with the waits between them."""
        method = getattr(done.provider_request, "method", None)
        at = begin
        for entry in done.metadata.get("attempt_log", ()):
            if not isinstance(entry, Mapping):
                continue
            first = min(at, end)
            last = min(first + int((entry.get("duration_ms") or 0) * 1e6), end)
            attrs: dict[str, Any] = {"llmpipe.attempt": entry.get("attempt", 0)}
            if isinstance(method, str):
                attrs["http.request.method"] = method
            if isinstance(entry.get("status_code"), int):
                attrs["http.response.status_code"] = entry["status_code"]
            wait = entry.get("retry_in_s")
            if isinstance(wait, (int, float)):
                attrs["llmpipe.retry_in_s"] = float(wait)
            outcome = entry.get("outcome")
            span = self.tracer.start_span(
                f"attempt {attrs['llmpipe.attempt']}",
                context=parent,
                kind=SpanKind.CLIENT,
                attributes=attrs,
                start_time=first,
            )
            if isinstance(outcome, str) and outcome != "ok":
                span.set_attribute("error.type", outcome)
                span.set_status(Status(StatusCode.ERROR))
            span.end(end_time=last)
            at = last + int((wait or 0) * 1e9)

    def _first_chunk(
        self, span: Any, done: Request, steps: Sequence[Any], origin: int
    ) -> float | None:
        """The time to the first chunk of a stream, as an event on the request's span."""
        ttft_ms = done.metadata.get("ttft_ms")
        execute = next((s for s in reversed(steps) if s.plug == EXECUTE), None)
        if not isinstance(ttft_ms, (int, float)) or execute is None:
            return None
        seconds = ttft_ms / 1000
        span.add_event(
            "first_token",
            {"gen_ai.response.time_to_first_chunk": seconds},
            timestamp=origin + execute.started_at_ns + int(ttft_ms * 1e6),
        )
        return seconds

    def _measure(self, done: Request, attrs: Mapping[str, Any], ttft: float | None) -> None:
        point = metric_attributes(attrs)
        self.duration.record(done.metadata.get("duration_ns", 0) / 1e9, point)
        used = usage(done)
        if used is not None:
            self.tokens.record(used.input_tokens, {**point, "gen_ai.token.type": "input"})
            self.tokens.record(used.output_tokens, {**point, "gen_ai.token.type": "output"})
        if ttft is not None:
            self.first_chunk.record(ttft, point)
        cost = attrs.get("llmpipe.cost_usd")
        if cost:
            self.cost.add(cost, point)
