"""Fixtures for the observability tests: OpenTelemetry's in-memory exporters, fresh plug state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.circuit_breaker import reset_circuits
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.stores import close_stores

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Captured:
    """What the in-memory exporters hold: the spans and the metric points."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def requests(self) -> list[ReadableSpan]:
        """The request spans (kind CLIENT, named after the operation), in the order they ended."""
        return [s for s in self.spans() if "gen_ai.operation.name" in (s.attributes or {})]

    def request(self) -> ReadableSpan:
        (only,) = self.requests()
        return only

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        kids = [s for s in self.spans() if s.parent and s.parent.span_id == parent.context.span_id]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Captured]:
    """Instrumentation on, into in-memory exporters; off again after the test."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    llm.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Captured(exporter, reader, tracer_provider, meter_provider)
    llm.uninstrument()
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    """Circuits, stores, pooled clients and the ledger start empty; instrumentation ends off."""
    reset_circuits()
    close_stores()
    close_transports()
    llm.ledger().reset()
    yield
    llm.uninstrument()
    close_stores()
    close_transports()
    llm.ledger().reset()


class Collector:
    """A small OTLP/HTTP receiver on loopback: decodes each protobuf export and keeps it."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
        )
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.traces: list[Any] = []
        self.metrics: list[Any] = []
        self.bodies: list[bytes] = []
        collector = self
        routes = {
            "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse, self.traces),
            "/v1/metrics": (
                ExportMetricsServiceRequest,
                ExportMetricsServiceResponse,
                self.metrics,
            ),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                route = routes.get(self.path)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                message = route[0]()
                message.ParseFromString(body)
                collector.bodies.append(body)
                route[2].append(message)
                reply = route[1]().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list[tuple[Any, Any]]:
        """(resource, span) for every span received."""
        return [
            (rs.resource, span)
            for export in self.traces
            for rs in export.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def metric_names(self) -> set[str]:
        return {
            m.name
            for export in self.metrics
            for rm in export.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }

    def wait_for_spans(self, count: int, timeout: float = 20.0) -> list[tuple[Any, Any]]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.spans()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.spans()

    @staticmethod
    def attributes(span: Any) -> dict[str, Any]:
        """A protobuf span's attributes as plain values."""
        out: dict[str, Any] = {}
        for kv in span.attributes:
            value = kv.value
            kind = value.WhichOneof("value")
            if kind == "array_value":
                out[kv.key] = tuple(
                    getattr(v, v.WhichOneof("value")) for v in value.array_value.values
                )
            else:
                out[kv.key] = getattr(value, kind)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def collector() -> Iterator[Collector]:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    receiver = Collector()
    yield receiver
    receiver.close()
