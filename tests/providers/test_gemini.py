"""Gemini: prepare/parse without HTTP, then every operation, the content filter, OAuth2 and faults."""

from __future__ import annotations

import base64
import sys
import types

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentFilteredError,
    ContextLengthError,
    MissingDependencyError,
    MissingKeyError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers import get
from llmpipe_nb.providers.gemini import embed_body, generate_body, model_path, parse_generate
from llmpipe_nb.responses import ToolCall
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "AIzaSyTestCanary0123456789abcdefghij"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {}}},
    },
}


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


def test_generate_body_maps_roles_system_tools_and_generation_config() -> None:
    messages = [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image", "data": "AAA", "media_type": "image/png"},
            ],
        },
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [ToolCall("c1", "get_weather", {"city": "Paris"})],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c": 18}'},
        {"role": "tool", "tool_call_id": "c1", "content": "plain text"},
    ]
    options = {
        "model": "gemini-2.5-flash",
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 100,
        "stop": "END",
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "a", "schema": {"type": "object"}},
        },
        "safety_settings": {"HARM_CATEGORY_HARASSMENT": "BLOCK_ONLY_HIGH"},
    }
    body = generate_body(messages, options)
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [{"text": "Look"}, {"inlineData": {"mimeType": "image/png", "data": "AAA"}}],
        },
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": "plain text"}}},
            ],
        },
    ]
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
            ]
        }
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert body["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]


def test_model_paths_and_embed_body() -> None:
    assert model_path("gemini-2.5-flash") == "models/gemini-2.5-flash"
    assert model_path("tunedModels/mine") == "tunedModels/mine"
    body = embed_body(
        ["a", "b"], {"model": "text-embedding-004", "task_type": "RETRIEVAL_QUERY", "dimensions": 4}
    )
    assert body["requests"][1] == {
        "model": "models/text-embedding-004",
        "content": {"parts": [{"text": "b"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 4,
    }


def test_parse_generate_usage_and_function_calls() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "thinking", "thought": True},
                        {"functionCall": {"name": "f", "args": {"a": 1}}},
                    ]
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 6,
            "thoughtsTokenCount": 40,
            "cachedContentTokenCount": 8,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    }
    reply = parse_generate(body, provider="gemini")
    assert reply.content == "" and reply.tool_calls == (ToolCall("call_0", "f", {"a": 1}),)
    assert reply.finish_reason == "tool_calls" and reply.id == "r1"
    usage = reply.usage
    assert (
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.reasoning_tokens,
    ) == (12, 46, 8, 40)


def test_chat_sends_key_header_not_query(gemini_server: FakeServer) -> None:
    reply = llm.chat(
        "gemini",
        [{"role": "system", "content": "S"}, {"role": "user", "content": "hello"}],
        **conn(gemini_server),
    )
    recorded = gemini_server.last_request
    assert recorded.path == "/v1beta/models/gemini-3.5-flash-lite:generateContent"
    assert recorded.headers["x-goog-api-key"] == KEY and "key" not in recorded.query
    assert recorded.json["systemInstruction"] == {"parts": [{"text": "S"}]}
    assert (
        reply.content == "Echo: hello" and reply.finish_reason == "stop" and reply.id == "resp_fake"
    )


def test_stream_uses_alt_sse_and_crlf_frames(gemini_server: FakeServer) -> None:
    stream = llm.stream("gemini", "hello there", **conn(gemini_server))
    assert [c.content for c in stream if not c.done] == list(echo.pieces("Echo: hello there"))
    recorded = gemini_server.last_request
    assert recorded.path.endswith(":streamGenerateContent") and recorded.query == {"alt": "sse"}
    assert stream.response.usage.output_tokens == 3


def test_function_call_round_trip(gemini_server: FakeServer) -> None:
    first = llm.chat("gemini", "Paris", **conn(gemini_server, tools=[WEATHER]))
    (call,) = first.tool_calls  # the default model (Gemini 3) signs its calls
    assert (call.id, call.name, call.arguments) == ("call_0", "get_weather", {"city": "Paris"})
    assert call.signature
    follow_up = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": list(first.tool_calls)},
        {"role": "tool", "tool_call_id": "call_0", "content": '{"temp_c": 18}'},
    ]
    second = llm.chat("gemini", follow_up, **conn(gemini_server, tools=[WEATHER]))
    assert second.content == 'Echo: {"temp_c": 18}'


def test_embeddings_models_validate(gemini_server: FakeServer) -> None:
    vectors = llm.embeddings("gemini", ["a", "b"], **conn(gemini_server))
    assert vectors.embeddings == [echo.vector("a"), echo.vector("b")]
    assert (
        gemini_server.last_request.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    )
    assert (
        vectors.usage.input_tokens == 2 and vectors.cost_status == "priced"
    )  # estimated: no count on the wire
    models = llm.list_models("gemini", **conn(gemini_server))
    assert models[0].id == "gemini-2.5-flash" and models[0].context_window == 1048576
    assert llm.validate("gemini", **conn(gemini_server)).ok


