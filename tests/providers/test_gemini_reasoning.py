"""Gemini's reasoning state: thought signatures kept and echoed, thoughts, thinking options."""

from __future__ import annotations

import json

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, ConfigError
from llmpipe_nb.providers.gemini import generate_body, parse_generate
from llmpipe_nb.providers.gemini.contents import model_parts
from llmpipe_nb.responses import ReasoningPart, ToolCall
from llmpipe_nb.testing import FakeServer

KEY = "AIzaSyTestCanary0123456789abcdefghij"
GEMINI_3 = "gemini-3.5-flash-lite"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {}}},
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {}}}


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, "model": GEMINI_3, **options}


def ask(kind: str, messages, **options):
    if kind == "chat":
        return llm.chat("gemini", messages, **options)
    stream = llm.stream("gemini", messages, **options)
    stream.text()
    return stream.response


# -- the tool loop on Gemini 3 --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_tool_loop_sends_the_signed_model_turn_back_as_received(
    gemini_server: FakeServer, kind
) -> None:
    prompt = "Paris [big-signature]" if kind == "stream" else "Paris"
    first = ask(kind, prompt, **conn(gemini_server, tools=[WEATHER, CLOCK]))
    received = first.raw["candidates"][0]["content"]["parts"]
    assert [c.name for c in first.tool_calls] == ["get_weather", "get_time"]
    signature = first.tool_calls[0].signature
    assert signature and signature == received[0]["thoughtSignature"]
    assert first.tool_calls[1].signature is None  # only a step's first call is signed
    if kind == "stream":  # one SSE line of over 200 KiB, whole
        assert len(signature) > 200_000
    conversation = [
        {"role": "user", "content": prompt},
        first.message,
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": '{"temp_c": 18}'},
        {"role": "tool", "tool_call_id": first.tool_calls[1].id, "content": "noon"},
    ]
    second = ask(kind, conversation, **conn(gemini_server, tools=[WEATHER, CLOCK]))
    assert second.content == 'Echo: {"temp_c": 18}'
    contents = gemini_server.last_request.json["contents"]
    assert contents[1] == {"role": "model", "parts": received}
    assert contents[2]["role"] == "user"
    assert [p["functionResponse"]["name"] for p in contents[2]["parts"]] == [
        "get_weather",
        "get_time",
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (
            ToolCall("call_0", "get_weather", {"city": "Paris"}),
            r"Function call is missing a thought_signature in functionCall parts\. "
            r"This is required for tools to work correctly, .* "
            r"function call `get_weather`, position 1\.",
        ),
        (
            ToolCall("call_0", "get_weather", {"city": "Paris"}, "c2lnbmVkIGVsc2V3aGVyZQ=="),
            r"Corrupted thought signature",
        ),
    ],
    ids=["dropped", "altered"],
)
def test_gemini_3_refuses_a_call_echoed_without_its_signature(
    gemini_server: FakeServer, call, message
) -> None:
    conversation = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_0", "content": "18"},
    ]
    with pytest.raises(BadRequestError, match=message) as caught:
        llm.chat("gemini", conversation, **conn(gemini_server, tools=[WEATHER]))
    assert caught.value.status_code == 400 and caught.value.error_type == "INVALID_ARGUMENT"


def test_earlier_turns_are_not_checked_and_older_models_sign_nothing(
    gemini_server: FakeServer,
) -> None:
    old = llm.chat(
        "gemini", "Paris", **conn(gemini_server, tools=[WEATHER], model="gemini-2.5-flash-lite")
    )
    assert old.tool_calls[0].signature is None and old.reasoning == ()
    conversation = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": list(old.tool_calls)},
        {"role": "tool", "tool_call_id": "call_0", "content": "18"},
        {"role": "assistant", "content": "It is 18."},
        {"role": "user", "content": "Thanks"},
    ]
    assert llm.chat("gemini", conversation, **conn(gemini_server)).content == "Echo: Thanks"


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_a_signed_text_answer_keeps_its_signature_where_it_came(
    gemini_server: FakeServer, kind
) -> None:
    reply = ask(kind, "hello there", **conn(gemini_server))
    assert reply.content == "Echo: hello there"
    parts = reply.raw["candidates"][0]["content"]["parts"]
    if kind == "stream":  # the signature came alone, on an empty part, and stays so
        assert parts == [
            {"text": "Echo: hello there"},
            {"text": "", "thoughtSignature": parts[1]["thoughtSignature"]},
        ]
    else:
        assert set(parts[0]) == {"text", "thoughtSignature"} and len(parts) == 1
    signature = parts[-1]["thoughtSignature"]
    assert reply.reasoning == (
        ReasoningPart(
            "signature", parts[-1]["text"], signature, offset=0 if kind == "chat" else 17
        ),
    )
    assert reply.reasoning_text == ""
    llm.chat("gemini", ["hello there", reply.message, "again"], **conn(gemini_server))
    assert gemini_server.last_request.json["contents"][1] == {"role": "model", "parts": parts}


# -- rebuilding a model turn ------------------------------------------------------------------

