"""The span tree, names and GenAI attributes of each kind of request, against the loopback servers."""

from __future__ import annotations

import asyncio
import itertools
import json
from urllib.parse import urlsplit

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer, faults

KEY = "sk-test-0123456789abcdef"

PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "ollama": "ollama",
}


def conn(server: FakeServer, **options):
    base = server.url if server.provider == "ollama" else server.base_url
    return {"api_key": KEY, "base_url": base, **options}


def retry(sleeps):
    return {"sleep": sleeps.append, "jitter": 0.0}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_chat_is_a_client_span_with_a_child_per_plug(otel, fake_server, provider):
    server = fake_server(provider)
    gen_ai_name, model = PROVIDERS[provider], llm.providers.get(provider).default_model
    reply = llm.chat(provider, "Hello", max_tokens=50, **conn(server))

    span = otel.request()
    assert span.name == f"chat {model}"
    assert span.kind == SpanKind.CLIENT
    assert span.parent is None
    assert span.status.status_code == StatusCode.UNSET
    attrs = dict(span.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == gen_ai_name
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.model"] == reply.model
    if reply.id:
        assert attrs["gen_ai.response.id"] == reply.id
    assert attrs["gen_ai.response.finish_reasons"] == (reply.finish_reason,)
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.input_tokens > 0
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.output_tokens > 0
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == urlsplit(server.url).port
    assert attrs["llmpipe.request.id"] == reply.request.id
    assert attrs["llmpipe.cache_hit"] is False
    assert "error.type" not in attrs
    assert "gen_ai.input.messages" not in attrs  # content only when asked for

    children = otel.children(span)
    assert [c.name for c in children] == [s.plug for s in reply.request.trace]
    assert all(c.kind == SpanKind.INTERNAL for c in children)
    assert all(span.start_time <= c.start_time <= c.end_time <= span.end_time for c in children)
    for child, step in zip(children, reply.request.trace, strict=True):
        assert child.end_time - child.start_time == step.duration_ns
        assert child.attributes["llmpipe.plug.outcome"] == "ok"
    execute = next(c for c in children if c.name == "ExecuteRequest")
    (attempt,) = otel.children(execute)
    assert attempt.name == "attempt 1" and attempt.kind == SpanKind.CLIENT
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["http.request.method"] in ("POST", "GET")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_stream_span_ends_with_the_stream_and_records_the_first_token(
    otel, fake_server, provider
):
    server = fake_server(provider)
    model = llm.providers.get(provider).default_model
    stream = llm.stream(provider, "Hello there", **conn(server))
    chunks = iter(stream)
    next(chunks)
    assert otel.requests() == []  # the request is still going
    text = "".join(c.content for c in chunks)
    assert text

    span = otel.request()
    attrs = dict(span.attributes)
    assert span.name == f"chat {model}"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.output_tokens"] > 0
    (event,) = [e for e in span.events if e.name == "first_token"]
    assert 0 < event.attributes["gen_ai.response.time_to_first_chunk"] < 10
    assert span.start_time <= event.timestamp <= span.end_time
    (ttft,) = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttft.count == 1


def test_a_stream_closed_early_ends_its_span_cancelled_not_failed(otel):
    llm.providers.get("mock").configure(chunk_size=2)
    stream = llm.stream("mock", "a question long enough to stream in many small chunks")
    for i, _ in enumerate(stream):
        if i == 2:
            break
    assert otel.requests() == []
    del stream  # the consumer walked away: the generator closes

    span = otel.request()
    assert span.attributes["llmpipe.state"] == "cancelled"
    assert span.attributes["llmpipe.halt_reason"] == "the stream was closed before its end"
    assert span.status.status_code == StatusCode.UNSET
    last = otel.children(span)[-1]
    assert last.name == "ExecuteRequest"
    assert last.attributes["llmpipe.plug.outcome"] == "halted"


@pytest.mark.parametrize("provider", ["openai", "gemini", "ollama"])
def test_embeddings_are_an_embeddings_span(otel, fake_server, provider):
    server = fake_server(provider)
    vectors = llm.embeddings(provider, ["a", "b"], **conn(server))

    span = otel.request()
    assert span.name == f"embeddings {vectors.request.model}"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == len(vectors.embeddings[0])
    assert span.attributes["gen_ai.response.model"] == vectors.model


def test_model_listing_and_key_checks_are_named_after_the_provider(otel, openai_server):
    llm.list_models("openai", **conn(openai_server))
    llm.validate("openai", **conn(openai_server))
    names = [s.name for s in otel.requests()]
    assert names == ["list_models openai", "validate openai"]
    assert [s.attributes["gen_ai.operation.name"] for s in otel.requests()] == [
        "list_models",
        "validate",
    ]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_failed_request_is_an_error_span_naming_the_error_type(otel, fake_server, provider):
    server = fake_server(provider)
    server.inject(faults.http_error(400))
    with pytest.raises(llm.BadRequestError):
        llm.chat(provider, "Hello", **conn(server))

    span = otel.request()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "BadRequestError"
    assert span.attributes["llmpipe.state"] == "error"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "BadRequestError"
    execute = next(c for c in otel.children(span) if c.name == "ExecuteRequest")
    assert execute.status.status_code == StatusCode.ERROR
    assert execute.attributes["error.type"] == "BadRequestError"
    (attempt,) = otel.children(execute)
    assert attempt.attributes["http.response.status_code"] == 400
    assert attempt.attributes["error.type"] == "BadRequestError"
    (point,) = otel.points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "BadRequestError"


def test_a_request_refused_before_sending_is_an_error_span_too(otel):
    with pytest.raises(llm.MissingKeyError):
        llm.chat("openai", "Hello")
    span = otel.request()
    assert span.attributes["error.type"] == "MissingKeyError"
    assert otel.children(span)[-1].name == "FetchConfig"


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_retry_is_a_child_of_the_execute_step(otel, fake_server, provider):
    server = fake_server(provider)
    server.inject(faults.http_error(503), times=2)
    sleeps: list[float] = []
    reply = (
        llm.build(provider, "Hello")
        .with_options(**conn(server))
        .with_retry(max_attempts=3, base_delay=0.0, **retry(sleeps))
        .execute()
    )
    assert reply.content

    span = otel.request()
    assert span.attributes["llmpipe.attempts"] == 3
    assert span.status.status_code == StatusCode.UNSET
    execute = next(c for c in otel.children(span) if c.name == "ExecuteRequest")
    attempts = otel.children(execute)
    assert [a.name for a in attempts] == ["attempt 1", "attempt 2", "attempt 3"]
    assert [a.attributes["http.response.status_code"] for a in attempts] == [503, 503, 200]
    assert [a.attributes.get("error.type") for a in attempts] == ["ServerError"] * 2 + [None]
    assert [a.status.status_code for a in attempts] == [StatusCode.ERROR] * 2 + [StatusCode.UNSET]
    for before, after in itertools.pairwise(attempts):
        assert before.end_time <= after.start_time
    assert all(
        execute.start_time <= a.start_time <= a.end_time <= execute.end_time for a in attempts
    )


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_cache_hit_halts_at_the_cache_and_counts_no_tokens(otel, fake_server, provider):
    server = fake_server(provider)
    llm.chat(provider, "Hello", cache=True, **conn(server))
    llm.chat(provider, "Hello", cache=True, **conn(server))

    miss, hit = otel.requests()
    assert miss.attributes["llmpipe.cache_hit"] is False
    assert [c.name for c in otel.children(miss)][-1] == "CacheWrite"
    assert hit.attributes["llmpipe.cache_hit"] is True
    assert hit.attributes["llmpipe.halt_reason"] == "cache hit"
    assert "gen_ai.usage.input_tokens" not in hit.attributes
    cache = otel.children(hit)[-1]
    assert cache.name == "Cache"
    assert cache.attributes["llmpipe.plug.outcome"] == "halted"
    assert cache.attributes["llmpipe.halt_reason"] == "cache hit"
    tokens = otel.points("gen_ai.client.token.usage")
    assert sorted(p.count for p in tokens) == [1, 1]  # the miss only: input and output


def test_a_budget_stop_is_a_halted_span(otel):
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=1.0)
    request = llm.build("mock", "Hello").with_budget(limit=0.0, on_exceed="halt").run()
    assert request.state == "halted"
    span = otel.request()
    assert span.attributes["llmpipe.state"] == "halted"
    assert "budget" in span.attributes["llmpipe.halt_reason"]
    assert otel.children(span)[-1].name == "Budget"


