"""A span the user opens is the parent of the request spans: sync, async, llm.map's loop, Dask."""

from __future__ import annotations

import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb import pipeline
from llmpipe_nb.observability import control


def parented(otel, user_span):
    ctx = user_span.get_span_context()
    spans = otel.requests()
    assert spans
    for span in spans:
        assert span.context.trace_id == ctx.trace_id
        assert span.parent is not None and span.parent.span_id == ctx.span_id
    return spans


def test_a_user_span_around_a_cell_is_the_parent_of_its_requests(otel):
    tracer = otel.tracer_provider.get_tracer("notebook")
    with tracer.start_as_current_span("cell 3") as cell:
        llm.chat("mock", "Hello")
        llm.stream("mock", "Hello").text()
    assert len(parented(otel, cell)) == 2
    llm.chat("mock", "outside")
    assert otel.requests()[-1].parent is None


def test_async_requests_inside_a_user_span_are_its_children(otel):
    tracer = otel.tracer_provider.get_tracer("notebook")

    async def cell():
        with tracer.start_as_current_span("async cell") as span:
            await asyncio.gather(*(llm.achat("mock", f"q{i}") for i in range(3)))
            return span

    span = asyncio.run(cell())
    assert len(parented(otel, span)) == 3


def test_llm_map_rows_run_on_the_background_loop_keep_the_users_span(otel):
    tracer = otel.tracer_provider.get_tracer("notebook")
    with tracer.start_as_current_span("batch cell") as span:
        out = llm.map(["a", "b", "c"], "About {}", provider="mock", progress=False)
    assert out.error.isna().all()
    spans = parented(otel, span)
    assert len(spans) == 3


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_dask_rows_carry_the_users_span_to_the_workers(otel):
    distributed = pytest.importorskip("distributed")
    tracer = otel.tracer_provider.get_tracer("notebook")
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        tracer.start_as_current_span("dask cell") as span,
    ):
        out = llm.map(
            ["a", "b", "c", "d"],
            "About {}",
            provider="mock",
            engine="dask",
            client=client,
            progress=False,
        )
    assert out.error.isna().all()
    assert len(parented(otel, span)) == 4


def test_off_means_no_listener_and_no_spans(otel):
    llm.chat("mock", "on")
    assert control._emit in pipeline._listeners
    llm.uninstrument()
    assert control._emit not in pipeline._listeners
    assert not control.is_instrumented()
    llm.chat("mock", "off")
    assert len(otel.requests()) == 1


def test_instrumenting_again_replaces_the_settings_without_doubling_spans(otel):
    llm.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    llm.chat("mock", "once")
    assert len(otel.requests()) == 1
    assert pipeline._listeners.count(control._emit) == 1


def test_bad_arguments_are_refused_with_one_sentence():
    with pytest.raises(llm.ConfigError, match="capture_content must be True or False"):
        llm.instrument(capture_content="yes")
    assert not control.is_instrumented()


def test_the_environment_decides_nothing_without_its_variables():
    assert control.instrument_from_env({}) is False
    assert (
        control.instrument_from_env({"OTEL_SDK_DISABLED": "true", "OTEL_SERVICE_NAME": "x"})
        is False
    )
    disabled = {
        "OTEL_SERVICE_NAME": "x",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "redis,llmpipe_nb",
    }
    assert control.instrument_from_env(disabled) is False
    assert not control.is_instrumented()


def test_without_opentelemetry_instrument_says_which_extra_to_install(fresh_python):
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import llmpipe_nb as llm\n"
        "try:\n    llm.instrument()\nexcept llm.MissingDependencyError as e:\n    print(e)\n"
        "print(llm.chat('mock', 'still works').content[:3])"
    )
    out = fresh_python(code)
    assert "pip install 'llmpipe_nb[otel]'" in out.stdout
    assert out.stdout.strip().endswith("You")
