"""Anthropic: prepare/parse without HTTP, then chat, stream, tools, models and faults over loopback."""

from __future__ import annotations

import json

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    ConfigError,
    ContextLengthError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers import get
from llmpipe_nb.providers._sse import SSEEvent
from llmpipe_nb.providers.anthropic import AnthropicStreamDecoder, messages_body, parse_message
from llmpipe_nb.responses import ToolCall
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "sk-ant-test-canary-0123456789"
WEATHER = {
    "name": "get_weather",
    "description": "Weather",
    "parameters": {"type": "object", "properties": {"city": {}}},
}


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


def test_messages_body_moves_system_merges_tool_results_and_defaults_max_tokens() -> None:
    messages = [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image", "data": "AAA", "media_type": "image/jpeg"},
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [ToolCall("t1", "f", {"a": 1}), ToolCall("t2", "g", {})],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "one"},
        {"role": "tool", "tool_call_id": "t2", "content": "two"},
    ]
    body = messages_body(
        messages, {"model": "claude", "stop": "END", "tools": [WEATHER], "tool_choice": "required"}
    )
    assert body["system"] == "Be terse." and body["max_tokens"] == 4096
    assert body["stop_sequences"] == ["END"]
    assert body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAA"},
    }
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "t2", "name": "g", "input": {}},
    ]
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
            {"type": "tool_result", "tool_use_id": "t2", "content": "two"},
        ],
    }
    assert body["tools"][0] == {
        "name": "get_weather",
        "description": "Weather",
        "input_schema": WEATHER["parameters"],
    }
    assert body["tool_choice"] == {"type": "any"}
    assert messages_body(messages, {"model": "c", "max_tokens": 10})["max_tokens"] == 10


def test_response_format_is_refused_with_a_way_out() -> None:
    with pytest.raises(ConfigError, match="tool_choice"):
        messages_body(
            [{"role": "user", "content": "x"}],
            {"model": "c", "response_format": {"type": "json_object"}},
        )


def test_parse_message_counts_cached_input_in_input_tokens() -> None:
    body = {
        "id": "msg_1",
        "model": "claude",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "max_tokens",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 5,
            "output_tokens": 4,
        },
    }
    reply = parse_message(body, provider="anthropic")
    assert (
        reply.usage.input_tokens,
        reply.usage.cached_input_tokens,
        reply.usage.output_tokens,
    ) == (45, 30, 4)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("length", "max_tokens")


def test_stream_decoder_skips_ping_and_unknown_events_and_takes_latest_usage() -> None:
    decoder = AnthropicStreamDecoder(get("anthropic"))
    events = [
        (
            "message_start",
            {
                "message": {
                    "id": "m",
                    "model": "c",
                    "usage": {"input_tokens": 9, "output_tokens": 1},
                }
            },
        ),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ("brand_new_event", {"whatever": True}),
        (
            "content_block_start",
            {
                "index": 1,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}},
        ),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        ("message_delta", {"delta": {}, "usage": {"output_tokens": 7}}),
        ("message_stop", {}),
    ]
    texts = []
    for name, data in events:
        texts += [
            c.content for c in decoder.feed(SSEEvent(name, json.dumps({"type": name, **data})))
        ]
    assert texts == ["Hi"] and decoder.complete
    reply = parse_message(decoder.result(), provider="anthropic")
    assert reply.tool_calls == (ToolCall("t", "f", {}),)  # an empty argument stream is {}
    assert reply.usage.output_tokens == 7 and reply.usage.input_tokens == 9


def test_chat_sends_key_version_and_system(anthropic_server: FakeServer) -> None:
    reply = llm.chat(
        "anthropic",
        [{"role": "system", "content": "S"}, {"role": "user", "content": "hello"}],
        **conn(anthropic_server),
    )
    recorded = anthropic_server.last_request
    assert (
        recorded.headers["x-api-key"] == KEY
        and recorded.headers["anthropic-version"] == "2023-06-01"
    )
    assert "authorization" not in recorded.headers
    assert recorded.json["system"] == "S" and recorded.json["max_tokens"] == 4096
    assert reply.content == "Echo: hello" and reply.finish_reason == "stop"
    assert reply.request_id == recorded.request_id and reply.id == "msg_fake"


def test_stream_with_tool_use(anthropic_server: FakeServer) -> None:
    stream = llm.stream("anthropic", "Oslo", **conn(anthropic_server, tools=[WEATHER]))
    pieces = [c.content for c in stream if not c.done]
    assert pieces == list(echo.pieces("Echo: Oslo"))
    assert stream.response.tool_calls == (ToolCall("toolu_0", "get_weather", {"city": "Oslo"}),)
    assert stream.response.finish_reason == "tool_calls"


def test_tool_result_round_trip(anthropic_server: FakeServer) -> None:
    first = llm.chat("anthropic", "Oslo", **conn(anthropic_server, tools=[WEATHER]))
    follow_up = [
        {"role": "user", "content": "Oslo"},
        {"role": "assistant", "content": first.content, "tool_calls": list(first.tool_calls)},
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "-2 C"},
    ]
    assert (
        llm.chat("anthropic", follow_up, **conn(anthropic_server, tools=[WEATHER])).content
        == "Echo: -2 C"
    )


def test_models_and_validate(anthropic_server: FakeServer) -> None:
    models = llm.list_models("anthropic", **conn(anthropic_server))
    assert [m.id for m in models] == [
        "claude-sonnet-4-20250514",
        "claude-3-5-haiku-20241022",
        "claude-opus-4-20250514",
    ]
    assert anthropic_server.last_request.query == {"limit": "1000"}
    assert llm.validate("anthropic", **conn(anthropic_server)).ok


def test_embeddings_are_not_offered() -> None:
    with pytest.raises(ConfigError, match="does not support 'embeddings'"):
        llm.embeddings("anthropic", ["x"], api_key=KEY)


@pytest.mark.parametrize(
    "status, message, error_class",
    [
        (401, "invalid x-api-key", AuthenticationError),
        (429, "Number of request tokens has exceeded your per-minute rate limit", RateLimitError),
        (529, "Overloaded", ServerError),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", ContextLengthError),
    ],
    ids=["401", "429", "529", "context-length"],
)
def test_errors_are_typed(anthropic_server: FakeServer, status, message, error_class) -> None:
    body = anthropic_server.wire.error_body(status, message)
    anthropic_server.inject(faults.http_error(status, body=body, headers={"retry-after": "4"}))
    with pytest.raises(error_class) as caught:
        llm.chat("anthropic", "hi", **conn(anthropic_server))
    error = caught.value
    assert error.status_code == status and message in error.message
    assert error.error_type == body["error"]["type"]
    assert error.request_id == anthropic_server.last_request.request_id
    assert error.retry_after == 4.0


def test_overloaded_error_event_mid_stream(anthropic_server: FakeServer) -> None:
    anthropic_server.inject(faults.stream_error(after_chunks=4))
    with pytest.raises(ServerError) as caught:
        llm.stream("anthropic", "hello there", **conn(anthropic_server)).text()
    assert caught.value.error_type == "overloaded_error" and caught.value.status_code == 529
    assert caught.value.retryable


def test_stream_cut_before_message_stop(anthropic_server: FakeServer) -> None:
    anthropic_server.inject(faults.end_stream(after_chunks=5))
    with pytest.raises(StreamInterruptedError) as caught:
        llm.stream("anthropic", "hello there", **conn(anthropic_server)).text()
    assert caught.value.partial_text == "Echo: hello "
    assert caught.value.usage.input_tokens > 0