TURNS = {
    "thought-signed-text-call": [
        {"text": "Weighing it up.", "thought": True},
        {"text": "I will look it up. ", "thoughtSignature": "QQ=="},
        {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "Qg=="},
        {"functionCall": {"name": "g", "args": {}}},
    ],
    "stream-with-empty-signed-parts": [
        {"text": "Chapter 1. "},
        {"text": "", "thoughtSignature": "MQ=="},
        {"text": "Chapter 2."},
        {"text": "", "thoughtSignature": "Mg=="},
    ],
    "signed-text-between-plain": [
        {"text": "a"},
        {"text": "b", "thoughtSignature": "Yg=="},
        {"text": "c"},
    ],
    "interleaved-thoughts": [
        {"text": "first thought", "thought": True, "thoughtSignature": "VA=="},
        {"text": "one "},
        {"text": "second thought", "thought": True},
        {"text": "two"},
    ],
}


@pytest.mark.parametrize("parts", list(TURNS.values()), ids=list(TURNS))
def test_a_parsed_turn_is_rebuilt_exactly(parts) -> None:
    body = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}
    reply = parse_generate(body, provider="gemini")
    assert model_parts(reply.message) == parts
    # a conversation saved as JSON (reasoning parts as dicts) rebuilds the same
    saved = reply.message | {"reasoning": [vars_of(r) for r in reply.reasoning]}
    assert model_parts(saved) == parts


def vars_of(part: ReasoningPart) -> dict:
    return {name: getattr(part, name) for name in ReasoningPart.__slots__}


def test_reasoning_of_another_provider_and_bad_reasoning() -> None:
    message = {
        "role": "assistant",
        "content": "Hi",
        "reasoning": [ReasoningPart("thinking", "hmm", "anthropic-signature")],
    }
    assert model_parts(message) == [{"text": "Hi"}]
    with pytest.raises(ConfigError, match=r"send back the ReasoningParts of reply\.message"):
        model_parts(message | {"reasoning": ["free text"]})


# -- thoughts and thinking options ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_thoughts_are_reasoning_and_their_tokens_are_counted(
    gemini_server: FakeServer, kind
) -> None:
    options = conn(gemini_server, model="gemini-2.5-flash-lite", include_thoughts=True)
    if kind == "stream":
        stream = llm.stream("gemini", "hi", **options)
        chunks = list(stream)
        reply = stream.response
        assert chunks[0].reasoning == reply.reasoning_text and chunks[0].content == ""
    else:
        reply = llm.chat("gemini", "hi", **options)
    assert reply.content == "Echo: hi"
    assert reply.reasoning_text.startswith("The user wrote 1 words")
    assert reply.reasoning[0].kind == "thought"
    usage = reply.raw["usageMetadata"]
    assert reply.usage.reasoning_tokens == usage["thoughtsTokenCount"] > 0
    assert reply.usage.output_tokens == usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]


def test_thinking_options_merge_deeply_with_what_the_provider_sets(
    gemini_server: FakeServer,
) -> None:
    llm.chat(
        "gemini",
        "hi",
        **conn(
            gemini_server,
            temperature=0.3,
            max_tokens=50,
            thinking_level="high",
            generation_config={"thinkingConfig": {"includeThoughts": True}, "topK": 5},
            extra_body={
                "generationConfig": {"responseModalities": ["TEXT"]},
                "cachedContent": "c1",
            },
        ),
    )
    sent = gemini_server.last_request.json
    assert sent["generationConfig"] == {
        "temperature": 0.3,
        "maxOutputTokens": 50,
        "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True},
        "topK": 5,
        "responseModalities": ["TEXT"],
    }
    assert sent["cachedContent"] == "c1" and sent["contents"][0]["parts"] == [{"text": "hi"}]


def test_generation_config_values_win_over_the_named_options() -> None:
    body = generate_body(
        [{"role": "user", "content": "x"}],
        {"temperature": 0.1, "thinking_budget": 0, "generation_config": {"temperature": 0.9}},
    )
    assert body["generationConfig"] == {"temperature": 0.9, "thinkingConfig": {"thinkingBudget": 0}}


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"thinking_level": "low", "thinking_budget": 512},
            "a thinking level or a thinking budget, not both",
        ),
        (
            {
                "thinking_budget": 512,
                "generation_config": {"thinkingConfig": {"thinkingLevel": "LOW"}},
            },
            "not both",
        ),
        (
            {
                "extra_body": {
                    "generationConfig": {
                        "thinkingConfig": {"thinkingLevel": "LOW", "thinkingBudget": 1}
                    }
                }
            },
            "not both",
        ),
        (
            {"thinking_level": "extreme"},
            "thinking_level must be one of minimal, low, medium, high, xhigh",
        ),
        ({"thinking_budget": -2}, "thinking_budget must be a whole number of tokens"),
        ({"include_thoughts": "yes"}, "include_thoughts must be True or False"),
        ({"generation_config": [("topK", 1)]}, "generation_config must be a dict"),
    ],
    ids=["both", "both-via-config", "both-via-extra-body", "level", "budget", "include", "config"],
)
def test_bad_thinking_options_are_refused_before_sending(
    gemini_server: FakeServer, options, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.chat("gemini", "hi", **conn(gemini_server, **options))
    assert gemini_server.requests == []


def test_the_server_refuses_level_and_budget_together(gemini_server: FakeServer) -> None:
    import httpx2

    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW", "thinkingBudget": 1}},
    }
    answer = httpx2.post(f"{gemini_server.base_url}/models/{GEMINI_3}:generateContent", json=body)
    assert answer.status_code == 400 and "thinking budget and thinking level" in json.dumps(
        answer.json()
    )
