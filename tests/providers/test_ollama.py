"""Ollama: the native API over loopback (NDJSON streams), OLLAMA_HOST, no key, faults,
thinking kept and sent back, tool results with their tool_name and tool_call_id."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    BadRequestError,
    ConfigError,
    ContextLengthError,
    ProviderConnectionError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers.ollama import chat_body, host_url, parse_chat
from llmpipe_nb.responses import ReasoningPart, ToolCall
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
    assert body["messages"][2]["tool_calls"] == [
        {"id": "c", "function": {"index": 0, "name": "f", "arguments": {"a": 1}}}
    ]


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
    (call,) = reply.tool_calls
    assert call.id.startswith("call_") and call.id != "call_0"  # the server's own id is kept
    assert (call.name, call.arguments) == ("get_weather", {"city": "Lima"})
    assert reply.finish_reason == "tool_calls" and reply.reasoning == ()
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


# -- thinking and the tool loop -----------------------------------------------------------------


def ask(kind: str, messages, server: FakeServer, **options):
    """One chat turn as `chat` or as a consumed `stream`, answering the ChatResponse."""
    if kind == "chat":
        return llm.chat("ollama", messages, base_url=server.url, **options)
    stream = llm.stream("ollama", messages, base_url=server.url, **options)
    stream.text()
    return stream.response


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_a_tool_loop_sends_back_thinking_tool_calls_and_tool_name(
    ollama_server: FakeServer, kind: str
) -> None:
    first = ask(kind, "Paris", ollama_server, model="qwen3", tools=[WEATHER])
    assert first.reasoning == (ReasoningPart("thinking", "They want a tool for 'Paris'."),)
    (call,) = first.tool_calls
    conversation = [
        {"role": "user", "content": "Paris"},
        first.message,
        {"role": "tool", "tool_call_id": call.id, "content": "18 °C"},
    ]
    final = ask(kind, conversation, ollama_server, model="qwen3", tools=[WEATHER])
    assert ollama_server.last_request.json["messages"] == [
        {"role": "user", "content": "Paris"},
        {
            "role": "assistant",
            "content": "",
            "thinking": "They want a tool for 'Paris'.",
            "tool_calls": [
                {
                    "id": call.id,
                    "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {"role": "tool", "content": "18 °C", "tool_name": "get_weather", "tool_call_id": call.id},
    ]
    assert final.content == "Echo: 18 °C" and final.finish_reason == "stop"
    assert final.reasoning_text == "They said '18 °C': echo it."


def test_a_tool_name_given_is_sent_and_an_unknown_call_keeps_its_id(
    ollama_server: FakeServer,
) -> None:
    conversation = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": "", "tool_calls": [ToolCall("c1", "get_weather", {})]},
        {"role": "tool", "tool_call_id": "c1", "tool_name": "weather_v2", "content": "18"},
        {"role": "tool", "tool_call_id": "elsewhere", "content": "19"},
    ]
    llm.chat("ollama", conversation, base_url=ollama_server.url)
    sent = ollama_server.last_request.json["messages"]
    assert sent[2:] == [
        {"role": "tool", "content": "18", "tool_name": "weather_v2", "tool_call_id": "c1"},
        {"role": "tool", "content": "19", "tool_call_id": "elsewhere"},
    ]


def test_a_result_takes_the_name_of_the_latest_call_with_its_id() -> None:
    """Servers that give no call ids get `call_0` on every turn: the nearest call counts."""
    turns = [{"role": "user", "content": "go"}]
    for name in ("first", "second"):
        turns.append(
            {"role": "assistant", "content": "", "tool_calls": [ToolCall("call_0", name, {})]}
        )
        turns.append({"role": "tool", "tool_call_id": "call_0", "content": name})
    sent = chat_body(turns, {"model": "m"}, stream=False)["messages"]
    assert [m.get("tool_name") for m in sent] == [None, None, "first", None, "second"]


def test_streamed_thinking_arrives_before_the_text_as_reasoning(ollama_server: FakeServer) -> None:
    stream = llm.stream("ollama", "hello there", model="qwen3", base_url=ollama_server.url)
    chunks = [c for c in stream if not c.done]
    thought = "They said 'hello there': echo it."
    thoughts, pieces = list(echo.pieces(thought)), list(echo.pieces("Echo: hello there"))
    assert [c.reasoning for c in chunks] == thoughts + [""] * len(pieces)
    assert [c.content for c in chunks] == [""] * len(thoughts) + pieces
    assert [c.index for c in chunks] == list(range(len(thoughts) + len(pieces)))
    reply = stream.response
    assert reply.content == "Echo: hello there" and reply.reasoning_text == thought
    assert reply.message["reasoning"] == [ReasoningPart("thinking", thought)]
    assert "think" not in ollama_server.last_request.json  # the server's default: on


def test_thinking_from_a_stored_conversation_is_sent_back(ollama_server: FakeServer) -> None:
    stored = {
        "role": "assistant",
        "content": "hi",
        "reasoning": [{"kind": "thinking", "text": "T"}],
    }
    llm.chat("ollama", ["hello", stored, "again"], base_url=ollama_server.url)
    sent = ollama_server.last_request.json["messages"][1]
    assert sent == {"role": "assistant", "content": "hi", "thinking": "T"}


@pytest.mark.parametrize("think", [True, "low", "medium", "high", "max"])
def test_think_is_sent_as_given(ollama_server: FakeServer, think) -> None:
    reply = llm.chat("ollama", "hi", model="qwen3", think=think, base_url=ollama_server.url)
    assert ollama_server.last_request.json["think"] == think and reply.reasoning_text


def test_think_false_turns_thinking_off(ollama_server: FakeServer) -> None:
    reply = llm.chat("ollama", "hi", model="qwen3", think=False, base_url=ollama_server.url)
    assert ollama_server.last_request.json["think"] is False
    assert reply.reasoning == () and reply.content == "Echo: hi"


@pytest.mark.parametrize("think", ["hgih", "true", 1, 0.5, "none"])
def test_a_think_value_ollama_does_not_take_is_refused_before_sending(
    ollama_server: FakeServer, think
) -> None:
    with pytest.raises(ConfigError, match=r"True, False, 'low', 'medium', 'high' or 'max'"):
        llm.chat("ollama", "hi", model="qwen3", think=think, base_url=ollama_server.url)
    assert ollama_server.requests == []


def test_thinking_on_a_model_without_it_is_the_servers_error(ollama_server: FakeServer) -> None:
    with pytest.raises(BadRequestError, match=r'"llama3\.2" does not support thinking'):
        llm.chat("ollama", "hi", think=True, base_url=ollama_server.url)


def test_fields_ollama_has_no_place_for_are_refused_before_sending(
    ollama_server: FakeServer,
) -> None:
    native = [{"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]}]
    with pytest.raises(ConfigError) as caught:
        llm.chat("ollama", native, base_url=ollama_server.url)
    assert str(caught.value) == (
        "Message 0 (user) has a field 'images', which is sent to no provider: keep to role, "
        "content, name, tool_calls, tool_call_id, is_error, reasoning, tool_name, thinking, and put "
        "images in the content as parts."
    )
    named = [{"role": "system", "content": "Be brief.", "name": "house"}, "hi"]
    with pytest.raises(ConfigError, match=r"^Message 0 \(system\) has a name, which Ollama"):
        llm.chat("ollama", named, base_url=ollama_server.url)
    assert ollama_server.requests == []
