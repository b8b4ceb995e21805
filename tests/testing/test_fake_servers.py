"""The fake servers speak each wire format over real loopback HTTP, and misbehave on request."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import time

import httpx2
import pytest

from llmpipe_nb.providers._sse import NDJSONSplitter, SSEParser
from llmpipe_nb.testing import FakeServer, echo, faults

USER = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def post(server: FakeServer, path: str, body: object, **kwargs) -> httpx2.Response:
    return httpx2.post(server.base_url + path, json=body, timeout=5, **kwargs)


def stream_raw(
    server: FakeServer, path: str, body: object, **kwargs
) -> tuple[httpx2.Response, bytes]:
    with httpx2.stream("POST", server.base_url + path, json=body, timeout=5, **kwargs) as response:
        return response, response.read()


def sse_json(raw: bytes) -> list[tuple[str, object]]:
    parser = SSEParser()
    events = parser.feed(raw) + parser.close()
    return [(e.event, e.data if e.data == "[DONE]" else json.loads(e.data)) for e in events]


# -- OpenAI ------------------------------------------------------------------------------


def test_openai_chat_echoes_the_last_user_message(openai_server: FakeServer) -> None:
    response = post(openai_server, "/chat/completions", {"model": "gpt-4o-mini", "messages": USER})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req_000001"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Echo: hello there"
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_openai_stream_has_role_chunk_pieces_finish_usage_and_done(
    openai_server: FakeServer,
) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response, raw = stream_raw(openai_server, "/chat/completions", body)
    assert response.headers["content-type"] == "text/event-stream"
    events = [data for _, data in sse_json(raw)]
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
    assert any("usage" not in c for c in chunks) and any(c.get("usage", 0) is None for c in chunks)


def test_openai_stream_without_include_usage_has_no_usage_chunk(openai_server: FakeServer) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER, "stream": True}
    _, raw = stream_raw(openai_server, "/chat/completions", body)
    chunks = [data for _, data in sse_json(raw)][:-1]
    assert all(c["choices"] for c in chunks)


def test_openai_parallel_tool_call_fragments_interleave(openai_server: FakeServer) -> None:
    second = {"type": "function", "function": {"name": "get_time", "parameters": {}}}
    body = {
        "model": "gpt-4o-mini",
        "messages": USER,
        "tools": [WEATHER_TOOL, second],
        "stream": True,
    }
    _, raw = stream_raw(openai_server, "/chat/completions", body)
    deltas = [
        d for _, c in sse_json(raw)[:-1] for d in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    order = [d["index"] for d in deltas if "id" not in d]
    assert order == [0, 1, 0, 1]
    arguments = {0: "", 1: ""}
    for d in deltas:
        arguments[d["index"]] += d["function"]["arguments"]
    assert json.loads(arguments[0]) == {"city": "hello there"}
    assert json.loads(arguments[1]) == {}


def test_openai_tool_calls_then_tool_result_gets_text(openai_server: FakeServer) -> None:
    first = post(
        openai_server,
        "/chat/completions",
        {"model": "m", "messages": USER, "tools": [WEATHER_TOOL]},
    )
    message = first.json()["choices"][0]["message"]
    assert first.json()["choices"][0]["finish_reason"] == "tool_calls"
    assert message["content"] is None
    call = message["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "hello there"}
    follow_up = [*USER, message, {"role": "tool", "tool_call_id": call["id"], "content": "18 C"}]
    second = post(
        openai_server,
        "/chat/completions",
        {"model": "m", "messages": follow_up, "tools": [WEATHER_TOOL]},
    )
    assert second.json()["choices"][0]["message"]["content"] == "Echo: 18 C"


def test_openai_legacy_completion_plain_and_streamed(openai_server: FakeServer) -> None:
    body = {"model": "my-completer", "prompt": "once upon"}
    plain = post(openai_server, "/completions", body).json()
    assert plain["object"] == "text_completion"
    assert plain["choices"][0]["text"] == "Echo: once upon"
    _, raw = stream_raw(openai_server, "/completions", body | {"stream": True})
    events = [data for _, data in sse_json(raw)]
    assert (
        "".join(e["choices"][0]["text"] for e in events[:-1] if e["choices"]) == "Echo: once upon"
    )


def test_openai_embeddings_float_and_base64(openai_server: FakeServer) -> None:
    body = {"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 4}
    floats = post(openai_server, "/embeddings", body).json()
    assert [d["embedding"] for d in floats["data"]] == [echo.vector("a", 4), echo.vector("b", 4)]
    packed = post(openai_server, "/embeddings", body | {"encoding_format": "base64"}).json()
    decoded = struct.unpack("<4f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(echo.vector("a", 4), abs=1e-6)


def test_openai_models_list_and_one_model(openai_server: FakeServer) -> None:
    listing = httpx2.get(openai_server.base_url + "/models").json()
    assert listing["object"] == "list"
    assert {m["object"] for m in listing["data"]} == {"model"}
    assert httpx2.get(openai_server.base_url + "/models/gpt-4o").json()["id"] == "gpt-4o"
    missing = httpx2.get(openai_server.base_url + "/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_openai_rejects_bad_requests_with_its_envelope(openai_server: FakeServer) -> None:
    response = post(openai_server, "/chat/completions", {"model": "m", "messages": []})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert (
        post(
            openai_server,
            "/chat/completions",
            {"model": "m", "messages": USER, "stream_options": {}},
        ).status_code
        == 400
    )


# -- Anthropic ---------------------------------------------------------------------------

ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-test"}


def test_anthropic_message_with_tool_use(anthropic_server: FakeServer) -> None:
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {}}}}
    body = {"model": "claude", "max_tokens": 64, "messages": USER, "tools": [tool]}
    response = post(anthropic_server, "/v1/messages", body, headers=ANTHROPIC_HEADERS)
    assert response.headers["request-id"] == "req_000001"
    reply = response.json()
    assert reply["stop_reason"] == "tool_use"
    assert reply["content"][0] == {"type": "text", "text": "Echo: hello there"}
    assert reply["content"][1]["input"] == {"city": "hello there"}


def test_anthropic_requires_version_header_and_max_tokens(anthropic_server: FakeServer) -> None:
    body = {"model": "claude", "max_tokens": 64, "messages": USER}
    assert post(anthropic_server, "/v1/messages", body).status_code == 400
    missing = post(
        anthropic_server,
        "/v1/messages",
        {"model": "c", "messages": USER},
        headers=ANTHROPIC_HEADERS,
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_request_error"
    system_role = [{"role": "system", "content": "x"}, *USER]
    wrong = post(
        anthropic_server,
        "/v1/messages",
        body | {"messages": system_role},
        headers=ANTHROPIC_HEADERS,
    )
    assert wrong.status_code == 400


def test_anthropic_stream_event_order(anthropic_server: FakeServer) -> None:
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {}}}}
    body = {"model": "claude", "max_tokens": 64, "messages": USER, "tools": [tool], "stream": True}
    _, raw = stream_raw(anthropic_server, "/v1/messages", body, headers=ANTHROPIC_HEADERS)
    events = sse_json(raw)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names and "future_event_type" in names
    assert all(data["type"] == name for name, data in events)
    partial = [
        d["delta"]["partial_json"]
        for n, d in events
        if d.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert partial[0] == "" and json.loads("".join(partial)) == {"city": "hello there"}
    text = "".join(
        d["delta"]["text"] for n, d in events if d.get("delta", {}).get("type") == "text_delta"
    )
    assert text == "Echo: hello there"


def test_anthropic_models_page(anthropic_server: FakeServer) -> None:
    first = httpx2.get(anthropic_server.base_url + "/v1/models", params={"limit": 2}).json()
    assert first["has_more"] is True and len(first["data"]) == 2
    rest = httpx2.get(
        anthropic_server.base_url + "/v1/models", params={"limit": 2, "after_id": first["last_id"]}
    ).json()
    assert rest["has_more"] is False and len(rest["data"]) == 1


# -- Gemini ------------------------------------------------------------------------------

GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


def test_gemini_generate_and_stream_agree(gemini_server: FakeServer) -> None:
    plain = post(gemini_server, "/models/gemini-2.5-flash-lite:generateContent", GEMINI_BODY).json()
    assert plain["candidates"][0]["content"]["parts"] == [{"text": "Echo: hello there"}]
    assert plain["candidates"][0]["finishReason"] == "STOP"
    _response, raw = stream_raw(
        gemini_server,
        "/models/gemini-2.5-flash-lite:streamGenerateContent",
        GEMINI_BODY,
        params={"alt": "sse"},
    )
    assert b"\r\n\r\n" in raw and not raw.endswith(b"[DONE]\r\n\r\n")
    chunks = [data for _, data in sse_json(raw)]
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == "Echo: hello there"
    assert chunks[-1]["usageMetadata"] == plain["usageMetadata"]


def test_gemini_stream_without_alt_sse_is_a_json_array(gemini_server: FakeServer) -> None:
    response = post(
        gemini_server, "/models/gemini-2.5-flash-lite:streamGenerateContent", GEMINI_BODY
    )
    assert isinstance(response.json(), list)


def test_gemini_rejects_roles_other_than_user_and_model(gemini_server: FakeServer) -> None:
    body = {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}
    response = post(gemini_server, "/models/gemini-2.5-flash-lite:generateContent", body)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "text, check",
    [
        (
            "[blocked] x",
            lambda r: "candidates" not in r and r["promptFeedback"]["blockReason"] == "SAFETY",
        ),
        (
            "[unsafe] x",
            lambda r: (
                r["candidates"][0]["finishReason"] == "SAFETY"
                and "content" not in r["candidates"][0]
            ),
        ),
    ],
    ids=["prompt-blocked", "answer-blocked"],
)
def test_gemini_safety_triggers(gemini_server: FakeServer, text, check) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    assert check(post(gemini_server, "/models/gemini-2.5-flash-lite:generateContent", body).json())


def test_gemini_function_call_arrives_whole(gemini_server: FakeServer) -> None:
    declaration = {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {}}},
    }
    body = GEMINI_BODY | {"tools": [{"functionDeclarations": [declaration]}]}
    reply = post(gemini_server, "/models/gemini-2.5-flash-lite:generateContent", body).json()
    candidate = reply["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"][0]["functionCall"] == {
        "name": "get_weather",
        "args": {"city": "hello there"},
    }


def test_gemini_embeddings_and_models(gemini_server: FakeServer) -> None:
    one = post(
        gemini_server,
        "/models/text-embedding-004:embedContent",
        {"content": {"parts": [{"text": "a"}]}},
    )
    assert one.json() == {"embedding": {"values": echo.vector("a")}}
    item = {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}}
    batch = post(
        gemini_server, "/models/text-embedding-004:batchEmbedContents", {"requests": [item]}
    )
    assert batch.json() == {"embeddings": [{"values": echo.vector("b")}]}
    wrong = post(
        gemini_server,
        "/models/text-embedding-004:batchEmbedContents",
        {"requests": [item | {"model": "x"}]},
    )
    assert wrong.status_code == 400
    page = httpx2.get(gemini_server.base_url + "/models", params={"pageSize": 2}).json()
    rest = httpx2.get(
        gemini_server.base_url + "/models", params={"pageToken": page["nextPageToken"]}
    ).json()
    assert next(m["name"] for m in page["models"] + rest["models"]) == "models/gemini-2.5-flash"
    assert "nextPageToken" not in rest


def test_gemini_429_carries_retry_info(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.http_error(429))
    error = post(
        gemini_server, "/models/gemini-2.5-flash-lite:generateContent", GEMINI_BODY
    ).json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"][0]["retryDelay"] == "1.5s"


def test_gemini_in_stream_error_is_a_bare_json_line(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.stream_error(after_chunks=1))
    _, raw = stream_raw(
        gemini_server,
        "/models/gemini-2.5-flash-lite:streamGenerateContent",
        GEMINI_BODY,
        params={"alt": "sse"},
    )
    assert raw.split(b"\r\n\r\n")[1].startswith(b'{"error":')
    assert sse_json(raw)[-1][1]["error"]["code"] == 500


# -- Ollama ------------------------------------------------------------------------------


def test_ollama_streams_ndjson_when_stream_is_omitted(ollama_server: FakeServer) -> None:
    response, raw = stream_raw(ollama_server, "/api/chat", {"model": "llama3.2", "messages": USER})
    assert response.headers["content-type"] == "application/x-ndjson"
    splitter = NDJSONSplitter()
    lines = [json.loads(line) for line in splitter.feed(raw) + splitter.close()]
    assert [line["done"] for line in lines] == [False, False, False, True]
    assert "".join(line["message"]["content"] for line in lines) == "Echo: hello there"
    assert lines[-1]["eval_count"] == 3 and "load_duration" not in lines[-1]


def test_ollama_plain_chat_tools_embed_tags_and_unknown_model(ollama_server: FakeServer) -> None:
    reply = post(
        ollama_server, "/api/chat", {"model": "llama3.2", "messages": USER, "stream": False}
    ).json()
    assert reply["done"] is True and reply["message"]["content"] == "Echo: hello there"
    with_tool = {"model": "llama3.2", "messages": USER, "stream": False, "tools": [WEATHER_TOOL]}
    call = post(ollama_server, "/api/chat", with_tool).json()["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == {"city": "hello there"}
    embedded = post(
        ollama_server, "/api/embed", {"model": "all-minilm", "input": ["a", "b"]}
    ).json()
    assert embedded["embeddings"] == [echo.vector("a"), echo.vector("b")]
    tags = httpx2.get(ollama_server.base_url + "/api/tags").json()
    assert "llama3.2:latest" in [m["name"] for m in tags["models"]]
    missing = post(ollama_server, "/api/chat", {"model": "nope", "messages": USER})
    assert missing.status_code == 404 and missing.json() == {"error": "model 'nope' not found"}


# -- flavors of the OpenAI-compatible family -------------------------------------------------


def test_openrouter_flavor_sends_keepalive_comments_and_integer_codes(fake_server) -> None:
    server = fake_server("openai", flavor="openrouter")
    body = {"model": "m", "messages": USER, "stream": True}
    _, raw = stream_raw(server, "/chat/completions", body)
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n")
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for _, c in sse_json(raw)[:-1])
        == "Echo: hello there"
    )
    server.inject(faults.http_error(402))
    assert post(server, "/chat/completions", body).json()["error"]["code"] == 402


def test_groq_flavor_reports_usage_in_x_groq(fake_server) -> None:
    server = fake_server("openai", flavor="groq")
    body = {
        "model": "m",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    _, raw = stream_raw(server, "/chat/completions", body)
    last = sse_json(raw)[-2][1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["x_groq"]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    "flavor, expected",
    [
        (
            "vllm",
            {"message": "Injected fault.", "type": "BadRequestError", "param": None, "code": 400},
        ),
        ("llamacpp", {"code": 400, "message": "Injected fault.", "type": "invalid_request_error"}),
    ],
    ids=["vllm", "llamacpp"],
)
def test_compatible_error_shapes(fake_server, flavor, expected) -> None:
    server = fake_server("openai", flavor=flavor)
    server.inject(faults.http_error(400))
    assert post(server, "/chat/completions", {"model": "m", "messages": USER}).json() == {
        "error": expected
    }


def test_llamacpp_flavor_adds_timings(fake_server) -> None:
    server = fake_server("openai", flavor="llamacpp")
    assert "timings" in post(server, "/chat/completions", {"model": "m", "messages": USER}).json()


def test_unknown_flavor_is_refused() -> None:
    with pytest.raises(ValueError, match="no flavor 'nope'"):
        FakeServer("openai", flavor="nope")


# -- faults, recording, keys -------------------------------------------------------------

ERROR_ENVELOPES = {
    "openai": ("/chat/completions", lambda b: b["error"]["type"] == "requests"),
    "anthropic": (
        "/v1/messages",
        lambda b: b["type"] == "error" and b["error"]["type"] == "rate_limit_error",
    ),
    "gemini": (
        "/models/gemini-2.5-flash-lite:generateContent",
        lambda b: b["error"]["code"] == 429,
    ),
    "ollama": ("/api/chat", lambda b: b == {"error": "Injected fault."}),
}


@pytest.mark.parametrize("provider", list(ERROR_ENVELOPES))
def test_http_error_fault_uses_the_provider_envelope_and_headers(fake_server, provider) -> None:
    server = fake_server(provider)
    path, is_envelope = ERROR_ENVELOPES[provider]
    server.inject(
        faults.http_error(429, headers={"retry-after": "2", "retry-after-ms": "1500"}), times=2
    )
    for _ in range(2):
        response = post(server, path, {})
        assert response.status_code == 429
        assert (
            response.headers["retry-after"] == "2" and response.headers["retry-after-ms"] == "1500"
        )
        assert is_envelope(response.json())
    assert post(server, path, {}).status_code != 429  # the queue is spent


def test_reply_fault_sends_a_canned_body(openai_server: FakeServer) -> None:
    openai_server.inject(faults.reply({"anything": True}))
    assert post(openai_server, "/chat/completions", {}).json() == {"anything": True}


def test_delay_fault_trips_a_read_timeout(openai_server: FakeServer) -> None:
    openai_server.inject(faults.delay(2))
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.post(openai_server.base_url + "/chat/completions", json={}, timeout=0.2)


@pytest.mark.parametrize(
    "provider, path, body",
    [
        ("openai", "/chat/completions", {"model": "m", "messages": USER, "stream": True}),
        ("ollama", "/api/chat", {"model": "llama3.2", "messages": USER}),
    ],
    ids=["sse", "ndjson"],
)
def test_drop_connection_mid_stream(fake_server, provider, path, body) -> None:
    server = fake_server(provider)
    server.inject(faults.drop_connection(after_chunks=2))
    received = b""
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        httpx2.stream("POST", server.base_url + path, json=body, timeout=5) as response,
    ):
        for piece in response.iter_raw():
            received += piece
    assert received.count(b"\n\n" if provider == "openai" else b"\n") == 2


def test_drop_connection_mid_body(openai_server: FakeServer) -> None:
    openai_server.inject(faults.drop_connection())
    with pytest.raises(httpx2.RemoteProtocolError):
        post(openai_server, "/chat/completions", {"model": "m", "messages": USER})


def test_malformed_json_fault(openai_server: FakeServer) -> None:
    openai_server.inject(faults.malformed_json(), times=2)
    with pytest.raises(json.JSONDecodeError):
        post(openai_server, "/chat/completions", {"model": "m", "messages": USER}).json()
    _, raw = stream_raw(
        openai_server, "/chat/completions", {"model": "m", "messages": USER, "stream": True}
    )
    with pytest.raises(json.JSONDecodeError):
        sse_json(raw)


@pytest.mark.parametrize(
    "provider, path, body, check",
    [
        (
            "openai",
            "/chat/completions",
            {"model": "m", "messages": USER, "stream": True},
            lambda raw: sse_json(raw)[-1][1]["error"]["type"] == "server_error",
        ),
        (
            "anthropic",
            "/v1/messages",
            {"model": "c", "max_tokens": 9, "messages": USER, "stream": True},
            lambda raw: (
                sse_json(raw)[-1]
                == (
                    "error",
                    {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "Overloaded"},
                    },
                )
            ),
        ),
        (
            "ollama",
            "/api/chat",
            {"model": "llama3.2", "messages": USER},
            lambda raw: (
                json.loads(raw.splitlines()[-1])
                == {"error": "an error was encountered while running the model"}
            ),
        ),
    ],
    ids=["openai", "anthropic", "ollama"],
)
def test_stream_error_fault_keeps_status_200(fake_server, provider, path, body, check) -> None:
    server = fake_server(provider)
    server.inject(faults.stream_error(after_chunks=2))
    response, raw = stream_raw(server, path, body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200
    assert check(raw)


def test_slow_chunks_and_chunk_count(openai_server: FakeServer) -> None:
    openai_server.inject(faults.Fault(chunk_delay_s=0.05, chunk_count=5))
    started = time.monotonic()
    _, raw = stream_raw(
        openai_server, "/chat/completions", {"model": "m", "messages": USER, "stream": True}
    )
    assert (
        time.monotonic() - started >= 0.05 * 7
    )  # role + 5 pieces + finish + [DONE], delays between
    assert sum(1 for _, c in sse_json(raw)[:-1] if c["choices"][0]["delta"].get("content")) == 5


def test_slow_chunks_trip_a_read_timeout_between_chunks(openai_server: FakeServer) -> None:
    openai_server.inject(faults.slow_chunks(1.0))
    with (
        pytest.raises(httpx2.ReadTimeout),
        httpx2.stream(
            "POST",
            openai_server.base_url + "/chat/completions",
            json={"model": "m", "messages": USER, "stream": True},
            timeout=httpx2.Timeout(5, read=0.2),
        ) as response,
    ):
        for _ in response.iter_raw():
            pass


def test_requests_are_recorded(openai_server: FakeServer) -> None:
    httpx2.post(
        openai_server.base_url + "/chat/completions",
        params={"q": "1"},
        json={"model": "m", "messages": USER},
        headers={"Authorization": "Bearer sk-test"},
    )
    recorded = openai_server.last_request
    assert (recorded.method, recorded.path, dict(recorded.query)) == (
        "POST",
        "/v1/chat/completions",
        {"q": "1"},
    )
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert recorded.json == {"model": "m", "messages": USER}
    assert len(openai_server.requests) == 1
    openai_server.clear()
    assert openai_server.requests == []


@pytest.mark.parametrize(
    "provider, path, good",
    [
        ("openai", "/models", {"headers": {"Authorization": "Bearer k1"}}),
        ("anthropic", "/v1/models", {"headers": {"x-api-key": "k1"}}),
        ("gemini", "/models", {"headers": {"x-goog-api-key": "k1"}}),
        ("gemini", "/models", {"params": {"key": "k1"}}),
    ],
    ids=["openai", "anthropic", "gemini-header", "gemini-query"],
)
def test_required_key_is_checked(fake_server, provider, path, good) -> None:
    server = fake_server(provider, api_key="k1")
    assert httpx2.get(server.base_url + path).status_code == 401
    assert httpx2.get(server.base_url + path, **good).status_code == 200


def test_keep_alive_reuses_one_connection(openai_server: FakeServer) -> None:
    with httpx2.Client(base_url=openai_server.base_url) as client:
        ports = set()
        for _ in range(3):
            response = client.get("/models")
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
    assert len(ports) == 1


def test_close_ends_a_pending_delay_quickly() -> None:
    server = FakeServer("openai").start()
    server.inject(faults.delay(30))
    with pytest.raises(httpx2.TransportError), httpx2.Client(timeout=0.1) as client:
        client.post(server.base_url + "/chat/completions", json={})
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 1


def test_command_line_server() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "llmpipe_nb.testing.server", "--provider", "ollama", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base_url = line.rsplit(" ", 1)[1].strip()
        assert line.startswith("ollama fake server: base_url http://127.0.0.1:")
        assert httpx2.get(base_url + "/api/tags").status_code == 200
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=5)
    assert errors == ""
