"""A streamed answer's timing: time to its first chunk and its total time, in the response,
the ledger row and the views, for every provider over loopback HTTP and for the mock."""

from __future__ import annotations

import math

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer, Fault
from llmpipe_nb.views import response_html, response_text

KEY = "sk-test-timing-0123456789"
PROVIDERS = ("openai", "anthropic", "gemini", "ollama")
#: the first chunk after about 60 ms, then four more 40 ms apart
SLOW = Fault(delay_s=0.06, chunk_delay_s=0.04, chunk_count=5)


@pytest.fixture(params=PROVIDERS)
def served(request, fake_server):
    """(provider, options) for a loopback server whose next stream is slow."""
    server = fake_server(request.param)
    server.inject(SLOW, times=3)
    if request.param == "ollama":
        return request.param, {"base_url": server.url}
    return request.param, {"api_key": KEY, "base_url": server.base_url}


@pytest.fixture
def mock():
    return llm.providers.get("mock")


def assert_timed(response: llm.ChatResponse) -> None:
    """Latency and first token measured, in the order they happened, and everywhere the same."""
    assert response.ttft_ms is not None and response.ttft_ms >= 50
    assert response.latency_ms is not None
    assert response.latency_ms - response.ttft_ms >= 100  # four more chunks, 40 ms apart
    row = llm.costs().iloc[-1]
    assert row.request_id == response.request.id
    assert row.latency_ms == pytest.approx(response.latency_ms)
    assert row.ttft_ms == pytest.approx(response.ttft_ms)
    footer = response_text(response).splitlines()[-1]
    assert f"latency {response.latency_ms:.1f} ms · first token {response.ttft_ms:.1f} ms" in footer
    assert "first token" in response_html(response)


def test_llm_stream_records_first_token_and_total_time(served):
    provider, options = served
    stream = llm.stream(provider, "time me", **options)
    stream.text()
    assert_timed(stream.response)


def test_a_stream_with_a_callback_is_timed(served):
    provider, options = served
    assert_timed(llm.stream(provider, "time me", callback=lambda chunk: None, **options))


async def test_llm_astream_records_first_token_and_total_time(served):
    provider, options = served
    stream = llm.astream(provider, "time me", **options)
    await stream.atext()
    assert_timed(stream.response)


def test_builder_streams_are_timed(served):
    provider, options = served
    builder = llm.build(provider, "time me").with_options(**options)
    stream = builder.stream()
    stream.text()
    assert_timed(stream.response)


async def test_builder_async_streams_are_timed(served):
    provider, options = served
    stream = llm.build(provider, "time me").with_options(**options).astream()
    await stream.atext()
    assert_timed(stream.response)


@pytest.mark.parametrize("run", ["stream", "astream"])
async def test_mock_streams_are_timed(mock, run):
    mock.configure(
        reply="one, two, three, four, five", chunk_size=6, latency=0.06, chunk_latency=0.04
    )
    stream = llm.stream("mock", "time me") if run == "stream" else llm.astream("mock", "time me")
    if run == "stream":
        stream.text()
    else:
        await stream.atext()
    assert_timed(stream.response)


def test_an_answer_that_was_not_streamed_has_no_first_token(openai_server: FakeServer):
    response = llm.chat("openai", "hi", api_key=KEY, base_url=openai_server.base_url)
    assert response.ttft_ms is None and response.latency_ms > 0
    assert "first token" not in response_text(response)
    row = llm.costs().iloc[-1]
    assert row.request_id == response.request.id and math.isnan(row.ttft_ms)
