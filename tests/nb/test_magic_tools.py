"""`%%llm PROVIDER --tools f,g`: the notebook's functions as tools, their runs shown as they happen."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import llmpipe_nb as llm
from llmpipe_nb.config import reset_configuration
from llmpipe_nb.testing import FakeServer


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


@pytest.fixture
def openai():
    with FakeServer("openai") as server:
        llm.configure(
            "openai",
            base_url=server.base_url,
            api_key="sk-test-0123456789",
            default_model="gpt-6.1-sol",
        )
        yield server
        reset_configuration("openai")


def test_a_tools_cell_runs_the_calls_and_shows_them_while_it_streams(ip, openai, cells):
    ip.run_line_magic("llm", "config update_interval=0")
    ip.user_ns["get_weather"] = get_weather
    cap = cells.ok("%%llm openai --tools get_weather --output reply\nParis")
    reply = ip.user_ns["reply"]
    assert [type(s).__name__ for s in reply.steps] == ["ModelTurn", "ToolRun", "ModelTurn"]
    assert len(openai.requests) == 2
    assert openai.requests[0].json["tools"][0]["function"]["name"] == "get_weather"
    streaming = [
        o.data["text/plain"] for o in cap.outputs if o.metadata["llmpipe"]["stage"] == "streaming"
    ]
    assert any("→ get_weather(city='Paris')" in text for text in streaming)
    assert any("← get_weather: ok" in text for text in streaming)
    assert cap.outputs[-1].metadata["llmpipe"]["stage"] == "final"


def test_a_tools_line_runs_without_streaming(ip, openai):
    ip.user_ns["get_weather"] = get_weather
    reply = ip.run_line_magic("llm", "openai --tools get_weather Paris")
    assert reply.steps[1].value == {"city": "Paris", "temp_c": 18}


def test_a_tool_the_notebook_does_not_define_is_a_usage_error_and_nothing_is_sent(
    ip, openai, cells
):
    ip.user_ns["get_weather"] = get_weather
    result, cap = cells.run("%%llm openai --tools get_weather,search\nParis")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--tools 'search' is not defined in this notebook" in cap.stderr
    assert openai.requests == []


def test_a_name_that_is_not_a_function_is_one_line_and_nothing_is_sent(ip, openai, cells):
    ip.user_ns["n"] = 3
    result, cap = cells.run("%%llm openai --tools n\nParis")
    assert result.error_in_exec is not None and "Traceback" not in cap.stderr
    assert openai.requests == []
