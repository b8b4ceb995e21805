"""The OpenAI-compatible presets: base URLs, key variables, quirks, and a custom base_url."""

from __future__ import annotations

import json
import warnings

import httpx2
import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, ConfigError, MissingKeyError, ServerError
from llmpipe_nb.providers import get, openai_compatible
from llmpipe_nb.structured import example_of
from llmpipe_nb.testing import FakeServer, faults

KEY = "sk-test-canary-0123456789"

PRESETS = {
    "groq": ("GROQ_API_KEY", "https://api.groq.com/openai/v1"),
    "mistral": ("MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
    "openrouter": ("OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    "xai": ("XAI_API_KEY", "https://api.x.ai/v1"),
    "deepseek": ("DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"),
    "together": ("TOGETHER_API_KEY", "https://api.together.xyz/v1"),
    "lmstudio": ("LMSTUDIO_API_KEY", "http://127.0.0.1:1234/v1"),
    "vllm": ("VLLM_API_KEY", "http://127.0.0.1:8000/v1"),
    "llamacpp": ("LLAMACPP_API_KEY", "http://127.0.0.1:8080/v1"),
    "openai_compatible": ("OPENAI_COMPATIBLE_API_KEY", None),
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_defaults(name) -> None:
    provider = get(name)
    key_env, base_url = PRESETS[name]
    assert provider.key_env == (key_env,) and provider.default_base_url == base_url
    assert provider.base_url_env == f"{name.upper()}_BASE_URL"


@pytest.mark.filterwarnings("ignore:No price known")  # the generic preset cannot know prices
@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_reaches_its_server_from_environment(
    name, openai_server: FakeServer, monkeypatch
) -> None:
    key_env, _ = PRESETS[name]
    monkeypatch.setenv(key_env, KEY)
    monkeypatch.setenv(f"{name.upper()}_BASE_URL", openai_server.base_url)
    model = get(name).default_model or "served-model"
    reply = llm.chat(name, "hello", model=model)
    assert reply.content == "Echo: hello" and reply.provider == name
    recorded = openai_server.last_request
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    stream = llm.stream(name, "hello", model=model)
    assert stream.text() == "Echo: hello"


@pytest.mark.parametrize("name", ["groq", "mistral", "openrouter", "xai", "deepseek", "together"])
def test_hosted_presets_need_their_key(name) -> None:
    with pytest.raises(MissingKeyError, match=PRESETS[name][0]):
        llm.chat(name, "hi")


@pytest.mark.parametrize("name", ["lmstudio", "vllm", "llamacpp"])
def test_local_presets_need_no_key_and_cost_nothing(name, openai_server: FakeServer) -> None:
    reply = llm.chat(name, "hi", model="local", base_url=openai_server.base_url)
    assert "authorization" not in openai_server.last_request.headers
    assert reply.cost == 0.0 and reply.cost_status == "local"


def test_local_presets_without_a_model_say_so(openai_server: FakeServer) -> None:
    with pytest.raises(ConfigError, match="pass model="):
        llm.chat("vllm", "hi", base_url=openai_server.base_url)
    assert openai_server.requests == []


def test_llamacpp_needs_no_model(fake_server) -> None:
    # llama.cpp's servers answer with the model they were started with, whatever the name
    server = fake_server("openai", flavor="llamacpp")
    reply = llm.chat("llamacpp", "hi", base_url=server.base_url)
    assert reply.content == "Echo: hi" and reply.model == "local-model"
    assert server.last_request.json["model"] == "local-model"
    assert llm.stream("llamacpp", "hi", base_url=server.base_url).text() == "Echo: hi"
    assert llm.complete("llamacpp", "hi", base_url=server.base_url).usage.output_tokens > 0
    assert len(llm.embeddings("llamacpp", ["a", "b"], base_url=server.base_url).embeddings) == 2
    assert [r.json["model"] for r in server.requests] == ["local-model"] * 4
    reply = llm.chat("llamacpp", "hi", base_url=server.base_url, model="smollm2")
    assert server.last_request.json["model"] == "smollm2" == reply.model


@pytest.mark.filterwarnings("ignore:No price known")
def test_generic_preset_takes_any_base_url(openai_server: FakeServer) -> None:
    reply = llm.chat(
        "openai_compatible", "hi", model="m", base_url=openai_server.base_url, api_key=KEY
    )
    assert reply.content == "Echo: hi"
    with pytest.raises(ConfigError, match="No base_url for provider 'openai_compatible'"):
        llm.chat("openai_compatible", "hi", model="m")


def test_compatible_wire_uses_max_tokens_and_system(openai_server: FakeServer) -> None:
    messages = [{"role": "developer", "content": "S"}, {"role": "user", "content": "hi"}]
    llm.chat(
        "together", messages, max_completion_tokens=7, base_url=openai_server.base_url, api_key=KEY
    )
    body = openai_server.last_request.json
    assert body["max_tokens"] == 7 and "max_completion_tokens" not in body
    assert body["messages"][0]["role"] == "system"


def test_mistral_renames_seed_and_sends_no_stream_options(openai_server: FakeServer) -> None:
    llm.stream("mistral", "hi", seed=5, base_url=openai_server.base_url, api_key=KEY).text()
    body = openai_server.last_request.json
    assert body["random_seed"] == 5 and "seed" not in body and "stream_options" not in body


def test_openrouter_keepalive_comments_and_integer_codes(fake_server) -> None:
    server = fake_server("openai", flavor="openrouter")
    connection = {"base_url": server.base_url, "api_key": KEY}
    assert llm.stream("openrouter", "one two three", **connection).text() == "Echo: one two three"
    server.inject(
        faults.http_error(402, body={"error": {"code": 402, "message": "Insufficient credits"}})
    )
    with pytest.raises(BadRequestError, match="Insufficient credits") as caught:
        llm.chat("openrouter", "x", **connection)
    assert caught.value.status_code == 402


def test_groq_usage_from_x_groq(fake_server) -> None:
    server = fake_server("openai", flavor="groq")
    stream = llm.stream("groq", "hello there", base_url=server.base_url, api_key=KEY)
    stream.text()
    assert stream.response.usage.output_tokens == 3


@pytest.mark.parametrize(
    "body",
    [
        {
            "error": {
                "message": "bad sampling",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        },
        {
            "object": "error",
            "message": "bad sampling",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
    ],
    ids=["nested", "flat-before-0.10.1"],
)
def test_vllm_error_bodies(fake_server, body) -> None:
    server = fake_server("openai", flavor="vllm")
    server.inject(faults.http_error(400, body=body))
    with pytest.raises(BadRequestError, match="bad sampling") as caught:
        llm.chat("vllm", "x", model="m", base_url=server.base_url)
    assert caught.value.error_type == "BadRequestError"


def test_llamacpp_loading_is_a_retryable_server_error(fake_server) -> None:
    server = fake_server("openai", flavor="llamacpp")
    server.inject(
        faults.http_error(
            503,
            body={"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
        )
    )
    with pytest.raises(ServerError, match="Loading model") as caught:
        llm.chat("llamacpp", "x", model="m", base_url=server.base_url)
    assert caught.value.retryable and caught.value.error_type == "unavailable_error"
    assert llm.chat("llamacpp", "x", model="m", base_url=server.base_url).content == "Echo: x"


def test_presets_offer_only_what_their_servers_have() -> None:
    with pytest.raises(ConfigError, match="does not support 'embeddings'"):
        llm.embeddings("groq", ["x"], api_key=KEY)
    assert "completion" in get("vllm").kinds and "completion" not in get("mistral").kinds


# -- December 2026: output caps, vLLM's structured_outputs, LM Studio's JSON -------------

CAP_FIELDS = {
    "groq": "max_completion_tokens",
    "xai": "max_completion_tokens",
    "vllm": "max_completion_tokens",
    "mistral": "max_tokens",
    "openrouter": "max_tokens",
    "deepseek": "max_tokens",
    "together": "max_tokens",
    "lmstudio": "max_tokens",
    "llamacpp": "max_tokens",
    "openai_compatible": "max_tokens",
}
STRUCTURED = {"type": "object", "properties": {"sentiment": {"type": "string"}}}


@pytest.fixture
def fresh_warnings(monkeypatch) -> None:
    monkeypatch.setattr(openai_compatible, "_warned", set())


@pytest.mark.filterwarnings("ignore:No price known")
@pytest.mark.parametrize("name", list(CAP_FIELDS))
def test_each_preset_sends_the_output_cap_its_server_takes(name, openai_server: FakeServer) -> None:
    field = CAP_FIELDS[name]
    other = "max_tokens" if field == "max_completion_tokens" else "max_completion_tokens"
    llm.chat(name, "hi", model="m", max_tokens=7, base_url=openai_server.base_url, api_key=KEY)
    body = openai_server.last_request.json
    assert body[field] == 7 and other not in body


@pytest.mark.filterwarnings("ignore:No price known")
def test_presets_leave_openai_model_rules_to_their_server(fake_server) -> None:
    """An OpenAI model id on a compatible server is not judged by OpenAI's table."""
    server = fake_server("openai", flavor="openrouter")
    llm.chat("openrouter", "hi", model="gpt-6-astra", temperature=0.2, n=1, **_at(server))
    body = server.last_request.json
    assert (body["temperature"], body["n"]) == (0.2, 1) and "reasoning_effort" not in body


def _at(server: FakeServer) -> dict:
    return {"base_url": server.base_url, "api_key": KEY}


def test_vllm_ignores_guided_fields_and_honours_structured_outputs(fake_server) -> None:
    """The fake does what vLLM 0.12 does, so the tests below can fail."""
    server = fake_server("openai", flavor="vllm")
    body = {"model": "m", "messages": [{"role": "user", "content": "great product"}]}
    url = server.base_url + "/chat/completions"
    ignored = httpx2.post(url, json=body | {"guided_json": STRUCTURED}).json()
    assert ignored["choices"][0]["message"]["content"] == "Echo: great product"
    honoured = httpx2.post(url, json=body | {"structured_outputs": {"json": STRUCTURED}}).json()
    answer = json.loads(honoured["choices"][0]["message"]["content"])
    assert answer == example_of(STRUCTURED, "great product") and set(answer) == {"sentiment"}


def test_vllm_gets_structured_outputs_for_a_json_schema(fake_server) -> None:
    server = fake_server("openai", flavor="vllm")
    response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": STRUCTURED}}
    reply = llm.chat("vllm", "great", model="m", response_format=response_format, **_at(server))
    assert json.loads(reply.content) == {"sentiment": "great"}  # the prompt's only word
    body = server.last_request.json
    assert body["structured_outputs"] == {"json": STRUCTURED}
    assert body["response_format"] == response_format  # servers before 0.12 read this


@pytest.mark.parametrize("where", ["option", "extra_body"])
def test_vllm_guided_fields_become_structured_outputs_once_warned(
    fake_server, fresh_warnings, where
) -> None:
    server = fake_server("openai", flavor="vllm")
    guided = {"guided_choice": ["positive", "negative"]}
    given = guided if where == "option" else {"extra_body": guided}
    with pytest.warns(UserWarning, match=r"vLLM 0.12 and later ignore guided_choice: it is sent"):
        reply = llm.chat("vllm", "great", model="m", **given, **_at(server))
    assert reply.content == "positive"
    body = server.last_request.json
    assert body["structured_outputs"] == {"choice": ["positive", "negative"]}
    assert "guided_choice" not in body
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm.chat("vllm", "great", model="m", **given, **_at(server))
    assert [w for w in caught if "guided_choice" in str(w.message)] == []


def test_vllm_structured_outputs_option_and_its_failures(fake_server, fresh_warnings) -> None:
    server = fake_server("openai", flavor="vllm")
    reply = llm.chat(
        "vllm", "x", model="m", structured_outputs={"choice": ["a", "b"]}, **_at(server)
    )
    assert reply.content == "a" and server.last_request.json["structured_outputs"] == {
        "choice": ["a", "b"]
    }
    sent = len(server.requests)
    with pytest.raises(ConfigError, match="vLLM takes one structured-output constraint"):
        llm.chat(
            "vllm",
            "x",
            model="m",
            guided_regex="a+",
            structured_outputs={"json": {}},
            **_at(server),
        )
    assert len(server.requests) == sent
    with pytest.warns(UserWarning, match="guided_decoding_backend: it is not sent"):
        llm.chat(
            "vllm",
            "x",
            model="m",
            extra_body={"guided_decoding_backend": "xgrammar"},
            **_at(server),
        )
    assert "guided_decoding_backend" not in server.last_request.json


def test_lmstudio_asks_for_a_json_schema_where_json_object_was_asked(fake_server) -> None:
    server = fake_server("openai", flavor="lmstudio")
    reply = llm.chat(
        "lmstudio", "hi", model="m", response_format={"type": "json_object"}, **_at(server)
    )
    assert server.last_request.json["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}},
    }
    assert json.loads(reply.content) == {"echo": "hi"}


def test_lmstudio_flat_string_error_is_a_readable_bad_request(fake_server) -> None:
    """A client that sends json_object (the generic preset does) gets LM Studio's 400."""
    server = fake_server("openai", flavor="lmstudio")
    with pytest.raises(BadRequestError) as caught:
        llm.chat(
            "openai_compatible",
            "hi",
            model="m",
            response_format={"type": "json_object"},
            base_url=server.base_url,
        )
    error = caught.value
    assert error.status_code == 400 and error.provider == "openai_compatible"
    assert error.message == "'response_format.type' must be 'json_schema' or 'text'"
    assert error.body == {"error": "'response_format.type' must be 'json_schema' or 'text'"}
