"""The tool loop streamed over real HTTP: turns' text, the tool runs as chunks, the answer."""

from __future__ import annotations

import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ToolLoopLimitError

from .conftest import PROVIDERS


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_runs_the_calls_and_shows_them_as_chunks(served, provider) -> None:
    server, options = served(provider)
    with llm.stream(provider, "Paris", tools=[get_weather], **options) as stream:
        chunks = list(stream)
    kinds = [c.kind for c in chunks if c.kind != "text"]
    assert kinds == ["tool_calls", "tool_start", "tool_result", "done"]
    start = next(c for c in chunks if c.kind == "tool_start")
    assert start.tool_start.name == "get_weather"
    result = next(c for c in chunks if c.kind == "tool_result").tool_result
    assert result.status == "ok" and result.value == {"city": "Paris", "temp_c": 18}
    assert len(server.requests) == 2
    reply = stream.response
    assert reply.content.startswith("Echo:") and not reply.tool_calls
    assert [type(s).__name__ for s in reply.steps] == ["ModelTurn", "ToolRun", "ModelTurn"]
    answer = "".join(c.content for c in chunks[chunks.index(start) :])
    assert answer == reply.content


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_parallel_calls_stream_as_deltas_and_both_run(served, provider) -> None:
    server, options = served(provider)
    with llm.stream(provider, "Paris", tools=[get_weather, get_time], **options) as stream:
        chunks = list(stream)
    asked = next(c for c in chunks if c.kind == "tool_calls")
    assert [(c.name, c.arguments) for c in asked.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Paris"}),
    ]
    starts = [c.tool_start.name for c in chunks if c.kind == "tool_start"]
    results = [c.tool_result.output for c in chunks if c.kind == "tool_result"]
    assert starts == ["get_weather", "get_time"] and results[1] == "12:00"
    assert len(server.requests) == 2 and stream.response.content.startswith("Echo:")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_async_stream_awaits_async_tools(served, provider) -> None:
    async def lookup(key: str) -> str:
        """Look a key up."""
        await asyncio.sleep(0)
        return f"value of {key}"

    _, options = served(provider)

    async def main() -> list:
        async with llm.astream(provider, "Paris", tools=[lookup], **options) as stream:
            return [c async for c in stream]

    chunks = asyncio.run(main())
    run = next(c.tool_result for c in chunks if c.kind == "tool_result")
    assert run.output == "value of Paris"
    assert chunks[-1].done and not chunks[-1].tool_calls


def test_a_callback_sees_the_tool_runs(served) -> None:
    _, options = served("openai")
    seen: list[str] = []
    reply = llm.stream(
        "openai", "Paris", tools=[get_weather], callback=lambda c: seen.append(c.kind), **options
    )
    assert "tool_result" in seen and seen[-1] == "done"
    assert len(reply.steps) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_step_limit_raises_in_the_stream_after_the_chunks_so_far(served, provider) -> None:
    server, options = served(provider)
    stream = llm.stream(provider, "Paris", tools=[get_weather], max_steps=1, **options)
    seen = []
    with pytest.raises(ToolLoopLimitError) as caught, stream:
        for chunk in stream:
            seen.append(chunk)
    assert len(caught.value.steps) == 1 and seen and len(server.requests) == 1


def test_closing_between_tool_runs_stops_the_loop(served) -> None:
    server, options = served("openai")
    stream = llm.stream("openai", "Paris", tools=[get_weather], **options)
    for chunk in stream:
        if chunk.kind == "tool_start":
            break
    stream.close()
    assert len(server.requests) == 1
    with pytest.raises(llm.errors.PipelineError, match="closed before it finished"):
        stream.text()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_paused_stream_ends_with_pending_and_resumes_as_a_chat(served, provider) -> None:
    server, options = served(provider)
    with llm.stream(provider, "Paris", tools=[get_weather], approve="ask", **options) as stream:
        kinds = [c.kind for c in stream if c.kind != "text"]
    assert kinds == ["tool_calls", "done"]
    reply = stream.response
    assert [c.name for c in reply.pending] == ["get_weather"]
    final = reply.resume(approved=reply.pending)
    assert final.content.startswith("Echo:") and len(server.requests) == 2
    assert [type(s).__name__ for s in final.steps] == ["ModelTurn", "ToolRun", "ModelTurn"]


def test_a_stream_without_tools_is_unchanged(served) -> None:
    server, options = served("openai")
    chunks = list(llm.stream("openai", "Hello", **options))
    assert {c.kind for c in chunks} == {"text", "done"} and len(server.requests) == 1