@pytest.mark.parametrize("kind", ["chat", "stream"])
@pytest.mark.parametrize(
    "text, reason",
    [("[blocked] x", "blocked the prompt"), ("[unsafe] x", "withheld the answer")],
    ids=["prompt", "answer"],
)
def test_blocked_prompts_and_answers_are_content_filtered(
    gemini_server: FakeServer, kind, text, reason
) -> None:
    call = llm.chat if kind == "chat" else lambda *a, **k: llm.stream(*a, **k).text()
    with pytest.raises(ContentFilteredError, match=reason) as caught:
        call("gemini", text, **conn(gemini_server))
    assert caught.value.error_type == "SAFETY"


def test_google_api_key_variable_is_accepted(gemini_server: FakeServer, monkeypatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", gemini_server.base_url)
    assert llm.chat("gemini", "env").content == "Echo: env"
    assert gemini_server.last_request.headers["x-goog-api-key"] == KEY


def test_no_key_and_no_oauth_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="GEMINI_API_KEY"):
        llm.chat("gemini", "hi")


def test_oauth2_without_google_auth_names_the_extra(gemini_server: FakeServer, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)
    llm.configure("gemini", extra={"auth": "oauth2"}, base_url=gemini_server.base_url)
    with pytest.raises(MissingDependencyError, match=r"llmpipe_nb\[google\]"):
        llm.chat("gemini", "hi")


def test_oauth2_token_is_fetched_at_send_time(gemini_server: FakeServer, monkeypatch) -> None:
    class Credentials:
        token, valid, refreshes = None, False, 0

        def refresh(self, request) -> None:
            assert callable(request)
            self.refreshes += 1
            self.token, self.valid = "ya29.token-0123456789", True

    credentials = Credentials()
    google = types.ModuleType("google")
    google_auth = types.ModuleType("google.auth")
    google_auth.default = lambda scopes: (credentials, "project")
    google.auth = google_auth
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.auth", google_auth)
    monkeypatch.setattr(get("gemini"), "_credentials", None)
    llm.configure("gemini", extra={"auth": "oauth2"}, base_url=gemini_server.base_url)
    assert llm.chat("gemini", "one").content == "Echo: one"
    assert llm.chat("gemini", "two").content == "Echo: two"
    headers = gemini_server.last_request.headers
    assert (
        headers["authorization"] == "Bearer ya29.token-0123456789"
        and "x-goog-api-key" not in headers
    )
    assert credentials.refreshes == 1  # refreshed once, then reused while valid


@pytest.mark.parametrize(
    "status, body, error_class, check",
    [
        (
            429,
            None,
            RateLimitError,
            lambda e: e.retry_after == 1.5 and e.error_type == "RESOURCE_EXHAUSTED",
        ),
        (
            400,
            [
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                    }
                }
            ],
            AuthenticationError,
            lambda e: e.status_code == 400,
        ),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                    "status": "INVALID_ARGUMENT",
                }
            },
            ContextLengthError,
            lambda e: not e.retryable,
        ),
        (503, None, ServerError, lambda e: e.error_type == "UNAVAILABLE" and e.retryable),
    ],
    ids=["429-retry-info", "bad-key-in-array", "context-length", "503"],
)
def test_errors_are_typed(gemini_server: FakeServer, status, body, error_class, check) -> None:
    gemini_server.inject(faults.http_error(status, body=body))
    with pytest.raises(error_class) as caught:
        llm.chat("gemini", "hi", **conn(gemini_server))
    assert type(caught.value) is error_class and check(caught.value)


def test_bare_error_line_mid_stream(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.stream_error(after_chunks=1))
    with pytest.raises(ServerError, match="internal error") as caught:
        llm.stream("gemini", "hello there", **conn(gemini_server)).text()
    assert caught.value.error_type == "INTERNAL"


def test_stream_closed_before_a_finish_reason_is_interrupted(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.end_stream(after_chunks=2))
    with pytest.raises(StreamInterruptedError) as caught:
        llm.stream("gemini", "hello there", **conn(gemini_server)).text()
    assert caught.value.partial_text == "Echo: hello "


# -- media types --------------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(16)).decode()


def image_message(part: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "Look"}, part]}]


def sent_media(server: FakeServer) -> dict:
    return server.last_request.json["contents"][0]["parts"][1]


