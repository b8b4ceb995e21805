"""Every one-call operation has an async twin that gives what the sync call gives."""

from __future__ import annotations

import inspect

import pytest

import llmpipe_nb as llm

KEY = "sk-test-twins-0123456789"
#: the one-call operations and their async twins
TWINS = {
    "chat": "achat",
    "stream": "astream",
    "complete": "acomplete",
    "embeddings": "aembeddings",
    "list_models": "alist_models",
    "validate": "avalidate",
}


def test_every_operation_has_an_exported_async_twin():
    for sync, twin in TWINS.items():
        assert sync in llm.__all__ and twin in llm.__all__
        params = inspect.signature(getattr(llm, sync)).parameters.keys() - {"callback"}
        assert params == inspect.signature(getattr(llm, twin)).parameters.keys()
        assert inspect.iscoroutinefunction(getattr(llm, twin)) or twin == "astream"


@pytest.fixture(params=["openai", "anthropic", "gemini", "ollama"])
def served(request, fake_server):
    server = fake_server(request.param)
    if request.param == "ollama":
        return request.param, {"base_url": server.url}
    return request.param, {"api_key": KEY, "base_url": server.base_url}


async def test_alist_models_lists_what_list_models_lists(served):
    provider, options = served
    models = await llm.alist_models(provider, **options)
    assert models and models == llm.list_models(provider, **options)


async def test_avalidate_accepts_a_working_configuration(served):
    provider, options = served
    result = await llm.avalidate(provider, **options)
    assert result == llm.validate(provider, **options) and result.ok and result.models


async def test_avalidate_reports_a_refused_key_without_raising(fake_server):
    server = fake_server("openai", api_key="sk-the-right-key-0123")
    result = await llm.avalidate("openai", api_key=KEY, base_url=server.base_url)
    assert not result.ok and result.provider == "openai" and "401" in result.message
    assert KEY not in result.message


async def test_avalidate_reports_a_missing_key_and_sends_nothing(openai_server):
    result = await llm.avalidate("openai", base_url=openai_server.base_url)
    assert not result.ok and "OPENAI_API_KEY" in result.message
    assert openai_server.requests == []


async def test_acomplete_completes_over_http(openai_server):
    options = {"api_key": KEY, "base_url": openai_server.base_url, "model": "my-completer"}
    answer = await llm.acomplete("openai", "Once upon a time", **options)
    assert answer.content == llm.complete("openai", "Once upon a time", **options).content
    assert openai_server.last_request.path.endswith("/completions")
    assert answer.request.kind == "completion" and answer.latency_ms > 0


async def test_acomplete_refuses_a_provider_without_completions(anthropic_server):
    with pytest.raises(llm.ConfigError, match="does not support 'completion'"):
        await llm.acomplete("anthropic", "x", api_key=KEY, base_url=anthropic_server.base_url)
    assert anthropic_server.requests == []


async def test_the_mock_twins_answer_like_the_sync_calls():
    assert await llm.alist_models() == llm.list_models()
    assert (await llm.avalidate("mock")).ok
    assert (await llm.acomplete("mock", "Once")).content == llm.complete("mock", "Once").content
    vectors = await llm.aembeddings("mock", ["a", "b"])
    assert vectors.embeddings == llm.embeddings("mock", ["a", "b"]).embeddings
