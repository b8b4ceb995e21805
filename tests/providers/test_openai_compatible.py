"""The OpenAI-compatible presets: base URLs, key variables, quirks, and a custom base_url."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, ConfigError, MissingKeyError, ServerError
from llmpipe_nb.providers import get
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
