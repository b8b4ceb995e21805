"""Ollama: the native API over loopback (NDJSON streams), OLLAMA_HOST, no key, faults."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    BadRequestError,
    ContextLengthError,
    ProviderConnectionError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers.ollama import chat_body, host_url, parse_chat
from llmpipe_nb.responses import ToolCall
from llmpipe_nb.testing import FakeServer, echo, faults

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {}}},
    },
}


@pytest.mark.parametrize(
    "host, url",
    [
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("localhost:8080", "http://localhost:8080"),
        ("http://10.0.0.2:11434/", "http://10.0.0.2:11434"),
        ("https://ollama.com", "https://ollama.com:443"),
        (":11434", "http://127.0.0.1:11434"),
        (":8080", "http://127.0.0.1:8080"),
        ("[::1]", "http://[::1]:11434"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_host_url_fills_scheme_and_port(host, url) -> None:
    assert host_url(host) == url


def test_chat_body_puts_generation_options_in_options() -> None:
    messages = [
        {"role": "developer", "content": "S"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image", "data": "AAA", "media_type": "image/png"},
            ],
        },
        {"role": "assistant", "content": "", "tool_calls": [ToolCall("c", "f", {"a": 1})]},
    ]
    options = {
        "model": "llama3.2",
        "temperature": 0.1,
        "max_tokens": 50,
        "stop": "x",
        "seed": 4,
        "response_format": {"type": "json_object"},
    }
    body = chat_body(messages, options, stream=False)
    assert body["stream"] is False and body["format"] == "json"
    assert body["options"] == {"temperature": 0.1, "seed": 4, "num_predict": 50, "stop": ["x"]}
    assert body["messages"][0] == {"role": "system", "content": "S"}
    assert body["messages"][1] == {"role": "user", "content": "Look", "images": ["AAA"]}
    assert body["messages"][2]["tool_calls"] == [{"function": {"name": "f", "arguments": {"a": 1}}}]


def test_parse_chat_with_missing_metrics() -> None:
    reply = parse_chat(
        {"model": "m", "message": {"content": "hi"}, "done": True, "done_reason": "length"},
        provider="ollama",
    )
    assert (
        reply.finish_reason == "length"
        and reply.usage.input_tokens == 0
        and reply.usage.output_tokens == 0
    )


def test_chat_stream_embed_tags_validate(ollama_server: FakeServer) -> None:
    reply = llm.chat("ollama", "hello there", base_url=ollama_server.url)
    recorded = ollama_server.last_request
    assert recorded.json["stream"] is False and "authorization" not in recorded.headers
    assert (
        reply.content == "Echo: hello there" and reply.cost == 0.0 and reply.cost_status == "local"
    )
    stream = llm.stream("ollama", "hello there", base_url=ollama_server.url)
    assert [c.content for c in stream if not c.done] == list(echo.pieces("Echo: hello there"))
    assert ollama_server.last_request.json["stream"] is True
    assert stream.response.usage.output_tokens == 3 and stream.response.finish_reason == "stop"
    vectors = llm.embeddings("ollama", ["a"], base_url=ollama_server.url)
    assert vectors.embeddings == [echo.vector("a")] and vectors.model == "nomic-embed-text"
    assert "llama3.2:latest" in [
        m.id for m in llm.list_models("ollama", base_url=ollama_server.url)
    ]
    assert llm.validate("ollama", base_url=ollama_server.url).ok


def test_host_comes_from_ollama_host(ollama_server: FakeServer, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url.removeprefix("http://"))
    assert llm.chat("ollama", "env").content == "Echo: env"


def test_an_ollama_host_of_only_a_port_is_this_machine(
    ollama_server: FakeServer, monkeypatch
) -> None:
    port = ollama_server.url.rsplit(":", 1)[1]
    monkeypatch.setenv("OLLAMA_HOST", f":{port}")
    assert llm.chat("ollama", "port only").content == "Echo: port only"


def test_tool_calls_plain_and_streamed(ollama_server: FakeServer) -> None:
    reply = llm.chat("ollama", "Lima", base_url=ollama_server.url, tools=[WEATHER])
    assert reply.tool_calls == (ToolCall("call_0", "get_weather", {"city": "Lima"}),)
    assert reply.finish_reason == "tool_calls"
    stream = llm.stream("ollama", "Lima", base_url=ollama_server.url, tools=[WEATHER])
    stream.text()
    assert stream.response.tool_calls == reply.tool_calls


def test_unknown_model_is_a_bad_request(ollama_server: FakeServer) -> None:
    with pytest.raises(BadRequestError, match="model 'nope' not found") as caught:
        llm.chat("ollama", "x", model="nope", base_url=ollama_server.url)
    assert caught.value.status_code == 404


def test_error_line_mid_stream_and_cut_streams(ollama_server: FakeServer) -> None:
    ollama_server.inject(faults.stream_error(after_chunks=1))
    with pytest.raises(ServerError, match="error was encountered"):
        llm.stream("ollama", "hello there", base_url=ollama_server.url).text()
    ollama_server.inject(faults.end_stream(after_chunks=2))
    with pytest.raises(StreamInterruptedError) as caught:
        llm.stream("ollama", "hello there", base_url=ollama_server.url).text()
    assert caught.value.partial_text == "Echo: hello "


def test_nothing_listening_is_a_connection_error() -> None:
    with FakeServer("ollama") as server:
        url = server.url
    with pytest.raises(ProviderConnectionError, match="Could not connect to ollama"):
        llm.chat("ollama", "x", base_url=url)


def test_context_length_error_is_recognised(ollama_server: FakeServer) -> None:
    body = {"error": "input length exceeds the context length"}
    ollama_server.inject(faults.http_error(400, body=body))
    with pytest.raises(ContextLengthError, match="context window"):
        llm.chat("ollama", "x", base_url=ollama_server.url)
