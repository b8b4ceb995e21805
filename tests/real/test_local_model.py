"""The `local` provider in-process with SmolLM2: the same pipeline as every provider.

Counts come from the model's tokenizer (never estimated), rows cost $0 with compute time
and tokens per second, streams arrive token by token off the event loop, and a model is
loaded once per settings and closed when it is evicted.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ContextLengthError
from llmpipe_nb.providers.local import models
from llmpipe_nb.views import response_footer

pytestmark = pytest.mark.slow
SHORT = {"max_tokens": 16, "temperature": 0, "seed": 0}


@pytest.fixture(autouse=True)
def _model(gguf):
    """Every test here needs the model file (skips without it)."""
    return gguf


def _row(done):
    rows = llm.costs()
    mine = rows[rows.request_id == done.id]
    assert len(mine) == 1
    return mine.iloc[0]


def test_chat_is_exact_free_and_timed() -> None:
    reply = llm.chat("local", "Name a fruit.", **SHORT)
    assert reply.content and reply.model == "SmolLM2-135M-Instruct.Q4_1"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert not reply.usage.estimated
    assert (reply.cost, reply.cost_status) == (0.0, "local")
    meta = reply.request.metadata
    assert meta["compute_ms"] > 0 and meta["tokens_per_second"] > 0
    row = _row(reply.request)
    assert row.cost_usd == 0.0 and row.tokens_per_s > 0 and row.latency_ms > 0
    assert "≈" not in response_footer(reply)


def test_a_stream_arrives_token_by_token_and_matches_the_answer() -> None:
    stream = llm.stream("local", "Count from one to five.", **{**SHORT, "max_tokens": 24})
    pieces = [chunk.content for chunk in stream]
    reply = stream.response
    assert len(pieces) > 3 and "".join(pieces) == reply.content
    assert reply.usage.output_tokens >= len([p for p in pieces if p]) - 1
    assert reply.usage.input_tokens > 0 and not reply.usage.estimated
    assert stream.request.metadata["ttft_ms"] > 0
    whole = llm.chat("local", "Count from one to five.", **{**SHORT, "max_tokens": 24})
    assert whole.usage == reply.usage  # a stream is counted as exactly as a whole answer


async def test_an_async_stream_leaves_the_event_loop_free() -> None:
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        text = await llm.astream("local", "Tell me about the sea.", **SHORT).atext()
    finally:
        task.cancel()
    assert text and ticks > 3  # the loop kept running while the model generated


def test_closing_a_stream_early_stops_the_generation() -> None:
    stream = llm.stream("local", "Write a long story.", max_tokens=400, temperature=0)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    del stream  # the consumer walked away: the generation stops at its next token
    rows = llm.costs()
    assert rows.iloc[-1].status == "cancelled"
    reply = llm.chat("local", "Hi", **SHORT)  # the model's lock was released
    assert reply.content


def test_embeddings_are_pooled_one_vector_per_input() -> None:
    result = llm.embeddings("local", ["a red apple", "the deep sea", "x"])
    dims = {len(v) for v in result.embeddings}
    assert len(result.embeddings) == 3 and dims == {576}
    assert result.usage.input_tokens > 0 and result.cost_status == "local"
    last = llm.embeddings("local", ["a red apple"], pooling="last")
    assert last.embeddings[0] != result.embeddings[0]


def test_a_json_schema_answer_always_parses() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    reply = llm.chat(
        "local",
        "Invent a person.",
        max_tokens=60,
        temperature=0,
        response_format={"type": "json_object", "schema": schema},
    )
    data = json.loads(reply.content)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


def test_completion_list_models_and_validate() -> None:
    done = llm.complete("local", "The sky is", **SHORT)
    assert done.usage.output_tokens > 0
    listed = llm.list_models("local")
    assert listed[0].id == "SmolLM2-135M-Instruct.Q4_1" and listed[0].context_window == 8192
    check = llm.validate("local")
    assert check.ok and "SmolLM2" in check.message


def test_a_prompt_longer_than_the_context_is_one_sentence() -> None:
    with pytest.raises(ContextLengthError, match="does not fit the model's context of 256 tokens"):
        llm.chat("local", "word " * 400, n_ctx=100, max_tokens=4)  # 100 is padded to 256


def test_the_model_is_loaded_once_for_many_first_requests() -> None:
    models.unload_all()
    results = []

    def ask():
        results.append(llm.chat("local", "Hi", n_ctx=512, **SHORT))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    assert [m.settings.n_ctx for m in models.loaded()].count(512) == 1
    loads = [r.request.metadata.get("model_load_ms") for r in results]
    assert sum(1 for ms in loads if ms) == 1


def test_an_evicted_model_is_closed_without_a_resource_warning() -> None:
    models.unload_all()
    first = llm.chat("local", "Hi", n_ctx=256, **SHORT)
    held = models.loaded()[0]
    for n_ctx in (512, 768):  # two more settings push the first one out
        llm.chat("local", "Hi", n_ctx=n_ctx, **SHORT)
    assert held.llama is None and held not in models.loaded()
    assert first.content
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        models.unload_all()
    assert models.loaded() == []


def test_cache_context_management_and_map_use_the_same_pipeline() -> None:
    first = llm.chat("local", "Name a tree.", cache=True, **SHORT)
    again = llm.chat("local", "Name a tree.", cache=True, **SHORT)
    assert again.cache_hit and again.content == first.content
    long_chat = [{"role": "user", "content": "filler " * 300}] * 6 + [
        {"role": "user", "content": "Say hi."}
    ]
    fitted = (
        llm.build("local", long_chat)
        .with_options(n_ctx=512, **SHORT)
        .with_context_strategy("truncate")
        .execute()
    )
    context = fitted.request.metadata["context"]
    assert context["budget"] <= 512 and context["dropped"] > 0
    import pandas as pd

    with pytest.warns(UserWarning, match="concurrency=1, not 8"):
        out = llm.map(pd.DataFrame({"w": ["a", "b"]}), "Say {w}.", "local", progress=False, **SHORT)
    assert out.error.isna().all() and (out.output_tokens > 0).all()
