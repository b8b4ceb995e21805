"""AWS Bedrock: SigV4 against the spec and botocore, event-stream framing, then every operation
and fault over loopback HTTP against a server that verifies each signature."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

import llmpipe_nb as llm
from llmpipe_nb.credentials import Secret
from llmpipe_nb.errors import (
    AuthenticationError,
    ConfigError,
    ContextLengthError,
    RateLimitError,
    ResponseFormatError,
    SchemaValidationError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers._eventstream import EventStreamParser, encode
from llmpipe_nb.providers.bedrock import AwsCredentials, converse_body, signature_headers
from llmpipe_nb.responses import ToolCall
from llmpipe_nb.testing import faults
from llmpipe_nb.testing.bedrock_wire import ACCESS_KEY, SECRET_KEY

SESSION = "FwoGZXIvYXdzEXAMPLE-session-canary-0123456789"
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {}}}}


@pytest.fixture(autouse=True)
def aws_env(aws_static_credentials):
    """Static test credentials in the environment; no profile, no instance metadata."""


@pytest.fixture
def bedrock(fake_server):
    server = fake_server("bedrock")
    llm.configure("bedrock", base_url=server.url)
    return server


# -- SigV4 and framing, no HTTP ---------------------------------------------------------------


def test_signature_matches_botocore_for_the_same_request_credentials_and_time(monkeypatch) -> None:
    auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    when = datetime(2026, 12, 6, 12, 30, 45, tzinfo=timezone.utc)
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-haiku-5-5%3A0/converse?a=b%20c"
    body = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    headers = {
        "host": "bedrock-runtime.us-east-1.amazonaws.com",
        "content-type": "application/json",
    }
    ours = signature_headers(
        "POST",
        url,
        headers,
        body,
        AwsCredentials(ACCESS_KEY, Secret(SECRET_KEY), Secret(SESSION)),
        region="us-east-1",
        service="bedrock",
        when=when,
    )
    reference = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    monkeypatch.setattr(auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION), "bedrock", "us-east-1").add_auth(
        reference
    )
    assert ours["Authorization"] == reference.headers["Authorization"]
    assert ours["x-amz-date"] == reference.headers["X-Amz-Date"] == "20261206T123045Z"
    assert ours["x-amz-security-token"] == SESSION
    assert SECRET_KEY not in repr(AwsCredentials(ACCESS_KEY, Secret(SECRET_KEY)))


def test_event_stream_messages_join_across_reads_and_crcs_are_checked() -> None:
    frames = encode({":event-type": "a"}, b'{"x":1}') + encode({":event-type": "b"}, b"{}")
    parser = EventStreamParser()
    got = [m for i in range(0, len(frames), 5) for m in parser.feed(frames[i : i + 5])]
    assert [(m.event_type, m.payload) for m in got] == [("a", b'{"x":1}'), ("b", b"{}")]
    broken = bytearray(encode({":event-type": "a"}, b"{}"))
    broken[-1] ^= 1
    with pytest.raises(ValueError, match="message CRC"):
        EventStreamParser().feed(bytes(broken))
    bad_prelude = bytearray(broken)
    bad_prelude[9] ^= 1
    with pytest.raises(ValueError, match="prelude CRC"):
        EventStreamParser().feed(bytes(bad_prelude))
    assert zlib.crc32(frames[:8]) == int.from_bytes(frames[8:12], "big")


def test_converse_body_maps_system_tools_images_and_tool_turns() -> None:
    messages = [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What?"},
                {"type": "image", "data": "iVBO", "media_type": "image/png"},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [ToolCall("t1", "get_weather", {"city": "Oslo"})],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "3 C"},
        {"role": "user", "content": "And tomorrow?"},
    ]
    body = converse_body(
        messages,
        {
            "max_tokens": 9,
            "temperature": 0.5,
            "stop": "\n",
            "tools": [WEATHER],
            "tool_choice": "required",
        },
    )
    assert body["system"] == [{"text": "Be terse."}]
    assert body["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": "iVBO"}}
    }
    assert body["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}}
    ]
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "t1", "content": [{"text": "3 C"}]}},
            {"text": "And tomorrow?"},
        ],
    }
    assert body["inferenceConfig"] == {"temperature": 0.5, "maxTokens": 9, "stopSequences": ["\n"]}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    with pytest.raises(ConfigError, match="as bytes"):
        converse_body(
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}],
                }
            ],
            {},
        )


# -- over loopback HTTP, every call signature-checked --------------------------------------------


def test_chat_is_signed_and_priced_as_the_model_asked_for(bedrock) -> None:
    reply = llm.chat("bedrock", "hello there")
    sent = bedrock.last_request
    assert sent.path == "/model/amazon.nova-micro-v1%3A0/converse"
    assert sent.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert sent.json == {"messages": [{"role": "user", "content": [{"text": "hello there"}]}]}
    assert reply.content == "Echo: hello there" and reply.model == "amazon.nova-micro-v1:0"
    assert reply.finish_reason == "stop" and reply.request_id == sent.request_id
    assert reply.cost is not None and reply.cost > 0


def test_a_session_token_is_signed_and_a_cross_region_profile_works(bedrock, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION)
    reply = llm.chat("bedrock", "hi", model="us.anthropic.claude-haiku-5-5")
    sent = bedrock.last_request
    assert sent.headers["x-amz-security-token"] == SESSION
    assert "x-amz-security-token" in sent.headers["authorization"]
    assert reply.content == "Echo: hi" and reply.cost is not None


def test_a_wrong_secret_is_refused_by_the_signature_check(bedrock, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-canary-0123")
    with pytest.raises(AuthenticationError, match="signature we calculated") as caught:
        llm.chat("bedrock", "hi")
    assert caught.value.error_type == "InvalidSignatureException"
    assert "not-the-secret-canary-0123" not in str(caught.value) + repr(caught.value.request)


def test_a_bedrock_api_key_is_sent_as_a_bearer_token_unsigned(fake_server, monkeypatch) -> None:
    server = fake_server("bedrock", api_key="bedrock-api-key-canary-0123")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-canary-0123")
    reply = llm.chat("bedrock", "hi", base_url=server.url)
    assert server.last_request.headers["authorization"] == "Bearer bedrock-api-key-canary-0123"
    assert "bedrock-api-key-canary-0123" not in repr(reply) + repr(reply.request)


def test_stream_joins_split_frames_and_tool_calls(bedrock) -> None:
    stream = llm.stream("bedrock", "hello there")
    assert [c.content for c in stream if not c.done] == ["Echo: ", "hello ", "there"]
    assert stream.response.usage.output_tokens == 3 and stream.response.finish_reason == "stop"
    assert bedrock.last_request.path.endswith("/converse-stream")
    tools = llm.stream("bedrock", "Rome", tools=[WEATHER])
    list(tools)
    assert tools.response.tool_calls == (ToolCall("tooluse_0", "get_weather", {"city": "Rome"}),)
    follow_up = [
        {"role": "user", "content": "Rome"},
        {"role": "assistant", "content": "", "tool_calls": list(tools.response.tool_calls)},
        {"role": "tool", "tool_call_id": "tooluse_0", "content": "20 C"},
    ]
    assert llm.chat("bedrock", follow_up, tools=[WEATHER]).content == "Echo: 20 C"


def test_titan_embeds_one_input_per_call_and_cohere_all_at_once(bedrock) -> None:
    result = llm.embeddings("bedrock", ["a b", "c"])
    assert len(result.embeddings) == 2 and result.usage.input_tokens == 3
    assert [r.json for r in bedrock.requests] == [{"inputText": "a b"}, {"inputText": "c"}]
    assert [e["input"] for e in result.request.metadata["attempt_log"]] == [0, 1]
    cohere = llm.embeddings("bedrock", ["a", "b"], model="cohere.embed-english-v3")
    assert len(cohere.embeddings) == 2 and cohere.usage.input_tokens == 2
    assert bedrock.last_request.json == {"texts": ["a", "b"], "input_type": "search_document"}


def test_list_models_reads_the_live_lifecycle_and_validate(bedrock) -> None:
    models = {m.id: m for m in llm.list_models("bedrock")}
    assert models["amazon.titan-text-lite-v1"].status == "legacy"
    assert models["amazon.nova-micro-v1:0"].status == "active"
    assert bedrock.last_request.path == "/foundation-models"
    assert llm.validate("bedrock").ok


@pytest.mark.parametrize(
    "fault, error_class, check",
    [
        (
            faults.http_error(
                429,
                {"message": "Too many requests"},
                {"x-amzn-ErrorType": "ThrottlingException:http://x/"},
            ),
            RateLimitError,
            lambda e: e.retryable and e.error_type == "ThrottlingException",
        ),
        (
            faults.http_error(
                429,
                {"message": "Model is not ready"},
                {"x-amzn-ErrorType": "ModelNotReadyException"},
            ),
            RateLimitError,
            lambda e: e.retryable,
        ),
        (
            faults.http_error(
                503, {"message": "Unavailable"}, {"x-amzn-ErrorType": "ServiceUnavailableException"}
            ),
            ServerError,
            lambda e: e.retryable,
        ),
    ],
    ids=["throttling", "model-not-ready", "unavailable"],
)
def test_errors_are_typed(bedrock, fault, error_class, check) -> None:
    bedrock.inject(fault)
    with pytest.raises(error_class) as caught:
        llm.chat("bedrock", "hi")
    assert type(caught.value) is error_class and check(caught.value)
    assert caught.value.request_id == bedrock.last_request.request_id


def test_validation_access_denied_and_too_long_are_typed(bedrock) -> None:
    with pytest.raises(AuthenticationError, match="Model access") as denied:
        llm.chat("bedrock", "hi", model="anthropic.claude-locked")
    assert denied.value.error_type == "AccessDeniedException" and not denied.value.retryable
    with pytest.raises(ContextLengthError):
        llm.chat("bedrock", "[too-long]")
    with pytest.raises(llm.errors.BadRequestError, match="model identifier is invalid"):
        llm.chat("bedrock", "hi", model="no.such-model")


def test_stream_faults(bedrock) -> None:
    bedrock.inject(faults.stream_error(after_chunks=4))
    with pytest.raises(ServerError, match="unable to process"):
        list(llm.stream("bedrock", "hello there"))
    bedrock.inject(faults.drop_connection(after_chunks=6))
    with pytest.raises(StreamInterruptedError) as dropped:
        list(llm.stream("bedrock", "hello there"))
    assert dropped.value.partial_text.startswith("Echo: ")
    bedrock.inject(faults.malformed_json())
    with pytest.raises(ResponseFormatError, match="damaged event-stream frame"):
        list(llm.stream("bedrock", "hello there"))
    bedrock.inject(faults.end_stream(after_chunks=4))
    with pytest.raises(StreamInterruptedError, match="end marker"):
        list(llm.stream("bedrock", "hello there"))


def test_retries_re_sign_each_attempt(bedrock) -> None:
    bedrock.inject(
        faults.http_error(500, {"message": "boom"}, {"x-amzn-ErrorType": "InternalServerException"})
    )
    reply = llm.build("bedrock", "hi").with_retry(max_attempts=2, base_delay=0.01).execute()
    assert reply.content == "Echo: hi" and len(bedrock.requests) == 2


@pytest.mark.parametrize("missing", ["AWS_REGION", "credentials"])
def test_missing_region_or_credentials_is_a_config_error_and_nothing_is_sent(
    bedrock, monkeypatch, missing
) -> None:
    if missing == "AWS_REGION":
        monkeypatch.delenv("AWS_REGION")
    else:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(
        ConfigError, match="AWS_REGION" if missing == "AWS_REGION" else "AWS_ACCESS_KEY_ID"
    ):
        llm.chat("bedrock", "hi")
    assert bedrock.requests == []


def test_the_secret_never_shows(bedrock) -> None:
    reply = llm.chat("bedrock", "hi")
    shown = repr(reply) + repr(reply.request) + str(reply.request.metadata) + reply._repr_html_()
    assert SECRET_KEY not in shown and "Signature=" not in shown
    assert json.dumps(reply.raw).find(SECRET_KEY) == -1


# -- structured output: no JSON-schema field in Converse ---------------------------------------


@dataclass
class Invoice:
    vendor: str
    total: float


def test_schema_is_a_forced_tool_for_claude_and_nova_and_comes_back_typed(bedrock) -> None:
    for model in ("amazon.nova-micro-v1:0", "us.anthropic.claude-haiku-5-5"):
        reply = llm.chat("bedrock", "Extract: ACME 12", model=model, schema=Invoice)
        config = bedrock.last_request.json["toolConfig"]
        assert config["toolChoice"] == {"tool": {"name": "Invoice"}}
        assert config["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == [
            "vendor",
            "total",
        ]
        assert isinstance(reply.parsed, Invoice) and reply.tool_calls == ()
        assert json.loads(reply.content) == {"vendor": reply.parsed.vendor, "total": 12.0}
    stream = llm.stream("bedrock", "Extract: ACME 12", schema=Invoice)
    list(stream)
    assert isinstance(stream.response.parsed, Invoice)


def test_a_model_that_refuses_the_tool_gets_the_schema_in_the_prompt(fake_server) -> None:
    server = fake_server("bedrock", flavor="no_tool_choice")
    llm.configure("bedrock", base_url=server.url)
    reply = llm.chat("bedrock", "Extract: ACME 12", schema=Invoice)
    assert isinstance(reply.parsed, Invoice) and len(server.requests) == 2
    first, second = (r.json for r in server.requests)
    assert "toolConfig" in first and "toolConfig" not in second
    assert "It must follow this JSON Schema" in second["system"][0]["text"]
    llm.chat("bedrock", "Extract: ACME 12", schema=Invoice)  # remembered for this server
    assert len(server.requests) == 3 and "toolConfig" not in server.last_request.json


def test_other_families_get_the_prompt_form_and_a_misfit_is_typed(bedrock) -> None:
    stream = llm.stream(
        "bedrock", "Extract: ACME 12", model="amazon.titan-text-lite-v1", schema=Invoice
    )
    partials = [c.partial for c in stream if c.partial is not None]
    assert "toolConfig" not in bedrock.last_request.json
    assert partials[-1] == {"vendor": stream.response.parsed.vendor, "total": 12.0}
    with pytest.raises(ConfigError, match="schema_form='tool'"):
        llm.chat(
            "bedrock", "x", model="amazon.titan-text-lite-v1", schema=Invoice, schema_form="tool"
        )
    bedrock.inject(faults.structured_answer('{"vendor": "ACME"}'))
    with pytest.raises(SchemaValidationError, match="total"):
        llm.chat("bedrock", "Extract: ACME 12", schema=Invoice)