def test_metrics_follow_the_conventions(otel, openai_server):
    llm.set_price("gpt-6-luna", input_per_mtok=1.0, output_per_mtok=2.0)
    reply = llm.chat(
        "openai", "Hello", temperature=0.5, reasoning_effort="none", **conn(openai_server)
    )
    assert otel.request().attributes["gen_ai.request.temperature"] == 0.5
    llm.chat("openai", "Hello again", **conn(openai_server))

    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 2
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-6-luna",
        "gen_ai.response.model": reply.model,
        "server.address": "127.0.0.1",
        "server.port": urlsplit(openai_server.url).port,
    }
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in otel.points("gen_ai.client.token.usage")
    }
    assert tokens["input"].count == 2 and tokens["output"].count == 2
    assert tokens["input"].sum >= reply.usage.input_tokens
    (cost,) = otel.points("llmpipe.client.cost")
    assert cost.value == pytest.approx(llm.ledger().spent()) and cost.value > 0


def test_an_async_request_is_traced_like_a_sync_one(otel, openai_server):
    async def ask():
        return await llm.achat("openai", "Hello", **conn(openai_server))

    reply = asyncio.run(ask())
    span = otel.request()
    assert span.attributes["llmpipe.request.id"] == reply.request.id
    assert [c.name for c in otel.children(span)] == [s.plug for s in reply.request.trace]


def test_tags_and_the_batch_id_are_attributes(otel):
    with llm.tag("experiment-3"):
        llm.chat("mock", "Hello")
    assert otel.request().attributes["llmpipe.tags"] == ("experiment-3",)

    out = llm.map(["a", "b"], "About {}", provider="mock", progress=False)
    batch = [s for s in otel.requests() if "llmpipe.batch_id" in s.attributes]
    assert len(batch) == 2
    assert {s.attributes["llmpipe.batch_id"] for s in batch} == {out.attrs["batch_id"]}


def test_content_is_exported_only_when_asked_for(otel, monkeypatch):
    llm.chat(
        "mock", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert "gen_ai.input.messages" not in otel.requests()[-1].attributes

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    llm.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    reply = llm.chat("mock", "Hi")
    attrs = otel.requests()[-1].attributes
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": reply.content}],
            "finish_reason": reply.finish_reason,
        }
    ]


def test_an_async_stream_records_its_first_token_too(otel):
    async def consume():
        return "".join([c.content async for c in llm.astream("mock", "Hello there")])

    assert asyncio.run(consume())
    span = otel.request()
    assert span.attributes["gen_ai.request.stream"] is True
    assert [e.name for e in span.events] == ["first_token"]