@pytest.mark.parametrize(
    "part, expected",
    [
        (
            {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}},
            {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/cat.png"}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://x.test/a/CAT.JPG?size=2"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/a/CAT.JPG?size=2"}},
        ),
        (
            {"type": "image", "url": "gs://bucket/photo.webp"},
            {"fileData": {"mimeType": "image/webp", "fileUri": "gs://bucket/photo.webp"}},
        ),
        (
            {"type": "image", "url": "https://x.test/scan.heic"},
            {"fileData": {"mimeType": "image/heic", "fileUri": "https://x.test/scan.heic"}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://x.test/paper.pdf"}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.test/paper.pdf"}},
        ),
        (
            {
                "type": "image_url",
                "image_url": {"url": "https://x.test/files/abc123"},
                "media_type": "image/gif",
            },
            {"fileData": {"mimeType": "image/gif", "fileUri": "https://x.test/files/abc123"}},
        ),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/webp;base64,{PNG}"}},
            {"inlineData": {"mimeType": "image/webp", "data": PNG}},
        ),
        ({"type": "image", "data": JPEG}, {"inlineData": {"mimeType": "image/jpeg", "data": JPEG}}),
        (
            {"type": "image", "data": PNG, "media_type": "image/heif"},
            {"inlineData": {"mimeType": "image/heif", "data": PNG}},
        ),
    ],
    ids=[
        "png-url",
        "jpg-url-with-query",
        "webp-gs",
        "heic-url",
        "pdf-url",
        "given-type",
        "data-url",
        "sniffed-jpeg",
        "given-over-sniffed",
    ],
)
def test_media_type_comes_from_the_url_the_data_or_the_part(
    gemini_server: FakeServer, part, expected
) -> None:
    llm.chat("gemini", image_message(part), **conn(gemini_server))
    assert sent_media(gemini_server) == expected


@pytest.mark.parametrize(
    "part, message",
    [
        (
            {"type": "image_url", "image_url": {"url": "https://x.test/files/abc?sig=SECRET"}},
            r"media type of https://x.test/files/abc, and its name .* add 'media_type'",
        ),
        ({"type": "image", "data": "AAAA"}, r"media type of inline data.* add 'media_type'"),
    ],
    ids=["url-without-suffix", "unknown-bytes"],
)
def test_unknown_media_type_is_refused_before_sending(
    gemini_server: FakeServer, part, message
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        llm.chat("gemini", image_message(part), **conn(gemini_server))
    assert "SECRET" not in str(caught.value)
    assert gemini_server.requests == []


# -- nothing the user sent is dropped: images where Gemini takes only text, names ----------

PNG_PART = {"type": "image", "data": PNG, "media_type": "image/png"}


@pytest.mark.parametrize("role", ["system", "developer"])
def test_an_image_in_a_system_message_is_refused_before_sending(
    gemini_server: FakeServer, role: str
) -> None:
    messages = [
        {"role": role, "content": [{"type": "text", "text": "House style:"}, PNG_PART]},
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(ConfigError) as caught:
        llm.chat("gemini", messages, **conn(gemini_server))
    assert str(caught.value) == (
        f"Message 0 ({role}) holds an image, but Gemini takes only text in the system "
        "instruction: move the image to a user message."
    )
    assert gemini_server.requests == []
    text_only = [{"role": role, "content": [{"type": "text", "text": "House style."}]}, "hi"]
    llm.chat("gemini", text_only, **conn(gemini_server))
    assert gemini_server.last_request.json["systemInstruction"] == {
        "parts": [{"text": "House style."}]
    }


def tool_round(content) -> list[dict]:
    return [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": [ToolCall("c1", "get_weather", {})]},
        {"role": "tool", "tool_call_id": "c1", "content": content},
    ]


def test_an_image_in_a_tool_result_is_refused_before_sending(gemini_server: FakeServer) -> None:
    result = [{"type": "text", "text": "Radar:"}, PNG_PART]
    with pytest.raises(ConfigError) as caught:
        llm.chat(
            "gemini",
            tool_round(result),
            **conn(gemini_server, tools=[WEATHER], model="gemini-2.5-flash-lite"),
        )
    assert str(caught.value) == (
        "Message 2 (tool) holds an image, but Gemini takes only text in a tool result: "
        "move the image to a user message."
    )
    assert gemini_server.requests == []
    text_parts = [{"type": "text", "text": '{"temp_c": '}, {"type": "text", "text": "18}"}]
    llm.chat(
        "gemini",
        tool_round(text_parts),
        **conn(gemini_server, tools=[WEATHER], model="gemini-2.5-flash-lite"),
    )
    assert gemini_server.last_request.json["contents"][-1] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}],
    }


def test_a_tool_result_without_its_call_answers_by_its_own_name(
    gemini_server: FakeServer,
) -> None:
    messages = [
        {"role": "user", "content": "Paris"},
        {"role": "tool", "tool_call_id": "c9", "name": "get_weather", "content": "18 C"},
    ]
    llm.chat("gemini", messages, **conn(gemini_server))
    assert gemini_server.last_request.json["contents"][-1]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"result": "18 C"}}}
    ]


