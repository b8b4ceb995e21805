"""Azure OpenAI and Perplexity over loopback HTTP: addresses, credentials, content filter,
sources, errors and faults, and the same request as the official SDK sends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentFilteredError,
    MissingKeyError,
    RateLimitError,
    SchemaValidationError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "azure-key-canary-0123456789"


@pytest.fixture(autouse=True)
def no_azure_env(monkeypatch):
    for name in (
        "OPENAI_API_VERSION",
        "AZURE_OPENAI_AD_TOKEN",
        "AZURE_OPENAI_DEPLOYMENT",
        "AZURE_OPENAI_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def azure(fake_server) -> FakeServer:
    server = fake_server("azure", api_key=KEY)
    llm.configure("azure", api_key=KEY, base_url=server.url)
    return server


def test_v1_api_by_default_with_the_api_key_header(azure) -> None:
    reply = llm.chat("azure", "hello there", model="chat")
    sent = azure.last_request
    assert (sent.path, sent.query) == ("/openai/v1/chat/completions", {})
    assert sent.headers["api-key"] == KEY and "authorization" not in sent.headers
    assert sent.json["model"] == "chat"
    assert reply.content == "Echo: hello there" and reply.model == "gpt-4o-mini-2024-07-18"
    assert reply.cost is not None and reply.cost_status == "priced"  # the answering model's price


def test_deployment_urls_with_a_dated_api_version_from_the_environment(azure, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "chat")
    llm.chat("azure", "hi")
    sent = azure.last_request
    assert sent.path == "/openai/deployments/chat/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    embedded = llm.embeddings("azure", ["a"], model="embed")
    assert embedded.embeddings == [echo.vector("a")]
    assert azure.last_request.path == "/openai/deployments/embed/embeddings"
    assert llm.complete("azure", "once", model="instruct").content == "Echo: once"
    models = llm.list_models("azure")
    assert azure.last_request.path == "/openai/models" and "text-embedding-3-small" in [
        m.id for m in models
    ]
    assert llm.validate("azure").ok


def test_stream_skips_the_prompt_filter_chunk(azure) -> None:
    stream = llm.stream("azure", "hello there", model="chat")
    assert [c.content for c in stream if not c.done] == list(echo.pieces("Echo: hello there"))
    assert stream.response.model == "gpt-4o-mini-2024-07-18" and stream.response.cost is not None


def test_entra_id_token_provider_is_asked_at_send_time(fake_server) -> None:
    server = fake_server("azure", api_key="entra-token-canary-0123")
    tokens = iter(["entra-token-canary-0123"] * 2)
    llm.configure("azure", base_url=server.url, extra={"token_provider": lambda: next(tokens)})
    llm.chat("azure", "hi", model="chat")
    assert server.last_request.headers["authorization"] == "Bearer entra-token-canary-0123"
    assert "api-key" not in server.last_request.headers


def test_content_filter_on_prompt_and_answer_names_the_categories(azure) -> None:
    with pytest.raises(ContentFilteredError) as prompt:
        llm.chat("azure", "tell me [filtered]", model="chat")
    assert prompt.value.categories == ("jailbreak",) and prompt.value.status_code == 400
    with pytest.raises(ContentFilteredError, match="hate, violence") as answer:
        llm.chat("azure", "tell me [filtered-answer]", model="chat")
    assert answer.value.categories == ("hate", "violence")
    with pytest.raises(ContentFilteredError) as streamed:
        list(llm.stream("azure", "tell me [filtered-answer]", model="chat"))
    assert streamed.value.categories == ("hate", "violence")


@pytest.mark.parametrize(
    "status, headers, error_class",
    [
        (429, {"retry-after": "6"}, RateLimitError),
        (401, {}, AuthenticationError),
        (500, {}, ServerError),
    ],
)
def test_errors_are_typed(azure, status, headers, error_class) -> None:
    azure.inject(faults.http_error(status, headers=headers))
    with pytest.raises(error_class) as caught:
        llm.chat("azure", "hi", model="chat")
    assert caught.value.request_id == azure.last_request.request_id
    if status == 429:
        assert caught.value.retry_after == 6


def test_unknown_deployment_is_a_bad_request(azure) -> None:
    with pytest.raises(BadRequestError, match=r"DeploymentNotFound|does not exist"):
        llm.chat("azure", "hi", model="nope")


def test_stream_faults(azure) -> None:
    azure.inject(faults.drop_connection(after_chunks=3))
    with pytest.raises(StreamInterruptedError):
        list(llm.stream("azure", "hello there", model="chat"))
    azure.inject(faults.stream_error(after_chunks=3))
    with pytest.raises(ServerError):
        list(llm.stream("azure", "hello there", model="chat"))


@pytest.mark.parametrize(
    "setting, variable",
    [
        ("endpoint", "AZURE_OPENAI_ENDPOINT"),
        ("deployment", "AZURE_OPENAI_DEPLOYMENT"),
        ("key", "AZURE_OPENAI_API_KEY"),
    ],
)
def test_missing_settings_name_the_variable_and_send_nothing(
    fake_server, setting, variable
) -> None:
    server = fake_server("azure")
    settings = {"api_key": KEY, "base_url": server.url, "model": "chat"}
    settings.pop({"endpoint": "base_url", "deployment": "model", "key": "api_key"}[setting])
    error = MissingKeyError if setting == "key" else ConfigError
    with pytest.raises(error, match=variable):
        llm.chat("azure", "hi", **settings)
    assert server.requests == []


def test_a_bad_api_version_is_refused(azure) -> None:
    with pytest.raises(ConfigError, match="api_version"):
        llm.chat("azure", "hi", model="chat", api_version="latest")
    assert azure.requests == []


def test_the_same_request_as_the_openai_sdk(azure) -> None:
    openai = pytest.importorskip("openai")
    client = openai.AzureOpenAI(
        api_key=KEY, azure_endpoint=azure.url, api_version="2024-10-21", max_retries=0
    )
    with client:
        client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}], max_completion_tokens=5
        )
    theirs = azure.last_request
    llm.chat("azure", "hi", model="chat", max_completion_tokens=5, api_version="2024-10-21")
    ours = azure.last_request
    assert (ours.path, ours.query, ours.json) == (theirs.path, theirs.query, theirs.json)
    assert ours.headers["api-key"] == theirs.headers["api-key"]


def test_the_key_never_shows(azure) -> None:
    reply = llm.chat("azure", "hi", model="chat")
    shown = repr(reply) + repr(reply.request) + str(reply.request.metadata) + reply._repr_html_()
    assert KEY not in shown


# -- Perplexity ---------------------------------------------------------------------------------


PPLX = "pplx-canary-0123456789"
SOURCES = {
    "citations": ["https://example.org/a"],
    "search_results": [{"title": "A", "url": "https://example.org/a", "date": "2026-11-30"}],
}


def _answer(text: str) -> dict:
    return {
        "id": "p1",
        "model": "sonar",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
        **SOURCES,
    }


def test_perplexity_keeps_and_shows_its_sources(fake_server) -> None:
    server = fake_server("openai")
    server.inject(faults.reply(_answer("Paris.")))
    reply = llm.chat(
        "perplexity",
        "capital?",
        api_key=PPLX,
        base_url=server.base_url,
        search_recency_filter="week",
    )
    assert server.last_request.path == "/v1/chat/completions"
    assert server.last_request.json["search_recency_filter"] == "week"
    assert server.last_request.json["model"] == "sonar"
    assert reply.raw["search_results"] == SOURCES["search_results"]
    assert "https://example.org/a" in reply._repr_html_() and "https://example.org/a" in str(
        llm.views.response_text(reply)
    )
    assert reply.cost is not None and PPLX not in repr(reply.request)


def test_perplexity_stream_keeps_its_sources(fake_server) -> None:
    server = fake_server("openai")
    stream = llm.stream("perplexity", "hello there", api_key=PPLX, base_url=server.base_url)
    list(stream)
    assert "stream_options" not in server.last_request.json
    assert stream.response.content == "Echo: hello there"


@dataclass
class Invoice:
    vendor: str
    total: float


def test_schema_is_openais_response_format_and_an_old_api_version_gets_the_prompt(azure) -> None:
    reply = llm.chat("azure", "Extract: ACME 12", model="chat", schema=Invoice)
    sent = azure.last_request.json["response_format"]["json_schema"]
    assert sent["name"] == "Invoice" and sent["strict"] is True
    assert reply.parsed == Invoice(vendor=reply.parsed.vendor, total=12.0)
    old = {"model": "chat", "schema": Invoice, "api_version": "2024-06-01"}
    with pytest.raises(SchemaValidationError, match="not JSON"):  # the fake only echoes
        llm.chat("azure", "Extract: ACME 12", **old)
    refused, again = azure.requests[-2:]
    assert refused.json["response_format"]["type"] == "json_schema" and refused.query == {
        "api-version": "2024-06-01"
    }
    assert "response_format" not in again.json
    assert "It must follow this JSON Schema" in again.json["messages"][0]["content"]


def test_perplexity_answers_in_the_schema_and_keeps_its_sources(fake_server) -> None:
    server = fake_server("openai")
    server.inject(faults.reply(_answer('{"vendor": "ACME", "total": 12}')))
    reply = llm.chat("perplexity", "x", schema=Invoice, api_key=PPLX, base_url=server.base_url)
    assert server.last_request.json["response_format"]["json_schema"]["name"] == "Invoice"
    assert reply.parsed == Invoice(vendor="ACME", total=12.0)
    assert "https://example.org/a" in reply._repr_html_()
