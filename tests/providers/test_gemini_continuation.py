"""Gemini's CONTINUATION: a long answer followed over several requests into one answer."""

from __future__ import annotations

import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, ConfigError
from llmpipe_nb.providers.gemini import continuation
from llmpipe_nb.providers.gemini.continuation import merge_hops
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "AIzaSyTestCanary0123456789abcdefghij"
PROMPT = "Write the whole book [hops=3] now please"
ANSWER = echo.echo(PROMPT)


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


@pytest.fixture(autouse=True)
def fresh_warnings():
    continuation._warned_off.clear()
    yield
    continuation._warned_off.clear()


def check_three_hops(server: FakeServer, reply) -> None:
    assert reply.content == ANSWER
    assert (reply.finish_reason, reply.raw_finish_reason) == ("stop", "STOP")
    first, second, third = server.requests
    assert "continuationToken" not in first.json
    for later in (second, third):  # the same request again, with the token beside contents
        assert later.path == first.path
        assert {k: v for k, v in later.json.items() if k != "continuationToken"} == first.json
    assert second.json["continuationToken"] != third.json["continuationToken"]
    meta = reply.request.metadata
    hops = meta["hops"]
    assert [h["finish_reason"] for h in hops] == ["CONTINUATION", "CONTINUATION", "STOP"]
    assert [a["hop"] for a in meta["attempt_log"]] == [1, 2, 3] and meta["attempts"] == 3
    assert meta["context_tokens"] == hops[0]["input_tokens"]
    # each hop's prompt count includes the earlier output; billing sums them all
    assert reply.usage.input_tokens == sum(h["input_tokens"] for h in hops)
    assert hops[1]["input_tokens"] == hops[0]["input_tokens"] + hops[0]["output_tokens"]
    assert (
        reply.usage.output_tokens
        == sum(h["output_tokens"] for h in hops)
        == len(list(echo.pieces(ANSWER)))
    )


def test_chat_follows_continuation_to_one_answer(gemini_server: FakeServer) -> None:
    reply = llm.chat("gemini", PROMPT, **conn(gemini_server))
    check_three_hops(gemini_server, reply)
    step = next(s for s in reply.request.trace if s.plug == "GeminiContinuation")
    assert step.outcome == "ok"


def test_stream_follows_continuation_and_streams_every_hop(gemini_server: FakeServer) -> None:
    stream = llm.stream("gemini", PROMPT, **conn(gemini_server))
    chunks = list(stream)
    assert [c.content for c in chunks if not c.done] == list(echo.pieces(ANSWER))
    assert chunks[-1].done and chunks[-1].finish_reason == "stop"
    check_three_hops(gemini_server, stream.response)


async def test_async_chat_and_stream_follow_continuation(gemini_server: FakeServer) -> None:
    reply = await llm.achat("gemini", PROMPT, **conn(gemini_server))
    check_three_hops(gemini_server, reply)
    gemini_server.clear()
    stream = llm.astream("gemini", PROMPT, **conn(gemini_server))
    assert await stream.atext() == ANSWER
    check_three_hops(gemini_server, stream.response)


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_gemini_3_hops_keep_each_signature_in_place(gemini_server: FakeServer, kind) -> None:
    options = conn(gemini_server, model="gemini-3.5-flash-lite")
    if kind == "chat":
        reply = llm.chat("gemini", PROMPT, **options)
    else:
        stream = llm.stream("gemini", PROMPT, **options)
        stream.text()
        reply = stream.response
    parts = reply.raw["candidates"][0]["content"]["parts"]
    assert len([p for p in parts if "thoughtSignature" in p]) == 3
    assert len(reply.reasoning) == 3
    llm.chat("gemini", [PROMPT, reply.message, "more"], **options)
    assert gemini_server.last_request.json["contents"][1]["parts"] == parts


def test_a_stream_closed_during_a_later_hop_records_every_call(gemini_server: FakeServer) -> None:
    stream = llm.stream("gemini", PROMPT, **conn(gemini_server))
    for i, _ in enumerate(stream):
        if i == 3:  # the first chunk of the second hop
            break
    del stream  # the consumer walked away
    assert len(gemini_server.requests) == 2
    row = llm.costs().iloc[-1]
    assert (row.kind, row.status, row.attempts) == ("stream", "cancelled", 2)
    last = llm.traces().iloc[-1]
    assert (last.plug, last.outcome) == ("GeminiContinuation", "halted")


