"""OpenAI: pure prepare/parse functions, then every operation and fault over loopback HTTP."""

from __future__ import annotations

import base64
import json
import struct

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    MissingKeyError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from llmpipe_nb.providers import get
from llmpipe_nb.providers._sse import SSEEvent
from llmpipe_nb.providers.openai import (
    OpenAIStreamDecoder,
    chat_body,
    completion_body,
    embeddings_body,
    parse_chat,
    parse_embeddings,
)
from llmpipe_nb.responses import ToolCall
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "sk-test-canary-0123456789"
SOL = "gpt-6.1-sol"  # takes tools with or without reasoning
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


# -- prepare and parse, no HTTP ---------------------------------------------------------------


def test_chat_body_maps_options_tools_images_and_tool_turns() -> None:
    messages = [
        {"role": "developer", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "data": "iVBORw0", "media_type": "image/png"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [ToolCall("call_1", "get_weather", {"city": "Paris"})],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    ]
    options = {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 64,
        "stop": ["\n\n"],
        "tools": [{"name": "get_weather", "parameters": {"type": "object"}}],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "extra_body": {"user": "u1"},
        "cache_ttl": 60,  # a library option: never sent
    }
    body = chat_body(messages, options, stream=True)
    assert body["messages"][0] == {"role": "developer", "content": "Be terse."}
    parts = body["messages"][1]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}
    call = body["messages"][2]["tool_calls"][0]
    assert call == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert body["messages"][3] == {"role": "tool", "content": "18 C", "tool_call_id": "call_1"}
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert body["response_format"] == {"type": "json_object"} and body["user"] == "u1"
    assert "cache_ttl" not in body


def test_compatible_servers_get_max_tokens_and_system() -> None:
    body = chat_body(
        [{"role": "developer", "content": "x"}],
        {"model": "m", "max_completion_tokens": 10, "seed": 1},
        max_field="max_tokens",
        developer_role=False,
        renames={"seed": "random_seed"},
    )
    assert body["max_tokens"] == 10 and body["messages"][0]["role"] == "system"
    assert body["random_seed"] == 1 and "seed" not in body


def test_completion_and_embeddings_bodies() -> None:
    assert completion_body(
        [{"role": "user", "content": "once"}], {"model": "i", "max_tokens": 5}
    ) == {
        "model": "i",
        "prompt": "once",
        "max_tokens": 5,
    }
    assert embeddings_body(["a", "b"], {"model": "e", "dimensions": 4}) == {
        "model": "e",
        "input": ["a", "b"],
        "encoding_format": "float",
        "dimensions": 4,
    }


def test_parse_chat_normalises_usage_finish_and_tool_calls() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        }
                    ],
                },
                "finish_reason": "function_call",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    }
    reply = parse_chat(body, provider="openai")
    assert reply.tool_calls == (ToolCall("c", "f", {"a": 1}),)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "function_call")
    usage = reply.usage
    assert (
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.reasoning_tokens,
    ) == (100, 20, 60, 12)
    assert (
        parse_chat(
            {**body, "choices": [{"message": {"content": "x"}, "finish_reason": "weird"}]},
            provider="o",
        ).finish_reason
        == "error"
    )
    with pytest.raises(ResponseFormatError):
        parse_chat({"choices": []}, provider="openai")


def test_parse_embeddings_orders_by_index_and_decodes_base64() -> None:
    packed = base64.b64encode(struct.pack("<2f", 0.5, -1.0)).decode()
    body = {
        "data": [{"index": 1, "embedding": packed}, {"index": 0, "embedding": [1.0, 2.0]}],
        "usage": {"prompt_tokens": 3},
    }
    result = parse_embeddings(body, provider="openai")
    assert result.embeddings == [[1.0, 2.0], [0.5, -1.0]]
    assert result.usage.input_tokens == 3


def test_stream_decoder_assembles_interleaved_tool_calls_and_usage() -> None:
    decoder = OpenAIStreamDecoder(get("openai"))
    events = [
        {
            "id": "c1",
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "}"}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}},
    ]
    for event in events:
        assert decoder.feed(SSEEvent(data=json.dumps(event))) == []
    assert not decoder.complete
    decoder.feed(SSEEvent(data="[DONE]"))
    assert decoder.complete
    reply = parse_chat(decoder.result(), provider="openai")
    assert reply.tool_calls == (ToolCall("a", "f", {"x": 1}), ToolCall("b", "g", {}))
    assert (
        reply.finish_reason == "tool_calls" and reply.usage.output_tokens == 7 and reply.id == "c1"
    )


# -- over loopback HTTP ----------------------------------------------------------------------


def test_chat_sends_bearer_key_and_keeps_ids(openai_server: FakeServer) -> None:
    reply = llm.chat("openai", "hello there", **conn(openai_server))
    recorded = openai_server.last_request
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.json == {
        "model": get("openai").default_model,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    assert reply.content == "Echo: hello there" and reply.finish_reason == "stop"
    assert reply.id == "chatcmpl-fake" and reply.request_id == recorded.request_id
    assert reply.usage.output_tokens == 3 and reply.cost is not None


def test_stream_asks_for_usage_and_yields_pieces(openai_server: FakeServer) -> None:
    stream = llm.stream("openai", "hello there", **conn(openai_server))
    pieces = [chunk.content for chunk in stream if not chunk.done]
    assert pieces == list(echo.pieces("Echo: hello there"))
    assert openai_server.last_request.json["stream_options"] == {"include_usage": True}
    assert stream.response.usage.output_tokens == 3
    assert stream.response.request_id == openai_server.last_request.request_id


def test_tools_round_trip(openai_server: FakeServer) -> None:
    first = llm.chat("openai", "Paris", **conn(openai_server, model=SOL, tools=[WEATHER]))
    assert first.finish_reason == "tool_calls"
    assert first.tool_calls == (ToolCall("call_0", "get_weather", {"city": "Paris"}),)
    follow_up = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": list(first.tool_calls)},
        {"role": "tool", "tool_call_id": "call_0", "content": "18 C"},
    ]
    second = llm.chat("openai", follow_up, **conn(openai_server, model=SOL, tools=[WEATHER]))
    assert second.content == "Echo: 18 C"
    assert (
        openai_server.last_request.json["messages"][1]["tool_calls"][0]["function"]["arguments"]
        == '{"city": "Paris"}'
    )


