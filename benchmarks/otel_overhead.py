"""What OpenTelemetry instrumentation costs per request and per plug, on the mock provider.

Off (the default) no listener is registered, so `llm.chat` costs what it did before;
on, each finished request becomes a span with a child per plug (and per attempt) and
metric points. The SDK here batches spans to an exporter that drops them, so the
numbers are the library's and the SDK's work, not a network's. The settings are
measured in turns, round after round, so a machine that slows down mid-run slows
them all alike. Run: .venv/bin/python benchmarks/otel_overhead.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import llmpipe_nb as llm

ROUNDS = 15
PER_ROUND = 1000


class Drop(SpanExporter):
    def export(self, spans):  # type: ignore[no-untyped-def]
        return SpanExportResult.SUCCESS


def main() -> None:
    mock = llm.providers.get("mock")
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=1 << 16))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    settings: dict[str, Callable[[], None]] = {
        "instrumentation off": llm.uninstrument,
        "on, API only (no SDK set: no-op spans)": lambda: llm.instrument(),
        "on, SDK: spans batched, metrics": lambda: llm.instrument(tracer_provider, meter_provider),
        "on, SDK, with message content": lambda: llm.instrument(
            tracer_provider, meter_provider, capture_content=True
        ),
    }
    plugs = len(llm.chat("mock", "hi").request.trace)
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(ROUNDS):
        for name, turn_on in settings.items():
            turn_on()
            for _ in range(200):  # warm up this setting
                llm.chat("mock", "hi")
            t = time.perf_counter()
            for _ in range(PER_ROUND):
                llm.chat("mock", "hi")
            times[name].append((time.perf_counter() - t) / PER_ROUND * 1e6)
            mock.state.requests.clear()
    llm.uninstrument()
    tracer_provider.shutdown()

    us = {name: statistics.median(t) for name, t in times.items()}
    off = us["instrumentation off"]
    print(f"{'llm.chat on the mock':40} {'us/request':>10} {'added':>8}")
    for name, value in us.items():
        print(f"{name:40} {value:10.1f} {value - off:8.1f}")
    added = us["on, SDK: spans batched, metrics"] - off
    print(
        f"\nwith the SDK: {added:.1f} us per request, {added / plugs:.1f} us per plug ({plugs} plugs)"
    )


if __name__ == "__main__":
    main()