def test_continuation_off_is_length_with_one_warning(gemini_server: FakeServer) -> None:
    with pytest.warns(UserWarning, match=r"CONTINUATION, and continuation is off.*'length'"):
        reply = llm.chat("gemini", PROMPT, **conn(gemini_server, continuation=False))
    assert (reply.finish_reason, reply.raw_finish_reason) == ("length", "CONTINUATION")
    assert len(gemini_server.requests) == 1 and "hops" not in reply.request.metadata
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # told once is enough
        stream = llm.stream("gemini", PROMPT, **conn(gemini_server, continuation=False))
        assert stream.text() == reply.content
    assert stream.response.finish_reason == "length"


@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_the_hop_limit_cuts_the_answer_with_a_warning(gemini_server: FakeServer, kind) -> None:
    options = conn(gemini_server, max_continuation_hops=2)
    with pytest.warns(
        UserWarning, match=r"still continuing .* after 2 requests.*max_continuation_hops"
    ):
        if kind == "chat":
            reply = llm.chat("gemini", PROMPT, **options)
        else:
            stream = llm.stream("gemini", PROMPT, **options)
            stream.text()
            reply = stream.response
    assert len(gemini_server.requests) == 2
    assert reply.finish_reason == "length" and ANSWER.startswith(reply.content) and reply.content
    assert len(reply.request.metadata["hops"]) == 2


def test_a_hop_is_retried_on_its_own(gemini_server: FakeServer) -> None:
    sleeps: list[float] = []
    gemini_server.inject(faults.Fault(), faults.http_error(503))
    builder = llm.build("gemini", PROMPT).with_options(**conn(gemini_server))
    reply = builder.with_retry(sleep=sleeps.append, jitter=0.0).execute()
    assert reply.content == ANSWER and len(gemini_server.requests) == 4
    log = reply.request.metadata["attempt_log"]
    assert [(a["hop"], a["status_code"]) for a in log] == [(1, 200), (2, 503), (2, 200), (3, 200)]


def test_a_failed_hop_fails_the_answer(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.Fault(), faults.http_error(400))
    with pytest.raises(BadRequestError) as caught:
        llm.chat("gemini", PROMPT, **conn(gemini_server))
    hops = caught.value.request.metadata["hops"]
    assert [h.get("error") for h in hops] == [None, "BadRequestError"]


def test_the_server_refuses_a_token_sent_with_other_contents(gemini_server: FakeServer) -> None:
    import httpx2

    url = f"{gemini_server.base_url}/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
    token = httpx2.post(url, json=body).json()["candidates"][0]["continuationToken"]
    other = {
        "contents": [{"role": "user", "parts": [{"text": "else"}]}],
        "continuationToken": token,
    }
    assert httpx2.post(url, json=other).status_code == 400


@pytest.mark.parametrize(
    "options, message",
    [
        ({"continuation": "yes"}, "continuation must be True or False"),
        ({"max_continuation_hops": 0}, "max_continuation_hops must be a whole number"),
    ],
)
def test_bad_continuation_options_are_refused_before_sending(
    gemini_server: FakeServer, options, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.chat("gemini", PROMPT, **conn(gemini_server, **options))
    assert gemini_server.requests == []


def test_merge_sums_counts_and_keeps_the_last_finish() -> None:
    hop = {
        "candidates": [
            {
                "content": {"parts": [{"text": "a"}]},
                "finishReason": "CONTINUATION",
                "continuationToken": "dA==",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 5,
            "thoughtsTokenCount": 2,
        },
        "modelVersion": "m",
    }
    last = {
        "candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 1},
        "modelVersion": "m",
    }
    merged = merge_hops([hop, last])
    candidate = merged["candidates"][0]
    assert candidate["content"]["parts"] == [{"text": "a"}, {"text": "b"}]
    assert candidate["finishReason"] == "STOP" and "continuationToken" not in candidate
    assert merged["usageMetadata"] == {
        "promptTokenCount": 25,
        "candidatesTokenCount": 6,
        "thoughtsTokenCount": 2,
    }