def test_streamed_parallel_tool_calls_are_assembled(openai_server: FakeServer) -> None:
    second_tool = {"type": "function", "function": {"name": "get_time", "parameters": {}}}
    stream = llm.stream(
        "openai", "Rome", **conn(openai_server, model=SOL, tools=[WEATHER, second_tool])
    )
    chunks = list(stream)
    assert chunks[-1].done and chunks[-1].finish_reason == "tool_calls"
    assert stream.response.tool_calls == (
        ToolCall("call_0", "get_weather", {"city": "Rome"}),
        ToolCall("call_1", "get_time", {}),
    )


def test_embeddings_completion_models_and_validate(openai_server: FakeServer) -> None:
    vectors = llm.embeddings("openai", ["a", "b"], **conn(openai_server))
    assert (
        vectors.embeddings == [echo.vector("a"), echo.vector("b")]
        and vectors.model == "text-embedding-3-small"
    )
    completion = llm.complete("openai", "once upon", **conn(openai_server, model="my-completer"))
    assert completion.content == "Echo: once upon"
    assert openai_server.last_request.json["model"] == "my-completer"
    models = llm.list_models("openai", **conn(openai_server))
    assert "gpt-4o" in [m.id for m in models]
    assert llm.validate("openai", **conn(openai_server)).ok


def test_validate_reports_a_refused_key_without_raising(fake_server) -> None:
    server = fake_server("openai", api_key="sk-the-right-one-123")
    result = llm.validate("openai", **conn(server))
    assert not result.ok and "401" in result.message and KEY not in result.message


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        llm.chat("openai", "hi")


def test_base_url_and_key_from_environment(openai_server: FakeServer, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    assert llm.chat("openai", "env").content == "Echo: env"
    llm.configure("openai", base_url="http://127.0.0.1:9/v1")
    assert (
        llm.chat("openai", "explicit wins", base_url=openai_server.base_url).content
        == "Echo: explicit wins"
    )


@pytest.mark.parametrize(
    "status, body, headers, error_class, check",
    [
        (401, None, {}, AuthenticationError, lambda e: e.error_type == "invalid_request_error"),
        (404, None, {}, BadRequestError, lambda e: e.status_code == 404),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
            {},
            ContextLengthError,
            lambda e: not e.retryable,
        ),
        (
            429,
            None,
            {"retry-after-ms": "250", "retry-after": "3"},
            RateLimitError,
            lambda e: e.retry_after == 0.25 and e.retryable,
        ),
        (
            429,
            {
                "error": {
                    "message": "You exceeded your current quota.",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            },
            {},
            RateLimitError,
            lambda e: not e.retryable,
        ),
        (500, None, {}, ServerError, lambda e: e.retryable),
        (
            503,
            "<html>Service Unavailable</html>",
            {},
            ServerError,
            lambda e: "Service Unavailable" in e.message,
        ),
    ],
    ids=["401", "404", "context-length", "429-retry-after-ms", "429-quota", "500", "503-html"],
)
def test_errors_are_typed(
    openai_server: FakeServer, status, body, headers, error_class, check
) -> None:
    openai_server.inject(faults.http_error(status, body=body, headers=headers))
    with pytest.raises(error_class) as caught:
        llm.chat("openai", "hi", **conn(openai_server))
    error = caught.value
    assert type(error) is error_class
    assert error.provider == "openai" and error.status_code == status
    assert error.request_id == openai_server.last_request.request_id
    assert check(error)


def test_in_stream_error_event_is_a_server_error(openai_server: FakeServer) -> None:
    openai_server.inject(faults.stream_error(after_chunks=2))
    seen = []
    with pytest.raises(ServerError, match="The server had an error"):
        for chunk in llm.stream("openai", "hello there", **conn(openai_server)):
            seen.append(chunk.content)
    assert seen == ["Echo: "]


def test_custom_model_options_reach_the_wire(openai_server: FakeServer) -> None:
    llm.chat(
        "openai",
        "x",
        **conn(
            openai_server,
            model="o3",
            max_tokens=9,
            response_format={"type": "json_object"},
            seed=3,
        ),
    )
    body = openai_server.last_request.json
    assert body["model"] == "o3" and body["max_completion_tokens"] == 9 and body["seed"] == 3
    assert body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    "prompt",
    [
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "once upon"}],
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "http://x/a.png"}}],
            }
        ],
    ],
    ids=["system-turn", "two-turns", "image"],
)
def test_a_completion_refuses_what_its_one_prompt_text_cannot_carry(openai_server, prompt) -> None:
    with pytest.raises(llm.ConfigError, match="one prompt text"):
        llm.complete("openai", prompt, model="my-completer", **conn(openai_server))
    assert openai_server.requests == []


def test_a_completion_joins_text_parts_into_its_prompt(openai_server) -> None:
    parts = [{"type": "text", "text": "once "}, {"type": "text", "text": "upon"}]
    reply = llm.complete(
        "openai", [{"role": "user", "content": parts}], model="my-completer", **conn(openai_server)
    )
    assert openai_server.last_request.json["prompt"] == "once upon" and reply.content
