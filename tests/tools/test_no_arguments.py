"""A tool without arguments goes out in each provider's accepted shape."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm

PROVIDERS = ["openai", "anthropic", "gemini", "ollama", "vllm"]


def today() -> str:
    """Today's date."""
    return "2026-12-07"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_without_arguments_is_called_and_answered(served, provider) -> None:
    server, options = served(provider)
    reply = llm.chat(provider, "What day is it?", tools=[today], **options)
    runs = [s for s in reply.steps if isinstance(s, llm.ToolRun)]
    assert [(r.call.name, r.call.arguments, r.status) for r in runs] == [("today", {}, "ok")]
    assert len(server.requests) == 2 and reply.content


def test_gemini_leaves_out_the_parameters_of_a_function_without_arguments(served) -> None:
    server, options = served("gemini")
    llm.chat("gemini", "What day is it?", tools=[today], **options)
    (declaration,) = server.requests[0].json["tools"][0]["functionDeclarations"]
    assert declaration == {"name": "today", "description": "Today's date."}


def test_the_gemini_server_refuses_an_object_without_properties(served) -> None:
    _, options = served("gemini")
    tool = {"name": "today", "parameters": {"type": "object", "properties": {}}}
    bare = {"functionDeclarations": [tool]}
    with pytest.raises(llm.errors.ProviderError, match="should be non-empty for OBJECT type"):
        llm.chat("gemini", "What day is it?", extra_body={"tools": [bare]}, **options)


def test_a_single_function_or_toolset_needs_no_list() -> None:
    reply = llm.chat("mock", "What day is it?", tools=today)
    assert [s.output for s in reply.steps if isinstance(s, llm.ToolRun)] == ["2026-12-07"]

    class Toolset:
        def tools(self) -> list:
            return [today]

    reply = llm.chat("mock", "What day is it?", tools=Toolset())
    assert [s.call.name for s in reply.steps if isinstance(s, llm.ToolRun)] == ["today"]


def test_tools_that_are_neither_list_nor_tool_are_refused_before_sending() -> None:
    with pytest.raises(
        llm.errors.ConfigError, match=r"tools.*a list of functions, Tools, toolsets"
    ):
        llm.chat("mock", "What day is it?", tools="today")
