"""Vertex AI over loopback HTTP: both publishers, OAuth2, project and location, embeddings,
errors and faults, and the same Claude request as the anthropic SDK's AnthropicVertex."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest

import llmpipe_nb as llm
from llmpipe_nb import providers
from llmpipe_nb.errors import ConfigError, RateLimitError, ServerError, StreamInterruptedError
from llmpipe_nb.providers.vertex import host
from llmpipe_nb.testing import FakeServer, echo, faults

TOKEN = "ya29.vertex-canary-0123456789"
ROOT = "/v1/projects/proj-1/locations/us-east5/publishers"


@pytest.fixture(autouse=True)
def no_cloud_env(monkeypatch):
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "CLOUD_ML_REGION",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def oauth(monkeypatch):
    """Application default credentials that hand out TOKEN and name project `adc-project`."""

    class Credentials:
        token, valid = None, False

        def refresh(self, request) -> None:
            self.token, self.valid = TOKEN, True

    google, google_auth = types.ModuleType("google"), types.ModuleType("google.auth")
    google_auth.default = lambda scopes: (Credentials(), "adc-project")
    google.auth = google_auth
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.auth", google_auth)
    vertex = providers.get("vertex")
    monkeypatch.setattr(vertex, "_credentials", None)
    monkeypatch.setattr(vertex, "adc_project", None)


@pytest.fixture
def vertex(fake_server, oauth, monkeypatch) -> FakeServer:
    server = fake_server("vertex", api_key=TOKEN)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-1")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-east5")
    llm.configure("vertex", base_url=server.url)
    return server


def test_hosts_by_location() -> None:
    assert host("global") == "https://aiplatform.googleapis.com"
    assert host("us") == "https://aiplatform.us.rep.googleapis.com"
    assert host("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"


def test_gemini_chat_and_stream_with_an_oauth2_token(vertex) -> None:
    reply = llm.chat("vertex", "hello there")
    sent = vertex.last_request
    assert sent.path == f"{ROOT}/google/models/gemini-3.5-flash-lite:generateContent"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert reply.content == "Echo: hello there" and reply.cost is not None
    stream = llm.stream("vertex", "hello there")
    assert "".join(c.content for c in stream) == "Echo: hello there"
    assert vertex.last_request.query == {"alt": "sse"}


def test_claude_goes_to_the_anthropic_publisher_without_model_in_the_body(vertex) -> None:
    reply = llm.chat("vertex", "hello there", model="claude-haiku-5-5", max_tokens=50)
    sent = vertex.last_request
    assert sent.path == f"{ROOT}/anthropic/models/claude-haiku-5-5:rawPredict"
    assert sent.json["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent.json
    assert reply.content == "Echo: hello there" and reply.cost is not None
    stream = llm.stream(
        "vertex", "hello there", model="claude-haiku-5-5", anthropic_version="2026-10-21"
    )
    assert [c.content for c in stream if not c.done] == list(echo.pieces("Echo: hello there"))
    assert vertex.last_request.path.endswith(":streamRawPredict")
    assert vertex.last_request.json["anthropic_version"] == "2026-10-21"


def test_the_same_claude_request_as_anthropic_vertex(vertex) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.AnthropicVertex(
        region="us-east5",
        project_id="proj-1",
        access_token=TOKEN,
        base_url=vertex.url + "/v1",
        max_retries=0,
    )
    with client:
        client.messages.create(
            model="claude-haiku-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    theirs = vertex.last_request
    llm.chat(
        "vertex",
        "hi",
        model="claude-haiku-5-5",
        max_tokens=50,
        anthropic_version=theirs.json["anthropic_version"],
    )
    ours = vertex.last_request
    assert (ours.path, ours.json) == (theirs.path, theirs.json)


def test_options_of_the_other_publisher_are_refused_before_sending(vertex) -> None:
    with pytest.raises(ConfigError, match="thinking_level"):
        llm.chat("vertex", "hi", model="claude-haiku-5-5", thinking_level="low")
    with pytest.raises(ConfigError, match="effort"):
        llm.chat("vertex", "hi", effort="low")
    assert vertex.requests == []


def test_embeddings_by_predict_one_instance_per_call_for_gemini_models(vertex) -> None:
    result = llm.embeddings("vertex", ["a b", "c"], dimensions=4)
    assert result.embeddings == [echo.vector("a b", 4), echo.vector("c", 4)]
    assert [r.json["instances"] for r in vertex.requests] == [
        [{"content": "a b"}],
        [{"content": "c"}],
    ]
    assert result.usage.input_tokens == 3
    batch = llm.embeddings(
        "vertex", ["a", "b"], model="text-embedding-005", task_type="RETRIEVAL_QUERY"
    )
    assert len(batch.embeddings) == 2
    assert vertex.last_request.json["instances"][1] == {
        "content": "b",
        "task_type": "RETRIEVAL_QUERY",
    }


def test_list_models_per_publisher_and_validate(vertex) -> None:
    assert "gemini-3.5-flash-lite" in [m.id for m in llm.list_models("vertex")]
    claude = [m.id for m in llm.list_models("vertex", publisher="anthropic")]
    assert (
        claude[0].startswith("claude")
        and vertex.last_request.path == "/v1beta1/publishers/anthropic/models"
    )
    assert llm.validate("vertex").ok


def test_project_from_the_credentials_and_the_global_location(fake_server, oauth) -> None:
    server = fake_server("vertex", api_key=TOKEN)
    llm.chat("vertex", "hi", base_url=server.url)
    assert server.last_request.path.startswith("/v1/projects/adc-project/locations/global/")


def test_missing_project_names_the_variable_and_sends_nothing(fake_server, monkeypatch) -> None:
    server = fake_server("vertex")
    with pytest.raises(ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        llm.chat("vertex", "hi", base_url=server.url, api_key="express-key-0123456789")
    assert server.requests == []


def test_errors_and_stream_faults_in_each_publishers_format(vertex) -> None:
    vertex.inject(faults.http_error(429))
    with pytest.raises(RateLimitError) as limited:
        llm.chat("vertex", "hi", model="claude-haiku-5-5")
    assert limited.value.retry_after == 1.5
    vertex.inject(faults.stream_error(after_chunks=3))
    with pytest.raises(ServerError, match="Overloaded"):
        list(llm.stream("vertex", "hello there", model="claude-haiku-5-5"))
    vertex.inject(faults.drop_connection(after_chunks=5))
    with pytest.raises(StreamInterruptedError):
        list(llm.stream("vertex", "hello there big world", model="claude-haiku-5-5"))


def test_the_token_never_shows(vertex) -> None:
    reply = llm.chat("vertex", "hi", model="claude-haiku-5-5")
    assert (
        TOKEN
        not in repr(reply) + repr(reply.request) + str(reply.request.metadata) + reply._repr_html_()
    )


@dataclass
class Invoice:
    vendor: str
    total: float


def test_schema_in_each_publishers_own_field(vertex) -> None:
    gemini = llm.chat("vertex", "Extract: ACME 12", schema=Invoice)
    config = vertex.last_request.json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["vendor", "total"]
    claude = llm.stream("vertex", "Extract: ACME 12", model="claude-haiku-5-5", schema=Invoice)
    partials = [c.partial for c in claude if c.partial is not None]
    sent = vertex.last_request.json["output_config"]["format"]
    assert sent["type"] == "json_schema" and sent["schema"]["additionalProperties"] is False
    for reply in (gemini, claude.response):
        assert reply.parsed == Invoice(vendor=reply.parsed.vendor, total=12.0)
    assert partials[-1] == {"vendor": claude.response.parsed.vendor, "total": 12.0}


def test_claude_takes_the_forced_tool_form_and_gemini_refuses_it(vertex) -> None:
    reply = llm.chat(
        "vertex", "Extract: ACME 12", model="claude-haiku-5-5", schema=Invoice, schema_form="tool"
    )
    body = vertex.last_request.json
    assert (
        body["tool_choice"] == {"type": "tool", "name": "Invoice"} and "output_config" not in body
    )
    assert isinstance(reply.parsed, Invoice)
    with pytest.raises(ConfigError, match="schema_form='tool' is not one 'vertex' takes"):
        llm.chat("vertex", "Extract: ACME 12", schema=Invoice, schema_form="tool")
    assert len(vertex.requests) == 1
