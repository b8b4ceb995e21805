"""OpenTelemetry's SDK set up from the OTEL_* variables, for instrumentation from the environment.

When the application (or `opentelemetry-instrument`) has already set the global
providers, they are used as they are. When it has not, and the SDK and the OTLP/HTTP
exporter are installed, the spans and metrics go over OTLP/HTTP to the endpoint the
variables name (`OTEL_EXPORTER_OTLP_ENDPOINT`, default http://localhost:4318), batched and
flushed at exit. Without the SDK the spans go to whatever provider is set later.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("llmpipe_nb.observability")


def configure() -> None:
    """Set SDK providers that export over OTLP/HTTP, unless global ones are set already."""
    from opentelemetry import metrics, trace

    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        _traces()
    if type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider":
        _metrics()


def _wanted(signal: str) -> bool:
    return os.environ.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower() != "none"


def _traces() -> None:
    if not _wanted("TRACES"):
        return
    from opentelemetry import trace

    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.info(
            "OpenTelemetry's SDK or OTLP/HTTP exporter is not installed, so spans go to "
            "the tracer provider your application sets."
        )
        return
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("Spans are exported over OTLP/HTTP, as the OTEL_* variables say.")


def _metrics() -> None:
    if not _wanted("METRICS"):
        return
    from opentelemetry import metrics

    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
    except ImportError:
        return
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=Resource.create(), metric_readers=[reader]))
