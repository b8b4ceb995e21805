"""Anthropic takes at most four cache_control breakpoints: more is refused before sending."""

from __future__ import annotations

import json

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ConfigError
from llmpipe_nb.testing import FakeServer

KEY = "sk-ant-test-0123456789"
CACHED = {"type": "ephemeral"}
TOOL = {"name": "now", "parameters": {"type": "object", "properties": {}}, "cache_control": CACHED}


def marked(n: int) -> list[dict]:
    """A system prompt and a user turn with `n` marked blocks between them."""
    blocks = [{"type": "text", "text": f"part {i}", "cache_control": CACHED} for i in range(n)]
    return [
        {"role": "system", "content": blocks[:1] or "Be brief."},
        {"role": "user", "content": [*blocks[1:], {"type": "text", "text": "Go"}]},
    ]


@pytest.fixture
def server():
    with FakeServer("anthropic") as fake:
        yield fake


def test_four_breakpoints_go_out(server) -> None:
    llm.chat("anthropic", marked(3), tools=[TOOL], api_key=KEY, base_url=server.base_url)
    assert json.dumps(server.last_request.json).count('"cache_control"') == 4


@pytest.mark.parametrize(("blocks", "tools", "found"), [(5, [], 5), (4, [TOOL], 5)])
def test_a_fifth_breakpoint_is_refused_before_sending(server, blocks, tools, found) -> None:
    with pytest.raises(ConfigError, match=rf"marks {found} blocks with cache_control.* at most 4"):
        llm.chat("anthropic", marked(blocks), tools=tools, api_key=KEY, base_url=server.base_url)
    assert server.requests == []


def test_the_wire_server_answers_a_fifth_as_the_api_does(server) -> None:
    import httpx2

    body = {"model": "claude-haiku-5-5", "max_tokens": 8, "tools": [{**TOOL, "input_schema": {}}]}
    body["tools"][0].pop("parameters")
    body["messages"] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": str(i), "cache_control": CACHED} for i in range(4)
            ],
        }
    ]
    headers = {"x-api-key": KEY, "anthropic-version": "2026-10-21"}
    with httpx2.Client() as client:
        answer = client.post(f"{server.base_url}/v1/messages", json=body, headers=headers)
    assert answer.status_code == 400
    assert "A maximum of 4 blocks with cache_control may be provided. Found 5." in answer.text
