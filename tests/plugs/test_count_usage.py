"""CountUsage: a server that leaves its token counts out never records 0 tokens or $0."""

from __future__ import annotations

import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.testing import FakeServer, faults
from llmpipe_nb.tokenizers import forget_routes
from llmpipe_nb.views.response import response_footer

KEY = "sk-test-0000000000000000"

#: provider -> (fake server, its options)
CASES = {
    "openai": ("openai", {"model": "gpt-6-luna"}),
    "anthropic": ("anthropic", {"model": "claude-sonnet-4-6"}),
    "gemini": ("gemini", {"model": "gemini-3.5-flash-lite"}),
    "ollama": ("ollama", {"model": "llama3.2"}),
}


@pytest.fixture(autouse=True)
def fresh():
    close_transports()
    forget_routes()
    yield
    close_transports()
    forget_routes()


def _options(provider: str, server: FakeServer, **extra):
    options = CASES[provider][1]
    base = server.url if provider == "ollama" else server.base_url
    key = {} if provider == "ollama" else {"api_key": KEY}
    return {"base_url": base, **key, **options, **extra}


@pytest.mark.parametrize("provider", sorted(CASES))
@pytest.mark.parametrize("kind", ["chat", "stream"])
def test_missing_usage_is_counted_and_marked_estimated(fake_server, provider, kind) -> None:
    server = fake_server(CASES[provider][0])
    server.inject(faults.no_usage())
    options = _options(provider, server)
    prompt = "Count the tokens of this prompt, please"
    if kind == "chat":
        reply = llm.chat(provider, prompt, **options)
    else:
        stream = llm.stream(provider, prompt, **options)
        text = stream.text()
        reply = stream.response
        assert text == reply.content
    usage = reply.usage
    assert usage.estimated
    assert usage.input_tokens >= len(prompt) // 4
    assert usage.output_tokens > 0
    done = reply.request
    assert "CountUsage" in [s.plug for s in done.trace]
    assert done.metadata["usage_counted_by"] == "estimate"
    row = llm.costs().iloc[-1]
    assert row.request_id == done.id
    assert bool(row.estimated)
    assert row.input_tokens == usage.input_tokens
    assert row.output_tokens == usage.output_tokens
    assert reply.cost_status in ("estimated", "unpriced", "local")
    assert "tokens ≈ " in response_footer(reply)


@pytest.mark.parametrize("provider", sorted(CASES))
def test_usage_the_server_sent_is_kept_exact(fake_server, provider) -> None:
    server = fake_server(CASES[provider][0])
    reply = llm.chat(provider, "Count the tokens", **_options(provider, server))
    assert not reply.usage.estimated
    assert "usage_counted_by" not in reply.request.metadata
    assert not bool(llm.costs().iloc[-1].estimated)
    assert "≈" not in response_footer(reply)


def test_an_estimated_openai_price_says_so(openai_server) -> None:
    openai_server.inject(faults.no_usage())
    reply = llm.chat("openai", "Price me", **_options("openai", openai_server))
    assert reply.cost is not None and reply.cost > 0
    assert reply.cost_status == "estimated"
    assert llm.costs().iloc[-1].cost_status == "estimated"
    assert "(estimated)" in response_footer(reply)


def test_embeddings_without_usage_are_counted(openai_server) -> None:
    openai_server.inject(faults.no_usage())
    result = llm.embeddings(
        "openai", ["one two three", "four"], **_options("openai", openai_server)
    )
    assert result.usage.estimated and result.usage.input_tokens > 0
    assert result.usage.output_tokens == 0


def test_the_server_tokenizer_counts_when_it_has_one(fake_server) -> None:
    server = fake_server("openai", flavor="llamacpp")
    server.inject(faults.no_usage())
    options = {"base_url": server.base_url, "model": "smol"}
    reply = llm.stream("llamacpp", "alpha beta gamma", **options)
    reply.text()
    done = reply.request
    assert done.metadata["usage_counted_by"] == "server"
    paths = [r.path for r in server.requests]
    assert paths[0] == "/v1/chat/completions"
    assert paths[1:] == ["/tokenize", "/tokenize"]  # the prompt, then the answer
    assert done.result.usage.estimated
    server.inject(faults.no_usage())
    again = llm.achat("llamacpp", "alpha beta", **options)
    assert asyncio.run(again).request.metadata["usage_counted_by"] == "server"
    assert [r.path for r in server.requests][-2:] == ["/tokenize", "/tokenize"]


def test_a_server_without_a_tokenizer_is_asked_once(fake_server) -> None:
    server = fake_server("openai", flavor="vllm")
    server.inject(faults.no_usage())
    options = {"base_url": server.base_url, "model": "m"}
    first = llm.chat("vllm", "alpha beta gamma", **options)
    assert first.request.metadata["usage_counted_by"] == "estimate"
    probes = [r.path for r in server.requests if r.path != "/v1/chat/completions"]
    assert probes == ["/tokenize", "/extras/tokenize"]
    server.inject(faults.no_usage())
    llm.chat("vllm", "alpha beta gamma", **options)
    assert len(server.requests) == 4  # the second answer is counted without asking again


def test_tiktoken_counts_openai_models_when_installed(openai_server, monkeypatch) -> None:
    class Encoding:
        def encode(self, text, disallowed_special=()):
            return text.split()

    class Tiktoken:
        @staticmethod
        def encoding_for_model(model):
            return Encoding()

    monkeypatch.setitem(__import__("sys").modules, "tiktoken", Tiktoken)
    monkeypatch.setattr("llmpipe_nb.tokenizers._encodings", {})
    openai_server.inject(faults.no_usage())
    reply = llm.chat("openai", "one two three", **_options("openai", openai_server))
    assert reply.request.metadata["usage_counted_by"] == "tiktoken"
    assert reply.usage.input_tokens == 3 + 4  # three words and one message's overhead
