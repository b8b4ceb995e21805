"""Reasoning models in the tool loop: each turn's thinking and signatures go back with it.

Gemini 3 signs its function calls and refuses a follow-up without the signature;
Anthropic refuses tool results whose assistant turn lost its thinking. The loop (chat,
stream, and a paused loop resumed) must send every turn back as it came.
"""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer

from .conftest import KEY

#: (provider, options that turn reasoning on)
REASONING = {
    "gemini-3": ("gemini", {"model": "gemini-3.5-flash-lite"}),
    "anthropic-thinking": (
        "anthropic",
        {"model": "claude-sonnet-4-6", "thinking": {"type": "adaptive"}},
    ),
    "ollama-think": ("ollama", {"model": "qwen3", "think": True}),
    "openai-reasoning": ("openai", {"model": "gpt-6.1-sol", "reasoning_effort": "low"}),
}


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


def run(mode: str, provider: str, options: dict) -> llm.ChatResponse:
    tools = [get_weather, get_time]
    if mode == "chat":
        return llm.chat(provider, "Paris", tools=tools, **options)
    if mode == "stream":
        with llm.stream(provider, "Paris", tools=tools, **options) as stream:
            list(stream)
        return stream.response
    paused = llm.chat(provider, "Paris", tools=tools, approve="ask", **options)
    return paused.resume(approved=paused.pending[:1])


@pytest.mark.parametrize("mode", ["chat", "stream", "resume"])
@pytest.mark.parametrize("case", list(REASONING))
def test_a_reasoning_turn_goes_back_whole(case, mode) -> None:
    provider, reasoning = REASONING[case]
    with FakeServer(provider) as server:
        options = {"base_url": server.base_url, **reasoning}
        if provider != "ollama":
            options["api_key"] = KEY
        reply = run(mode, provider, options)
        assert len(server.requests) == 2
    assert [type(s).__name__ for s in reply.steps] == [
        "ModelTurn",
        "ToolRun",
        "ToolRun",
        "ModelTurn",
    ]
    assert reply.content.startswith("Echo:") and not reply.tool_calls
    expected = ["ok", "denied"] if mode == "resume" else ["ok", "ok"]
    assert [s.status for s in reply.steps[1:3]] == expected
