"""Real OTLP/HTTP exports to a loopback collector: explicit providers, the environment alone, Dask."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import faults

KEY = "sk-canary-otlp-0123456789abcdefXYZ"


def test_spans_and_metrics_reach_a_collector_over_otlp_http(collector, openai_server):
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "notebook"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.endpoint}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{collector.endpoint}/v1/metrics"),
        export_interval_millis=60_000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    llm.instrument(tracer_provider, meter_provider, capture_content=True)
    try:
        openai_server.inject(faults.http_error(429, headers={"retry-after": "0"}))
        reply = (
            llm.build("openai", "Hello")
            .with_options(base_url=openai_server.base_url, api_key=KEY)
            .with_retry(sleep=lambda s: None)
            .execute()
        )
        tracer_provider.force_flush()
        meter_provider.force_flush()
    finally:
        llm.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()

    received = collector.spans()
    by_name = {span.name: (resource, span) for resource, span in received}
    model = reply.request.model
    resource, root = by_name[f"chat {model}"]
    assert {kv.key: kv.value.string_value for kv in resource.attributes}[
        "service.name"
    ] == "notebook"
    attrs = collector.attributes(root)
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.output_tokens
    assert attrs["llmpipe.attempts"] == 2
    assert "Hello" in attrs["gen_ai.input.messages"]
    plugs = [s for _, s in received if s.parent_span_id == root.span_id]
    assert [s.name for s in sorted(plugs, key=lambda s: s.start_time_unix_nano)] == [
        s.plug for s in reply.request.trace
    ]
    execute = by_name["ExecuteRequest"][1]
    attempts = [s for _, s in received if s.parent_span_id == execute.span_id]
    assert sorted(s.name for s in attempts) == ["attempt 1", "attempt 2"]
    assert {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
    } <= collector.metric_names()
    assert all(KEY.encode() not in body for body in collector.bodies)


def test_the_environment_alone_sends_spans_and_the_import_stays_light(collector):
    script = textwrap.dedent(
        """
        import sys
        import llmpipe_nb as llm
        assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported early"
        llm.chat("mock", "Hello")
        assert "opentelemetry" in sys.modules
        """
    )
    env = {
        **os.environ,
        "OTEL_SERVICE_NAME": "nb-from-env",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_METRICS_EXPORTER": "none",
    }
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)

    received = collector.wait_for_spans(1, timeout=5)  # flushed at exit
    ((resource, span),) = [(r, s) for r, s in received if s.name == "chat mock-1"]
    assert {s.trace_id for _, s in received} == {span.trace_id}
    assert "ExecuteRequest" in {s.name for _, s in received if s.parent_span_id == span.span_id}
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"] == (
        "nb-from-env"
    )


@pytest.mark.slow
def test_dask_worker_processes_join_the_callers_trace(collector, otel, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)  # the workers inherit it
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    tracer = otel.tracer_provider.get_tracer("notebook")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with tracer.start_as_current_span("dask cell") as cell:
            out = llm.map(
                ["a", "b", "c", "d"],
                "About {}",
                provider="mock",
                engine="dask",
                client=client,
                partitions=2,
                progress=False,
            )
        requests = [s for _, s in collector.wait_for_spans(4 * 8) if s.name.startswith("chat ")]
    assert out.error.isna().all()
    assert len(requests) == 4
    ctx = cell.get_span_context()
    assert {s.trace_id for s in requests} == {ctx.trace_id.to_bytes(16, "big")}
    assert {s.parent_span_id for s in requests} == {ctx.span_id.to_bytes(8, "big")}
