"""The mock provider's tool use: it asks for each offered tool once, then quotes the results."""

from __future__ import annotations

import asyncio
import enum
from typing import Literal

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ToolLoopLimitError


class Unit(enum.Enum):
    C = "C"
    F = "F"


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict:
    """Current weather for a city."""
    return {"city": city, "temp": 18, "unit": unit}


def local_time(zone: str) -> str:
    """The local time in a time zone."""
    return "12:00"


def convert(amount: float, unit: Unit, note: str = "none") -> str:
    """Convert an amount."""
    return f"{amount} {unit.value}"


@pytest.fixture
def mock():
    return llm.providers.get("mock")


def test_it_asks_for_every_tool_once_then_answers_with_their_results(mock) -> None:
    reply = llm.chat("mock", "Is it warmer in Paris or Rome?", tools=[get_weather, local_time])
    assert [type(s).__name__ for s in reply.steps] == [
        "ModelTurn",
        "ToolRun",
        "ToolRun",
        "ModelTurn",
    ]
    first = reply.steps[0].response
    assert first.finish_reason == "tool_calls" and first.usage.output_tokens > 0
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("get_weather", {"city": "Paris"}),  # required properties only: unit keeps its default
        ("local_time", {"zone": "Paris"}),
    ]
    assert reply.content == (
        'From the tools: get_weather said {"city": "Paris", "temp": 18, "unit": "C"}; '
        "local_time said 12:00 (the mock provider's deterministic answer to: "
        "Is it warmer in Paris or Rome?)"
    )
    assert len(mock.requests) == 2
    sent = mock.requests[1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]


def test_arguments_fit_the_schema_and_are_the_same_for_the_same_chat(mock) -> None:
    prompt = "Turn 12.5 into F"
    first = llm.chat("mock", prompt, tools=[convert])
    call = first.steps[0].tool_calls[0]
    assert call.arguments == {"amount": 12.5, "unit": "F"}  # the prompt's number and enum value
    assert first.steps[1].value == "12.5 F"
    again = llm.chat("mock", prompt, tools=[convert]).steps[0].tool_calls[0]
    assert again == call
    other = llm.chat("mock", "Turn 3 into C", tools=[convert]).steps[0].tool_calls[0]
    assert other.id != call.id and other.arguments == {"amount": 3, "unit": "C"}


def test_a_stream_carries_the_calls_as_deltas_and_the_runs_as_chunks(mock) -> None:
    with llm.stream("mock", "Weather in Oslo?", tools=[get_weather]) as stream:
        chunks = list(stream)
    kinds = [c.kind for c in chunks if c.kind != "text"]
    assert kinds == ["tool_calls", "tool_start", "tool_result", "done"]
    asked = next(c for c in chunks if c.kind == "tool_calls")
    assert [(c.name, c.arguments) for c in asked.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert asked.usage.output_tokens > 0
    reply = stream.response
    assert reply.steps[1].value == {"city": "Oslo", "temp": 18, "unit": "C"}
    assert "".join(c.content for c in chunks) == reply.content
    assert reply.content.startswith('From the tools: get_weather said {"city": "Oslo"')


def test_streamed_and_whole_answers_ask_for_the_same_calls(mock) -> None:
    scripted = {"content": "", "tool_calls": [{"id": "c1", "name": "f", "arguments": "not json"}]}
    mock.configure(replies=[scripted, scripted])
    whole = llm.chat("mock", "x", tools=[{"name": "f", "parameters": {"type": "object"}}])
    with llm.stream("mock", "x", tools=[{"name": "f", "parameters": {"type": "object"}}]) as stream:
        chunks = list(stream)
    assert whole.tool_calls == chunks[-1].tool_calls == (llm.ToolCall("c1", "f", "not json"),)
    assert stream.response.tool_calls == whole.tool_calls


def test_approval_pauses_and_resumes(mock) -> None:
    paused = llm.chat("mock", "Weather in Oslo?", tools=[get_weather], approve="ask")
    assert [c.arguments for c in paused.pending] == [{"city": "Oslo"}] and len(mock.requests) == 1
    denied = paused.resume(approved=[])
    assert denied.steps[1].status == "denied"
    assert "get_weather said The user refused to run get_weather." in denied.content


def test_max_steps_one_stops_at_the_first_ask(mock) -> None:
    with pytest.raises(ToolLoopLimitError, match="max_steps=1") as caught:
        llm.chat("mock", "Weather in Oslo?", tools=[get_weather], max_steps=1)
    assert len(caught.value.steps) == 1 and len(mock.requests) == 1


def test_async_chat_runs_the_loop(mock) -> None:
    reply = asyncio.run(llm.achat("mock", "Weather in Oslo?", tools=[get_weather]))
    assert reply.steps[1].value["city"] == "Oslo"


def test_no_calls_when_told_none_scripted_or_without_tools(mock) -> None:
    spec = {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    assert llm.chat("mock", "Oslo", tools=[spec], tool_choice="none").tool_calls == ()
    asked = llm.chat("mock", "Oslo", tools=[{"type": "function", "function": spec}])
    assert [c.name for c in asked.tool_calls] == ["get_weather"]  # wire dicts: asked, not run
    mock.configure(reply="scripted")
    scripted = llm.chat("mock", "Oslo", tools=[get_weather])
    assert scripted.content == "scripted" and len(scripted.steps) == 1
    mock.reset()
    assert llm.chat("mock", "Oslo").content.startswith("You asked about: Oslo.")
