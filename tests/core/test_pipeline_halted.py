"""A halted pipeline gives its caller something to inspect: the answer a plug left (a cache
hit), or PipelineHalted naming the plug and its reason; the same sync, async and streamed."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm

KEY = "sk-test-halted-0123456789"


class Closed(llm.Plug):
    """Refuses every request outside office hours, without an error."""

    def call(self, request):
        return request.halt("outside office hours")


class Canned(llm.Plug):
    """Answers a blocked topic itself, and halts with that answer."""

    def call(self, request):
        answer = llm.ChatResponse(content="I cannot talk about that.", provider=request.provider)
        return request.evolve(result=answer).halt("blocked topic")


def check_halted(error: llm.PipelineHalted, sent: list) -> None:
    assert isinstance(error, llm.PipelineError)
    assert (error.plug, error.reason) == ("Closed", "outside office hours")
    assert error.request.state == "halted" and error.request.result is None
    assert str(error) == (
        "Plug Closed halted the pipeline before any answer: outside office hours; "
        "run() returns the halted request to inspect."
    )
    assert sent == []  # nothing reached the provider


def test_execute_raises_pipeline_halted_naming_the_plug_and_reason(mock):
    builder = llm.build("mock", "hi").with_custom_plug(Closed)
    with pytest.raises(llm.PipelineHalted) as caught:
        builder.execute()
    check_halted(caught.value, mock.requests)
    assert builder.run().state == "halted"  # run() still returns the request, without raising


async def test_aexecute_raises_the_same(mock):
    with pytest.raises(llm.PipelineHalted) as caught:
        await llm.build("mock", "hi").with_custom_plug(Closed).aexecute()
    check_halted(caught.value, mock.requests)


def test_a_halted_stream_raises_the_same(mock):
    stream = llm.build("mock", "hi").with_custom_plug(Closed).stream()
    with pytest.raises(llm.PipelineHalted) as caught:
        stream.text()
    check_halted(caught.value, mock.requests)


async def test_a_halted_async_stream_raises_the_same(mock):
    stream = llm.build("mock", "hi").with_custom_plug(Closed).astream()
    with pytest.raises(llm.PipelineHalted) as caught:
        await stream.atext()
    check_halted(caught.value, mock.requests)


def test_a_budget_that_halts_names_itself():
    llm.set_price("mock-1", input_per_mtok=3.0, output_per_mtok=15.0)
    llm.chat("mock", "spend something")
    builder = llm.build("mock", "hi").with_budget(limit=0.0, on_exceed="halt", estimate=False)
    with pytest.raises(llm.PipelineHalted) as caught:
        builder.execute()
    assert (caught.value.plug, caught.value.reason) == ("Budget", "budget for overall reached")


@pytest.mark.parametrize("run", ["execute", "aexecute"])
async def test_a_plug_that_halts_with_an_answer_returns_it(mock, run):
    builder = llm.build("mock", "hi").with_custom_plug(Canned)
    answer = builder.execute() if run == "execute" else await builder.aexecute()
    assert answer.content == "I cannot talk about that."
    assert answer.request.state == "halted" and mock.requests == []


@pytest.mark.parametrize("run", ["execute", "aexecute"])
async def test_a_cache_hit_returns_the_stored_answer(openai_server, run):
    builder = (
        llm.build("openai", "cache me")
        .with_options(api_key=KEY, base_url=openai_server.base_url)
        .with_cache(store="memory")
    )
    first = builder.execute()
    hit = builder.execute() if run == "execute" else await builder.aexecute()
    assert hit.cache_hit and hit.content == first.content
    assert hit.request.state == "halted" and hit.request.metadata["halt_reason"] == "cache hit"
    assert len(openai_server.requests) == 1


@pytest.fixture
def mock():
    return llm.providers.get("mock")
