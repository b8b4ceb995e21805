"""The tool loop over real HTTP on every provider: calls, results, errors, limits, approval."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BudgetExceededError, ToolFailedError, ToolLoopLimitError

from .conftest import PROVIDERS


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


def tool_results(provider: str, body: dict) -> list[str]:
    """The tool results the last request sent back, read from the provider's own shape."""
    if provider == "anthropic":
        blocks = body["messages"][-1]["content"]
        return [b["content"] for b in blocks if b["type"] == "tool_result"]
    if (
        provider == "gemini"
    ):  # an object; other text as {"result": text}, an error's as {"error": text}
        parts = body["contents"][-1]["parts"]
        responses = [p["functionResponse"]["response"] for p in parts if "functionResponse" in p]
        return [
            r[k] if list(r) == [k] else json.dumps(r) for r in responses for k in [next(iter(r))]
        ]
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_parallel_calls_run_and_their_results_go_back(served, provider) -> None:
    server, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[get_weather, get_time], **options)
    kinds = [type(step).__name__ for step in reply.steps]
    assert kinds == ["ModelTurn", "ToolRun", "ToolRun", "ModelTurn"]
    runs = [s for s in reply.steps if isinstance(s, llm.ToolRun)]
    assert [(r.call.name, r.call.arguments, r.status) for r in runs] == [
        ("get_weather", {"city": "Paris"}, "ok"),
        ("get_time", {"zone": "Paris"}, "ok"),
    ]
    assert runs[0].value == {"city": "Paris", "temp_c": 18}
    first_turn = reply.steps[0].response.request  # each turn keeps its own finished request
    assert first_turn.state == "completed" and first_turn is not reply.request
    assert len(server.requests) == 2
    sent = " ".join(tool_results(provider, server.last_request.json))
    assert "18" in sent and "12:00" in sent
    assert reply.content.startswith("Echo:") and not reply.tool_calls
    tags = {tuple(row["tags"]) for row in llm.costs().to_dict("records")}
    assert len(tags) == 1 and next(iter(tags))[0].startswith("loop:")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_call_runs_and_the_model_answers(served, provider) -> None:
    server, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[get_weather], **options)
    assert [type(s).__name__ for s in reply.steps] == ["ModelTurn", "ToolRun", "ModelTurn"]
    assert reply.steps[1].value == {"city": "Paris", "temp_c": 18}
    assert tool_results(provider, server.last_request.json) == [reply.steps[1].output]
    assert reply.content.startswith("Echo:") and reply.usage.input_tokens > 0
    assert all(step.cost is not None for step in reply.steps[::2])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invalid_arguments_go_back_as_a_tool_error_not_into_the_function(served, provider) -> None:
    called = []

    def count(n: int) -> int:
        """Count."""
        called.append(n)
        return n

    server, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[count], **options)
    run = reply.steps[1]
    assert run.status == "invalid" and called == []
    assert "do not fit count's schema" in run.output and "integer" in run.output
    assert tool_results(provider, server.last_request.json) == [run.output]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_that_raises_sends_its_message_back(served, provider) -> None:
    def lookup(key: str) -> str:
        """Look a key up."""
        raise KeyError(f"no entry {key}")

    server, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[lookup], **options)
    assert reply.steps[1].status == "error"
    assert tool_results(provider, server.last_request.json) == ["Error: KeyError: 'no entry Paris'"]
    assert reply.content.startswith("Echo:")
    with pytest.raises(KeyError):
        llm.chat(provider, "Paris", tools=[lookup], on_tool_error="raise", **options)
    assert len(server.requests) == 3  # the raising run sent its first turn only


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_tool_failing_in_a_row_stops_with_a_typed_error(served, provider) -> None:
    def broken(key: str) -> str:
        """Broken."""
        raise RuntimeError("down")

    server, options = served(provider)
    with pytest.raises(ToolFailedError, match="'broken' failed 1 times") as caught:
        llm.chat(provider, "Paris", tools=[broken], max_tool_failures=1, **options)
    assert caught.value.tool == "broken" and len(caught.value.steps) == 2
    assert len(server.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_max_steps_stops_with_the_steps_so_far(served, provider) -> None:
    server, options = served(provider)
    with pytest.raises(ToolLoopLimitError, match="max_steps=1") as caught:
        llm.chat(provider, "Paris", tools=[get_weather], max_steps=1, **options)
    assert [type(s).__name__ for s in caught.value.steps] == ["ModelTurn"]
    assert len(server.requests) == 1


def test_calls_run_concurrently_each_with_a_timeout(served) -> None:
    def slow_a(x: str) -> str:
        """Slow."""
        time.sleep(0.3)
        return "a"

    def slow_b(x: str) -> str:
        """Slow."""
        time.sleep(0.3)
        return "b"

    _, options = served("openai")
    began = time.perf_counter()
    reply = llm.chat("openai", "go", tools=[slow_a, slow_b], **options)
    assert time.perf_counter() - began < 0.55
    assert [s.output for s in reply.steps[1:3]] == ["a", "b"]
    reply = llm.chat("openai", "go", tools=[slow_a, slow_b], tool_timeout=0.05, **options)
    assert [s.status for s in reply.steps[1:3]] == ["timeout", "timeout"]
    assert "took longer than its timeout" in reply.steps[1].output


@pytest.mark.parametrize("provider", PROVIDERS)
def test_approval_never_and_a_function(served, provider) -> None:
    server, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[get_weather, get_time], approve="never", **options)
    assert [s.status for s in reply.steps[1:3]] == ["denied", "denied"]
    assert "refused to run get_weather" in tool_results(provider, server.last_request.json)[0]
    assert reply.content.startswith("Echo:")
    reply = llm.chat(
        provider,
        "Paris",
        tools=[get_weather, get_time],
        approve=lambda call: call.name == "get_time",
        **options,
    )
    assert [s.status for s in reply.steps[1:3]] == ["denied", "ok"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ask_without_a_terminal_pauses_and_resumes(served, provider) -> None:
    server, options = served(provider)
    paused = llm.chat(provider, "Paris", tools=[get_weather, get_time], approve="ask", **options)
    assert [c.name for c in paused.pending] == ["get_weather", "get_time"]
    assert len(server.requests) == 1
    reply = paused.resume(approved=[paused.pending[0]])
    assert [s.status for s in reply.steps[1:3]] == ["ok", "denied"]
    assert len(server.requests) == 2
    sent = tool_results(provider, server.last_request.json)
    assert "18" in sent[0] and "refused to run get_time" in sent[1]
    assert reply.content.startswith("Echo:") and not reply.pending
    with pytest.raises(llm.ConfigError, match="nothing to resume"):
        reply.resume()


def test_a_tool_marked_requires_approval_is_asked_even_when_the_rest_run(served) -> None:
    _, options = served("openai")
    guarded = llm.Tool.of(get_time, requires_approval=True)
    paused = llm.chat("openai", "Paris", tools=[get_weather, guarded], **options)
    assert [c.name for c in paused.pending] == ["get_time"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_budget_counts_the_whole_loop(served, provider) -> None:
    server, options = served(provider)
    spent = iter([0.0, 5.0])
    builder = (
        llm.build(provider, "Paris")
        .with_options(**options)
        .with_tools([get_weather], max_steps=3)
        .with_budget(limit=1.0, spent=lambda **_: next(spent), estimate=False)
    )
    with pytest.raises(BudgetExceededError) as caught:
        builder.execute()
    assert len(server.requests) == 1
    assert [type(s).__name__ for s in caught.value.steps] == ["ModelTurn", "ToolRun"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_chat_awaits_async_tools_on_the_loop(served, provider) -> None:
    async def fetch(url: str) -> str:
        """Fetch."""
        await asyncio.sleep(0)
        return "page"

    server, options = served(provider)
    reply = asyncio.run(llm.achat(provider, "Paris", tools=[fetch, get_time], **options))
    assert [s.output for s in reply.steps[1:3]] == ["page", "12:00"]
    assert len(server.requests) == 2 and reply.content.startswith("Echo:")
    reply = llm.chat(provider, "Paris", tools=[fetch], **options)  # sync loop, async tool
    assert reply.steps[1].output == "page"


def test_wire_dicts_still_pass_through_without_a_loop(served) -> None:
    _, options = served("openai")
    spec = {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    reply = llm.chat("openai", "Paris", tools=[spec], **options)
    assert reply.tool_calls and reply.steps == ()
