"""Anthropic: prepare/parse without HTTP, then chat, stream, tools, models and faults over loopback."""

from __future__ import annotations

import json
import warnings

import httpx2
import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContextLengthError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers import get
from llmpipe_nb.providers._sse import SSEEvent, SSEParser
from llmpipe_nb.providers.anthropic import (
    AnthropicStreamDecoder,
    generations,
    messages_body,
    parse_message,
    rules,
)
from llmpipe_nb.responses import ReasoningPart, ToolCall
from llmpipe_nb.testing import FakeServer, echo, faults
from llmpipe_nb.testing.anthropic_wire import REDACTED_TRIGGER
from llmpipe_nb.views import response_text

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
        **conn(anthropic_server, model="claude-sonnet-4-6"),
    )
    recorded = anthropic_server.last_request
    assert (
        recorded.headers["x-api-key"] == KEY
        and recorded.headers["anthropic-version"] == "2026-10-21"
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


# -- December 2026: API version, sampling, documents and citations ---------------------------

PNG_SOURCE = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
DATA_URL_SOURCE_IMAGE = {"type": "image", "source": {"type": "url", "url": "data:image/png,x"}}
CURRENT = "claude-haiku-5-5"  # Claude 4.7 or later: default sampling only, thinks
OLDER = "claude-sonnet-4-6"  # still takes sampling parameters under 2023-06-01
LEGACY = "2023-06-01"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test sees the once-per-model warnings afresh."""
    monkeypatch.setattr(rules, "_warned", set())


def raw_post(server: FakeServer, body: dict, version: str = "2026-10-21") -> httpx2.Response:
    headers = {"anthropic-version": version, "x-api-key": KEY}
    return httpx2.post(server.base_url + "/v1/messages", json=body, headers=headers)


def test_api_version_is_chosen_per_call_or_configured(anthropic_server: FakeServer) -> None:
    def sent_version() -> str:
        return anthropic_server.last_request.headers["anthropic-version"]

    llm.chat("anthropic", "hi", **conn(anthropic_server, api_version=LEGACY))
    assert sent_version() == LEGACY
    llm.configure("anthropic", extra={"api_version": LEGACY})
    llm.chat("anthropic", "hi", **conn(anthropic_server))
    assert sent_version() == LEGACY
    llm.list_models("anthropic", **conn(anthropic_server))
    assert sent_version() == LEGACY
    llm.chat("anthropic", "hi", **conn(anthropic_server, api_version="2026-10-21"))
    assert sent_version() == "2026-10-21"  # the call beats the configuration


def test_a_malformed_api_version_is_refused_before_sending(anthropic_server: FakeServer) -> None:
    with pytest.raises(ConfigError, match=r"api_version must be .* date such as '2026-10-21'"):
        llm.chat("anthropic", "hi", **conn(anthropic_server, api_version="latest"))
    assert anthropic_server.requests == []


@pytest.mark.parametrize(
    "body, version, message",
    [
        ({"temperature": 1.0}, "2026-10-21", "temperature: Extra inputs are not permitted"),
        ({"top_k": 5, "model": OLDER}, "2026-10-21", "top_k: Extra inputs are not permitted"),
        ({"temperature": 0.2}, LEGACY, "`temperature` is deprecated for this model."),
        ({"temperature": 1, "top_p": 1}, LEGACY, "is deprecated for this model."),
        (
            {"model": OLDER, "temperature": 0.5, "top_p": 0.9},
            LEGACY,
            "`temperature` and `top_p` cannot both be specified",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
            LEGACY,
            "does not support assistant message prefill",
        ),
        (
            {"system": [{"type": "image", "source": PNG_SOURCE}]},
            LEGACY,
            "system.0.type: Input should be 'text'",
        ),
        (
            {"messages": [{"role": "user", "content": [DATA_URL_SOURCE_IMAGE]}]},
            LEGACY,
            "messages.0.content.0.source.url: only http and https URLs are supported",
        ),
    ],
    ids=[
        "temperature-at-default",
        "top_k",
        "4.7+-non-default",
        "4.7+-both",
        "4.5-era-both",
        "prefill",
        "image-in-system",
        "data-url-as-url-source",
    ],
)
def test_the_fake_refuses_what_the_live_api_refuses(
    anthropic_server: FakeServer, body, version, message
) -> None:
    base = {"model": CURRENT, "max_tokens": 64, "messages": [{"role": "user", "content": "x"}]}
    answer = raw_post(anthropic_server, base | body, version)
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


def test_sampling_parameters_are_left_out_under_2026_10_21_with_one_warning(
    anthropic_server: FakeServer,
) -> None:
    options = conn(anthropic_server, model=OLDER, temperature=0.2, top_k=5)
    with pytest.warns(UserWarning) as caught:
        reply = llm.chat("anthropic", "hi", **options)
    message = str(caught[0].message)
    assert "API version 2026-10-21 has no temperature" in message
    assert "temperature and top_k were not sent to claude-sonnet-4-6" in message
    assert "effort=" in message and "api_version='2023-06-01'" in message
    sent = anthropic_server.last_request.json
    assert not {"temperature", "top_p", "top_k"} & set(sent) and reply.content == "Echo: hi"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per model and version
        llm.chat("anthropic", "hi", **options)


def test_older_models_get_sampling_parameters_under_2023_06_01(
    anthropic_server: FakeServer,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm.chat(
            "anthropic", "hi", **conn(anthropic_server, model=OLDER, api_version=LEGACY, top_p=0.9)
        )
    assert anthropic_server.last_request.json["top_p"] == 0.9


@pytest.mark.parametrize(
    "model",
    [
        "claude-haiku-5-5",
        "claude-opus-4-7-20260415",
        "anthropic.claude-opus-4-8-v1:0",
        "claude-sonnet-5@20260301",
        "claude-fable-5-1",
        "claude-mythos-preview",
    ],
)
def test_claude_4_7_and_later_get_no_sampling_under_any_version(
    anthropic_server: FakeServer, model: str
) -> None:
    llm.set_price(model, input_per_mtok=1, output_per_mtok=5)  # ids the price table may lack
    options = conn(anthropic_server, model=model, api_version=LEGACY, temperature=0.2)
    with pytest.warns(
        UserWarning, match=rf"{model} accepts only the default .*API version 2023-06-01"
    ):
        assert llm.chat("anthropic", "hi", **options).content == "Echo: hi"
    assert "temperature" not in anthropic_server.last_request.json


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-6",
        "claude-opus-4-1-20250805",
        "claude-3-5-haiku-20241022",
        "claude-sonnet-4-20250514",
        "gpt-4o",
    ],
)
def test_models_before_claude_4_7_are_not_taken_for_newer_ones(model: str) -> None:
    assert not generations.default_sampling_only(model)


def test_a_default_temperature_is_left_out_without_a_warning(anthropic_server: FakeServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm.chat(
            "anthropic",
            "hi",
            **conn(anthropic_server, model=CURRENT, api_version=LEGACY, temperature=1),
        )
    assert "temperature" not in anthropic_server.last_request.json


@pytest.mark.parametrize(
    "model, options, message",
    [
        (OLDER, {"temperature": 0.5, "top_p": 0.9}, "takes temperature or top_p, not both"),
        (
            OLDER,
            {"temperature": 0.5, "thinking": {"type": "enabled", "budget_tokens": 2048}},
            "With thinking on, claude-sonnet-4-6 takes no temperature",
        ),
        (OLDER, {"top_k": 5, "thinking": {"type": "adaptive"}}, "no temperature or top_k"),
    ],
    ids=["both", "thinking-temperature", "thinking-top_k"],
)
def test_sampling_the_model_refuses_under_2023_06_01_is_a_config_error(
    anthropic_server: FakeServer, model, options, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.chat(
            "anthropic", "hi", **conn(anthropic_server, model=model, api_version=LEGACY, **options)
        )
    assert anthropic_server.requests == []


def test_older_models_may_take_temperature_and_top_p_together(anthropic_server: FakeServer) -> None:
    options = {"temperature": 0.5, "top_p": 0.9, "api_version": LEGACY}
    llm.chat(
        "anthropic", "hi", **conn(anthropic_server, model="claude-3-5-haiku-20241022", **options)
    )
    assert anthropic_server.last_request.json["top_p"] == 0.9


DOCUMENT = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "D"}}
CITATION = {"type": "char_location", "cited_text": "Q", "document_index": 0}


def test_a_document_in_an_assistant_turn_is_refused_under_2026_10_21(
    anthropic_server: FakeServer,
) -> None:
    wire_messages = [
        {"role": "user", "content": "Read this."},
        {"role": "assistant", "content": [DOCUMENT, {"type": "text", "text": "Read."}]},
        {"role": "user", "content": "Summarise it."},
    ]
    options = conn(anthropic_server, model=OLDER, extra_body={"messages": wire_messages})
    with pytest.raises(
        ConfigError, match=r"Turn 1 .* assistant turn holding a document.*user message"
    ):
        llm.chat("anthropic", "x", **options)
    assert anthropic_server.requests == []
    assert (
        raw_post(
            anthropic_server, {"model": OLDER, "max_tokens": 9, "messages": wire_messages}
        ).status_code
        == 400
    )
    llm.chat("anthropic", "x", **options, api_version=LEGACY)  # the older version takes it
    assert anthropic_server.last_request.json["messages"][1]["content"][0] == DOCUMENT


def test_citations_on_user_text_are_stripped_and_assistant_ones_kept(
    anthropic_server: FakeServer,
) -> None:
    cited = {"type": "text", "text": "Quoted", "citations": [CITATION]}
    messages = [
        {"role": "user", "content": [cited]},
        {"role": "assistant", "content": [cited]},
        {"role": "user", "content": "And?"},
    ]
    assert (
        raw_post(
            anthropic_server, {"model": OLDER, "max_tokens": 9, "messages": messages}
        ).status_code
        == 400
    )
    reply = llm.chat("anthropic", messages, **conn(anthropic_server, model=OLDER))
    sent = anthropic_server.last_request.json["messages"]
    assert sent[0]["content"] == [{"type": "text", "text": "Quoted"}]
    assert sent[1]["content"] == [cited] and reply.content == "Echo: And?"
    llm.chat("anthropic", messages, **conn(anthropic_server, model=OLDER, api_version=LEGACY))
    assert anthropic_server.last_request.json["messages"][0]["content"] == [cited]


def test_citations_nested_in_user_results_are_stripped_too() -> None:
    cited = {"type": "text", "text": "T", "citations": [CITATION]}
    search = {"type": "search_result", "source": "s", "title": "t", "content": [cited]}
    wire_messages = [
        {
            "role": "user",
            "content": [search, {"type": "tool_result", "tool_use_id": "t", "content": [cited]}],
        }
    ]
    body = messages_body(
        [{"role": "user", "content": "x"}],
        {"model": OLDER, "extra_body": {"messages": wire_messages}},
    )
    blocks = body["messages"][0]["content"]
    assert blocks[0]["content"] == [{"type": "text", "text": "T"}]
    assert blocks[1]["content"] == [{"type": "text", "text": "T"}]
    assert wire_messages[0]["content"][0]["content"][0] == cited  # the caller's dicts are untouched


def test_a_final_assistant_turn_is_refused_for_claude_4_6_and_later(
    anthropic_server: FakeServer,
) -> None:
    prefill = [{"role": "user", "content": "JSON please"}, {"role": "assistant", "content": "{"}]
    with pytest.raises(ConfigError, match="does not continue a final assistant message"):
        llm.chat("anthropic", prefill, **conn(anthropic_server, model=OLDER))
    assert anthropic_server.requests == []
    llm.chat("anthropic", prefill, **conn(anthropic_server, model="claude-3-5-haiku-20241022"))
    assert anthropic_server.last_request.json["messages"][-1]["content"] == "{"


def test_a_json_schema_goes_in_output_config_format(anthropic_server: FakeServer) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    response_format = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    llm.chat(
        "anthropic",
        "hi",
        **conn(anthropic_server, model=CURRENT, response_format=response_format, effort="low"),
    )
    closed = {**schema, "additionalProperties": False}  # the API refuses an open object
    assert anthropic_server.last_request.json["output_config"] == {
        "effort": "low",
        "format": {"type": "json_schema", "schema": closed},
    }


# -- thinking: request rules ---------------------------------------------------------------

ADAPTIVE = {"type": "adaptive"}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"model": OLDER, "thinking": {"type": "enabled", "budget_tokens": 512}}, "at least 1024"),
        (
            {
                "model": OLDER,
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "max_tokens": 2048,
            },
            r"budget_tokens \(2048\) must be less than max_tokens \(2048\)",
        ),
        ({"model": CURRENT, "thinking": {"type": "enabled", "budget_tokens": 2048}}, "'adaptive'"),
        ({"thinking": "adaptive"}, "thinking must be a dict whose type is one of"),
        ({"thinking": {"type": "deep"}}, "thinking must be a dict whose type is one of"),
        ({"effort": "extreme"}, "effort must be one of low, medium, high, xhigh, max"),
        (
            {
                "model": OLDER,
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "tool_choice": "required",
                "tools": [WEATHER],
            },
            "forced tool_choice with manual thinking",
        ),
        ({"response_format": {"type": "json_object"}}, "needs a JSON schema"),
    ],
    ids=[
        "small-budget",
        "budget-over-cap",
        "enabled-on-4.7+",
        "not-a-dict",
        "bad-type",
        "bad-effort",
        "forced-tool",
        "json-object",
    ],
)
def test_thinking_settings_the_api_refuses_are_config_errors(
    anthropic_server: FakeServer, options, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.chat("anthropic", "hi", **conn(anthropic_server, **options))
    assert anthropic_server.requests == []


@pytest.mark.parametrize(
    "options, max_tokens",
    [
        ({"model": OLDER, "thinking": {"type": "enabled", "budget_tokens": 2048}}, 2048 + 4096),
        ({"model": OLDER, "thinking": ADAPTIVE}, 16384),
        ({"model": CURRENT}, 16384),  # may think without being asked
        ({"model": CURRENT, "thinking": {"type": "disabled"}}, 4096),
        ({"model": OLDER}, 4096),
        ({"model": CURRENT, "thinking": ADAPTIVE, "max_tokens": 900}, 900),
    ],
    ids=["enabled", "adaptive", "4.7+", "disabled", "older", "given"],
)
def test_the_default_output_cap_leaves_room_for_thinking(
    anthropic_server: FakeServer, options, max_tokens
) -> None:
    llm.chat("anthropic", "hi", **conn(anthropic_server, **options))
    assert anthropic_server.last_request.json["max_tokens"] == max_tokens


# -- thinking: answers, streams and the tool loop --------------------------------------------


def thinking_options(server: FakeServer, **more):
    return conn(server, model=CURRENT, thinking=ADAPTIVE, tools=[WEATHER], **more)


def tool_turns(reply, result: str = "-2 C") -> list:
    return [
        {"role": "user", "content": "Oslo"},
        reply.message,
        {"role": "tool", "tool_call_id": reply.tool_calls[0].id, "content": result},
    ]


def test_a_tool_loop_with_thinking_sends_the_thinking_back_first(
    anthropic_server: FakeServer,
) -> None:
    first = llm.chat("anthropic", "Oslo", **thinking_options(anthropic_server, effort="medium"))
    assert anthropic_server.last_request.json["thinking"] == ADAPTIVE
    assert anthropic_server.last_request.json["output_config"] == {"effort": "medium"}
    (part,) = first.reasoning
    assert (part.kind, part.text) == ("thinking", "Considering: Oslo") and part.signature
    assert first.reasoning_text == "Considering: Oslo"
    assert first.usage.reasoning_tokens == 2
    assert first.usage.output_tokens == echo.token_count("Echo: Oslo") + 2
    assert first.message["reasoning"] == [part] and first.message["tool_calls"] == list(
        first.tool_calls
    )

    second = llm.chat("anthropic", tool_turns(first), **thinking_options(anthropic_server))
    assert second.content == "Echo: -2 C"
    turn = anthropic_server.last_request.json["messages"][1]["content"]
    assert [b["type"] for b in turn] == ["thinking", "text", "tool_use"]
    assert turn[0] == {"type": "thinking", "thinking": part.text, "signature": part.signature}


def test_a_streamed_tool_loop_with_thinking(anthropic_server: FakeServer) -> None:
    stream = llm.stream("anthropic", "Oslo", **thinking_options(anthropic_server))
    chunks = list(stream)
    assert "".join(c.reasoning for c in chunks) == "Considering: Oslo"
    assert "".join(c.content for c in chunks) == "Echo: Oslo"
    reply = stream.response
    assert reply.usage.reasoning_tokens == 2 and reply.tool_calls
    whole = llm.chat("anthropic", "Oslo", **thinking_options(anthropic_server))
    assert reply.reasoning == whole.reasoning  # the stream assembles the same signed block

    follow_up = llm.stream("anthropic", tool_turns(reply), **thinking_options(anthropic_server))
    assert follow_up.text() == "Echo: -2 C"
    assert anthropic_server.last_request.json["messages"][1]["content"][0]["type"] == "thinking"


async def test_an_async_streamed_tool_loop_with_thinking(anthropic_server: FakeServer) -> None:
    stream = llm.astream("anthropic", "Oslo", **thinking_options(anthropic_server))
    reasoning = [c.reasoning async for c in stream]
    assert "".join(reasoning) == "Considering: Oslo"
    follow_up = llm.astream(
        "anthropic", tool_turns(stream.response), **thinking_options(anthropic_server)
    )
    assert await follow_up.atext() == "Echo: -2 C"


def test_a_tool_loop_that_drops_the_thinking_is_refused(anthropic_server: FakeServer) -> None:
    first = llm.chat("anthropic", "Oslo", **thinking_options(anthropic_server))
    turns = tool_turns(first)
    turns[1] = {k: v for k, v in turns[1].items() if k != "reasoning"}
    with pytest.raises(BadRequestError) as caught:
        llm.chat("anthropic", turns, **thinking_options(anthropic_server))
    assert "Expected `thinking` or `redacted_thinking`, but found `text`" in caught.value.message


def test_a_tool_loop_whose_thinking_was_altered_is_refused(anthropic_server: FakeServer) -> None:
    first = llm.chat("anthropic", "Oslo", **thinking_options(anthropic_server))
    turns = tool_turns(first)
    (part,) = first.reasoning
    turns[1] = turns[1] | {
        "reasoning": [ReasoningPart("thinking", part.text + "!", part.signature)]
    }
    with pytest.raises(BadRequestError, match=r"messages\.1\.content\.0: Invalid `signature`"):
        llm.chat("anthropic", turns, **thinking_options(anthropic_server))


def test_redacted_thinking_is_kept_and_must_come_back_with_its_sibling(
    anthropic_server: FakeServer,
) -> None:
    prompt = f"Oslo {REDACTED_TRIGGER}"
    first = llm.chat("anthropic", prompt, **thinking_options(anthropic_server))
    assert [p.kind for p in first.reasoning] == ["thinking", "redacted_thinking"]
    assert first.reasoning[1].data and first.reasoning_text.startswith("Considering:")
    turns = tool_turns(first)
    turns[0] = {"role": "user", "content": prompt}
    assert (
        llm.chat("anthropic", turns, **thinking_options(anthropic_server)).content == "Echo: -2 C"
    )
    sent = anthropic_server.last_request.json["messages"][1]["content"]
    assert sent[1] == {"type": "redacted_thinking", "data": first.reasoning[1].data}

    turns[1] = turns[1] | {"reasoning": [first.reasoning[0]]}  # the redacted block filtered out
    with pytest.raises(BadRequestError, match="Invalid `signature` in `thinking` block"):
        llm.chat("anthropic", turns, **thinking_options(anthropic_server))
    streamed = llm.stream("anthropic", prompt, **thinking_options(anthropic_server))
    streamed.text()
    assert streamed.response.reasoning == first.reasoning


def test_reasoning_from_other_providers_is_not_sent(anthropic_server: FakeServer) -> None:
    foreign = [
        ReasoningPart("thought", "a Gemini thought"),
        ReasoningPart("signature", "called f", signature="gemini-sig"),
        ReasoningPart("thinking", "Ollama's thinking, unsigned"),
    ]
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello.", "reasoning": foreign},
        {"role": "user", "content": "again"},
    ]
    llm.chat("anthropic", messages, **conn(anthropic_server, model=OLDER))
    assert anthropic_server.last_request.json["messages"][1] == {
        "role": "assistant",
        "content": "Hello.",
    }


def test_reasoning_may_come_back_as_dicts() -> None:
    parts = [
        {"kind": "thinking", "text": "T", "signature": "S"},
        {"type": "redacted_thinking", "data": "D"},
        {"kind": "thought", "text": "dropped"},
    ]
    body = messages_body(
        [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [ToolCall("t", "f", {})],
                "reasoning": parts,
            },
            {"role": "tool", "tool_call_id": "t", "content": "r"},
        ],
        {"model": OLDER},
    )
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "T", "signature": "S"},
        {"type": "redacted_thinking", "data": "D"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {}},
    ]
    with pytest.raises(ConfigError, match="'reasoning' must be a list of ReasoningParts"):
        messages_body(
            [{"role": "assistant", "content": "x", "reasoning": "text"}], {"model": OLDER}
        )


def test_always_thinking_models_think_unasked_and_thinking_can_be_omitted(
    anthropic_server: FakeServer,
) -> None:
    reply = llm.chat("anthropic", "hi", **conn(anthropic_server, model="claude-opus-5-5"))
    assert reply.reasoning and "thinking" not in anthropic_server.last_request.json
    hidden = {"type": "adaptive", "display": "omitted"}
    reply = llm.chat("anthropic", "hi", **conn(anthropic_server, model=CURRENT, thinking=hidden))
    (part,) = reply.reasoning
    assert part.text == "" and part.signature and reply.reasoning_text == ""


def test_the_fake_streams_thinking_in_the_documented_event_order(
    anthropic_server: FakeServer,
) -> None:
    body = {
        "model": CURRENT,
        "max_tokens": 2000,
        "thinking": ADAPTIVE,
        "stream": True,
        "messages": [{"role": "user", "content": f"Hi {REDACTED_TRIGGER}"}],
    }
    headers = {"anthropic-version": "2026-10-21", "x-api-key": KEY}
    with httpx2.stream(
        "POST", anthropic_server.base_url + "/v1/messages", json=body, headers=headers
    ) as response:
        parser = SSEParser()
        events = [json.loads(e.data) for e in parser.feed(response.read()) + parser.close()]
    steps = [
        (e["type"], (e.get("content_block") or e.get("delta") or {}).get("type"))
        for e in events
        if e.get("index") in (0, 1)
    ]
    pieces = list(echo.pieces(f"Considering: Hi {REDACTED_TRIGGER}"))
    assert steps == [
        ("content_block_start", "thinking"),
        *[("content_block_delta", "thinking_delta")] * (1 + len(pieces)),  # an empty one first
        ("content_block_delta", "signature_delta"),
        ("content_block_stop", None),
        ("content_block_start", "redacted_thinking"),
        ("content_block_stop", None),
    ]
    assert events[1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert events[2]["delta"]["thinking"] == ""


def test_the_stream_decoder_keeps_each_block_apart() -> None:
    decoder = AnthropicStreamDecoder(get("anthropic"))
    events = [
        ("message_start", {"message": {"id": "m", "model": "c", "usage": {"input_tokens": 3}}}),
        (
            "content_block_start",
            {"index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        ),
        ("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": ""}}),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "thinking_delta", "thinking": "Hm."}},
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "signature_delta", "signature": "SIG"}},
        ),
        ("content_block_stop", {"index": 0}),
        ("content_block_start", {"index": 1, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": "One. "}}),
        (
            "content_block_start",
            {"index": 2, "content_block": {"type": "redacted_thinking", "data": "RED"}},
        ),
        ("content_block_start", {"index": 3, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 3, "delta": {"type": "text_delta", "text": "Two."}}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 9, "output_tokens_details": {"thinking_tokens": 4}},
            },
        ),
        ("message_stop", {}),
    ]
    chunks = []
    for name, data in events:
        chunks += decoder.feed(SSEEvent(name, json.dumps({"type": name, **data})))
    assert [(c.reasoning, c.content) for c in chunks] == [("Hm.", ""), ("", "One. "), ("", "Two.")]
    reply = parse_message(decoder.result(), provider="anthropic")
    assert reply.content == "One. Two."  # each text block once, not the whole text per block
    assert reply.reasoning == (
        ReasoningPart("thinking", "Hm.", signature="SIG"),
        ReasoningPart("redacted_thinking", data="RED"),
    )
    assert (reply.usage.output_tokens, reply.usage.reasoning_tokens) == (9, 4)


# -- thinking in the views -------------------------------------------------------------------


def test_views_show_thinking_collapsed_and_escaped(anthropic_server: FakeServer) -> None:
    reply = llm.chat(
        "anthropic", "<b>Oslo</b>", **conn(anthropic_server, model=CURRENT, thinking=ADAPTIVE)
    )
    html = reply._repr_html_()
    details = html[html.index('<details class="lp-reasoning">') :]
    details = details[: details.index("</details>")]
    assert "<summary>thinking · 24 characters</summary>" in details
    assert "Considering: &lt;b&gt;Oslo&lt;/b&gt;" in details and "<b>" not in details
    assert "<details open" not in html
    text = response_text(reply)
    assert text.splitlines()[0] == "▸ thinking · 24 characters: Considering: <b>Oslo</b>"
    plain = llm.chat("anthropic", "hi", **conn(anthropic_server, model=OLDER))
    assert "lp-reasoning" not in plain._repr_html_() and "▸ thinking" not in response_text(plain)


# -- Nothing the user sent is dropped: images in tool results and system messages, data URLs ---

SVG_URL = "data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E"  # percent-encoded, not base64
SVG_SOURCE = {"type": "base64", "media_type": "image/svg+xml", "data": "PHN2Zy8+"}


def test_images_in_a_tool_result_go_as_image_blocks_inside_it(
    anthropic_server: FakeServer,
) -> None:
    first = llm.chat("anthropic", "Oslo", **conn(anthropic_server, tools=[WEATHER]))
    call = first.tool_calls[0]
    result = [
        {"type": "text", "text": "Radar:"},
        {"type": "image", "data": "iVBORw0KGgo=", "media_type": "image/png"},
        {"type": "image_url", "image_url": {"url": "https://example.com/radar.png"}},
        {"type": "image_url", "image_url": {"url": SVG_URL}},
    ]
    follow_up = [
        {"role": "user", "content": "Oslo"},
        {"role": "assistant", "content": first.content, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    reply = llm.chat("anthropic", follow_up, **conn(anthropic_server, tools=[WEATHER]))
    assert anthropic_server.last_request.json["messages"][-1] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": call.id,
                "content": [
                    {"type": "text", "text": "Radar:"},
                    {"type": "image", "source": PNG_SOURCE},
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/radar.png"},
                    },
                    {"type": "image", "source": SVG_SOURCE},
                ],
            }
        ],
    }
    assert reply.content == "Echo: Radar:"


@pytest.mark.parametrize("role", ["system", "developer"])
@pytest.mark.parametrize(
    "image",
    [
        {"type": "image", "data": "iVBORw0KGgo=", "media_type": "image/png"},
        {"type": "image_url", "image_url": {"url": "https://example.com/logo.png"}},
    ],
    ids=["bytes", "url"],
)
def test_an_image_in_a_system_message_is_refused_before_sending(
    anthropic_server: FakeServer, role: str, image: dict
) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": role, "content": [{"type": "text", "text": "House style:"}, image]},
    ]
    with pytest.raises(ConfigError) as caught:
        llm.chat("anthropic", messages, **conn(anthropic_server))
    assert str(caught.value) == (
        f"Message 1 ({role}) holds an image, but Anthropic takes only text as the system "
        "prompt: move the image to a user message."
    )
    assert anthropic_server.requests == []
    text_only = [{"role": role, "content": [{"type": "text", "text": "House style."}]}]
    llm.chat("anthropic", [*text_only, messages[0]], **conn(anthropic_server))
    assert anthropic_server.last_request.json["system"] == "House style."


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": SVG_URL}},
        {"type": "image", "url": SVG_URL},
        {"type": "image_url", "image_url": "data:image/svg+xml;base64,PHN2Zy8+"},
    ],
    ids=["image_url-percent-encoded", "image-percent-encoded", "image_url-base64"],
)
def test_a_data_url_is_sent_as_base64_bytes(anthropic_server: FakeServer, part: dict) -> None:
    look = [{"role": "user", "content": [{"type": "text", "text": "Look"}, part]}]
    llm.chat("anthropic", look, **conn(anthropic_server))
    assert anthropic_server.last_request.json["messages"][0]["content"] == [
        {"type": "text", "text": "Look"},
        {"type": "image", "source": SVG_SOURCE},
    ]


def test_a_data_url_without_data_is_refused_before_sending(anthropic_server: FakeServer) -> None:
    look = [{"role": "user", "content": [{"type": "image_url", "image_url": "data:image/png"}]}]
    with pytest.raises(ConfigError, match=r"has no ',' before its data: .*pass the bytes as"):
        llm.chat("anthropic", look, **conn(anthropic_server))
    assert anthropic_server.requests == []


# -- A part's own fields (cache_control) reach the wire; a tool's strict too; names refused --

CACHED = {"type": "ephemeral"}


def test_cache_control_on_parts_goes_on_their_blocks(anthropic_server: FakeServer) -> None:
    first = llm.chat("anthropic", "Oslo", **conn(anthropic_server, tools=[WEATHER]))
    call = first.tool_calls[0]
    png = {"type": "image", "data": "iVBORw0KGgo=", "media_type": "image/png"}
    messages = [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "Long house style.", "cache_control": CACHED},
                {"type": "text", "text": " Be brief."},
            ],
        },
        {"role": "developer", "content": "Use metres."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Oslo", "cache_control": CACHED},
                {**png, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            ],
        },
        {"role": "assistant", "content": first.content, "tool_calls": [call]},
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": [{"type": "text", "text": "Sunny", "cache_control": CACHED}],
        },
    ]
    llm.chat("anthropic", messages, **conn(anthropic_server, tools=[WEATHER]))
    sent = anthropic_server.last_request.json
    assert sent["system"] == [
        {"type": "text", "text": "Long house style.", "cache_control": CACHED},
        {"type": "text", "text": " Be brief."},
        {"type": "text", "text": "Use metres."},
    ]
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "Oslo", "cache_control": CACHED},
        {
            "type": "image",
            "source": PNG_SOURCE,
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
    ]
    assert sent["messages"][2]["content"][0]["content"] == [
        {"type": "text", "text": "Sunny", "cache_control": CACHED}
    ]


def test_a_part_field_anthropic_does_not_know_is_sent_and_refused_by_the_api(
    anthropic_server: FakeServer,
) -> None:
    look = [{"role": "user", "content": [{"type": "text", "text": "Look", "colour": "red"}]}]
    with pytest.raises(BadRequestError, match=r"messages\.0\.content\.0\.colour: Extra inputs"):
        llm.chat("anthropic", look, **conn(anthropic_server))
    bad_cache = [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}]
    with pytest.raises(BadRequestError, match=r"cache_control\.type: Input should be 'ephemeral'"):
        llm.chat("anthropic", bad_cache, **conn(anthropic_server))


def test_a_tools_strict_and_cache_control_are_sent(anthropic_server: FakeServer) -> None:
    strict = {"type": "function", "function": {**WEATHER, "strict": True}}
    cached = {"name": "now", "parameters": WEATHER["parameters"], "cache_control": CACHED}
    llm.chat("anthropic", "Oslo", **conn(anthropic_server, tools=[strict, cached]))
    assert anthropic_server.last_request.json["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": WEATHER["parameters"],
            "strict": True,
        },
        {
            "name": "now",
            "description": "",
            "input_schema": WEATHER["parameters"],
            "cache_control": CACHED,
        },
    ]


def test_a_speaker_name_is_refused_before_sending(anthropic_server: FakeServer) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello", "name": "bot"},
        "go on",
    ]
    with pytest.raises(ConfigError) as caught:
        llm.chat("anthropic", messages, **conn(anthropic_server))
    assert str(caught.value) == (
        "Message 1 (assistant) has a name, which Anthropic has no field for: say who is "
        "speaking in the text, or leave the name out."
    )
    assert anthropic_server.requests == []
