"""The GenAI convention names read off a request, without an SDK: providers, options, servers."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.observability.conventions import (
    metric_attributes,
    provider_name,
    request_attributes,
    span_name,
)


def request(provider="openai", base_url=None, kind="chat", **options):
    req = llm.Request.new(provider, "hi" if kind != "list_models" else (), options, kind=kind)
    return req.evolve(config=llm.ProviderConfig(provider, base_url=base_url))


@pytest.mark.parametrize(
    ("provider", "base_url", "name"),
    [
        ("openai", None, "openai"),
        ("gemini", "https://generativelanguage.googleapis.com/v1beta", "gcp.gemini"),
        ("gemini", "https://us-central1-aiplatform.googleapis.com/v1/projects/p", "gcp.vertex_ai"),
        ("mistral", None, "mistral_ai"),
        ("xai", None, "x_ai"),
        ("ollama", None, "ollama"),
        ("mock", None, "mock"),
    ],
)
def test_provider_names_follow_the_conventions(provider, base_url, name):
    assert provider_name(request(provider, base_url)) == name


def test_span_names():
    assert span_name(request(model="gpt-x")) == "chat gpt-x"
    assert span_name(request()) == "chat"
    assert span_name(request(kind="completion", model="m")) == "text_completion m"
    assert span_name(request(kind="list_models")) == "list_models openai"


def test_options_become_request_attributes_of_the_right_types():
    attrs = request_attributes(
        request(model="m", max_tokens=9, temperature=0, top_p=0.5, stop="END", seed=True)
    )
    assert attrs["gen_ai.request.max_tokens"] == 9
    assert attrs["gen_ai.request.temperature"] == 0
    assert attrs["gen_ai.request.top_p"] == 0.5
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert "gen_ai.request.seed" not in attrs  # a bool is not a seed


@pytest.mark.parametrize(
    ("base_url", "address", "port"),
    [
        ("https://api.openai.com/v1", "api.openai.com", 443),
        ("http://127.0.0.1:11434", "127.0.0.1", 11434),
        ("http://[::1]:8080/v1", "::1", 8080),
        ("http://host:notaport/v1", None, None),
        (None, None, None),
    ],
)
def test_the_server_comes_from_the_base_url(base_url, address, port):
    attrs = request_attributes(request(base_url=base_url))
    assert attrs.get("server.address") == address
    assert attrs.get("server.port") == port


def test_metric_points_carry_only_the_low_cardinality_attributes():
    attrs = request_attributes(request(base_url="https://api.openai.com/v1", model="m"))
    assert metric_attributes(attrs) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "m",
        "server.address": "api.openai.com",
        "server.port": 443,
    }
