"""A failed tool run is flagged as an error where the provider's wire has a field for it."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm

from .test_cloud_loop import cloud  # noqa: F401  (the Bedrock fixture)


def lookup(key: str) -> str:
    """Look a key up."""
    raise KeyError(f"no entry {key}")


def found(key: str) -> str:
    """Look a key up that is there."""
    return "here"


def test_anthropic_marks_a_failed_run_is_error(served) -> None:
    server, options = served("anthropic")
    llm.chat("anthropic", "Paris", tools=[lookup, found], **options)
    blocks = server.last_request.json["messages"][-1]["content"]
    flags = [(b["content"], b.get("is_error")) for b in blocks]
    assert flags == [("Error: KeyError: 'no entry Paris'", True), ("here", None)]


def test_gemini_sends_a_failed_run_under_error(served) -> None:
    server, options = served("gemini")
    llm.chat("gemini", "Paris", tools=[lookup, found], **options)
    parts = server.last_request.json["contents"][-1]["parts"]
    responses = [p["functionResponse"]["response"] for p in parts]
    assert responses == [{"error": "Error: KeyError: 'no entry Paris'"}, {"result": "here"}]


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_formats_without_a_flag_send_the_message_alone(served, provider) -> None:
    server, options = served(provider)
    llm.chat(provider, "Paris", tools=[lookup], **options)
    (result,) = [m for m in server.last_request.json["messages"] if m["role"] == "tool"]
    assert "is_error" not in result and result["content"] == "Error: KeyError: 'no entry Paris'"


def test_bedrock_marks_a_failed_run_status_error(cloud) -> None:  # noqa: F811
    server, options = cloud("bedrock")
    llm.chat("bedrock", "Paris", tools=[lookup, found], **options)
    blocks = server.last_request.json["messages"][-1]["content"]
    statuses = [b["toolResult"].get("status") for b in blocks]
    assert statuses == ["error", None]


def test_a_flagged_tool_message_is_taken_back_by_hand(served) -> None:
    server, options = served("anthropic")
    reply = llm.chat("anthropic", "Paris", tools=[lookup], **options)
    (run,) = [s for s in reply.steps if isinstance(s, llm.ToolRun)]
    assert run.message()["is_error"] is True
    history = ["Paris", reply.steps[0].response.message, run.message()]
    llm.chat("anthropic", history, **options)
    (block,) = server.last_request.json["messages"][-1]["content"]
    assert block["is_error"] is True and block["tool_use_id"] == run.call.id