def test_a_speaker_name_is_refused_before_sending(gemini_server: FakeServer) -> None:
    with pytest.raises(ConfigError) as caught:
        llm.chat(
            "gemini", [{"role": "user", "content": "hi", "name": "ada"}], **conn(gemini_server)
        )
    assert str(caught.value) == (
        "Message 0 (user) has a name, which Gemini has no field for: say who is speaking "
        "in the text, or leave the name out."
    )
    assert gemini_server.requests == []


# -- base_url and API version ----------------------------------------------------------------


@pytest.mark.parametrize(
    "base, options, path",
    [
        ("{url}", {}, "/v1/models/gemini-3.5-flash-lite:generateContent"),
        ("{url}/", {}, "/v1/models/gemini-3.5-flash-lite:generateContent"),
        (
            "{url}",
            {"api_version": "v1beta"},
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
        ),
        ("{url}/v1beta", {}, "/v1beta/models/gemini-3.5-flash-lite:generateContent"),
        (
            "{url}/v1beta",
            {"api_version": "v1beta"},
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
        ),
        ("{url}/v1", {}, "/v1/models/gemini-3.5-flash-lite:generateContent"),
    ],
    ids=["bare-host", "trailing-slash", "bare-host-v1beta", "versioned", "same-version", "v1"],
)
def test_base_url_may_be_a_bare_host_or_name_the_version(
    gemini_server: FakeServer, base, options, path
) -> None:
    base_url = base.format(url=gemini_server.url)
    reply = llm.chat("gemini", "hi", api_key=KEY, base_url=base_url, **options)
    assert reply.content == "Echo: hi"
    assert gemini_server.last_request.path == path


def test_bare_host_serves_every_kind_and_api_version_can_be_configured(
    gemini_server: FakeServer,
) -> None:
    llm.configure(
        "gemini", api_key=KEY, base_url=gemini_server.url, extra={"api_version": "v1beta"}
    )
    assert llm.list_models("gemini")[0].id == "gemini-2.5-flash"
    assert gemini_server.last_request.path == "/v1beta/models"
    llm.embeddings("gemini", ["a"])
    assert gemini_server.last_request.path.startswith("/v1beta/models/gemini-embedding-001:")
    assert llm.stream("gemini", "s", api_version="v1").text() == "Echo: s"
    assert (
        gemini_server.last_request.path == "/v1/models/gemini-3.5-flash-lite:streamGenerateContent"
    )
    assert llm.validate("gemini").ok


@pytest.mark.parametrize(
    "base, version, message",
    [
        ("{url}/v1beta", "v1", r"already names API version v1beta, so api_version='v1'"),
        ("{url}", "beta", r"api_version for gemini must be an API version such as 'v1'"),
    ],
    ids=["conflict", "not-a-version"],
)
def test_api_version_mistakes_are_refused_before_sending(
    gemini_server: FakeServer, base, version, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.chat(
            "gemini",
            "hi",
            api_key=KEY,
            base_url=base.format(url=gemini_server.url),
            api_version=version,
        )
    assert gemini_server.requests == []


# -- finish reasons ------------------------------------------------------------------------------


def canned(reason: str, parts: list | None = None) -> dict:
    content = {"role": "model", "parts": parts if parts is not None else [{"text": "x"}]}
    return {"candidates": [{"content": content, "finishReason": reason, "index": 0}]}


@pytest.mark.parametrize(
    "reason, finish",
    [
        ("MALFORMED_RESPONSE", "error"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("ESCALATION", "error"),
        ("PUP_LIMITED_DISABLED", "error"),
        ("A_REASON_ADDED_NEXT_YEAR", "error"),
        ("MAX_TOKENS", "length"),
    ],
)
def test_finish_reasons_map_with_error_as_the_fallback(
    gemini_server: FakeServer, reason, finish
) -> None:
    gemini_server.inject(faults.reply(canned(reason)))
    reply = llm.chat("gemini", "hi", **conn(gemini_server))
    assert (reply.finish_reason, reply.raw_finish_reason, reply.content) == (finish, reason, "x")


def test_missing_thought_signature_says_to_send_the_message_back(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.reply(canned("MISSING_THOUGHT_SIGNATURE", [])))
    with pytest.raises(BadRequestError, match=r"send reply\.message back unchanged") as caught:
        llm.chat("gemini", "hi", **conn(gemini_server))
    assert caught.value.error_type == "MISSING_THOUGHT_SIGNATURE"


def test_model_armor_is_content_filtered(gemini_server: FakeServer) -> None:
    gemini_server.inject(faults.reply(canned("MODEL_ARMOR", [])))
    with pytest.raises(ContentFilteredError, match="MODEL_ARMOR"):
        llm.chat("gemini", "hi", **conn(gemini_server))
