"""The tool loop on the clouds' wire formats: Bedrock's Converse (signed) and Azure OpenAI."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.config import reset_configuration
from llmpipe_nb.testing import FakeServer

AZURE_KEY = "azure-key-canary-0123456789"


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


@pytest.fixture
def cloud(monkeypatch, aws_static_credentials):
    """`cloud(name)` -> (server, options); static AWS credentials, no cloud settings around."""
    for name in ("OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    started: list[FakeServer] = []

    def start(name: str) -> tuple[FakeServer, dict]:
        key = AZURE_KEY if name == "azure" else None
        server = FakeServer(name, api_key=key).start()
        started.append(server)
        llm.configure(name, base_url=server.url, **({"api_key": key} if key else {}))
        return server, {"model": "chat"} if name == "azure" else {}

    yield start
    for server in started:
        server.close()
        reset_configuration(server.provider)


@pytest.mark.parametrize("mode", ["chat", "stream", "resume"])
@pytest.mark.parametrize("name", ["bedrock", "azure"])
def test_the_loop_runs_on_the_clouds(cloud, name, mode) -> None:
    server, options = cloud(name)
    tools = [get_weather, get_time]
    if mode == "chat":
        reply = llm.chat(name, "Paris", tools=tools, **options)
    elif mode == "stream":
        with llm.stream(name, "Paris", tools=tools, **options) as stream:
            list(stream)
        reply = stream.response
    else:
        paused = llm.chat(name, "Paris", tools=tools, approve="ask", **options)
        reply = paused.resume(approved=paused.pending[:1])
    expected = ["ok", "denied"] if mode == "resume" else ["ok", "ok"]
    assert [s.status for s in reply.steps[1:3]] == expected
    assert reply.content.startswith("Echo:") and len(server.requests) == 2
