"""The `llamacpp` preset against llama-cpp-python's own server (a real model, a real server).

The server leaves usage out of streams and answers embeddings token by token: both must
come out right here, counted and marked, or pooled, or refused with the server setting.
"""

from __future__ import annotations

import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ResponseFormatError
from llmpipe_nb.tokenizers import forget_routes
from llmpipe_nb.views import response_footer

pytestmark = pytest.mark.slow


@pytest.fixture
def server(llama_server):
    forget_routes()
    llm.configure("llamacpp", base_url=llama_server)
    return llama_server


def _row(done):
    rows = llm.costs()
    mine = rows[rows.request_id == done.id]
    assert len(mine) == 1  # one ledger row per request
    return mine.iloc[0]


def test_chat_counts_come_from_the_server(server) -> None:
    reply = llm.chat("llamacpp", "Name a colour.", max_tokens=20, temperature=0, seed=0)
    assert reply.content and reply.provider == "llamacpp"
    assert reply.model == "local-model"  # no model= needed: the server echoes the name sent
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert not reply.usage.estimated
    assert reply.finish_reason in ("stop", "length")
    row = _row(reply.request)
    assert (row.cost_usd, row.cost_status, bool(row.estimated)) == (0.0, "local", False)
    assert row.latency_ms > 0


def test_a_stream_without_usage_is_counted_by_the_servers_tokenizer(server) -> None:
    stream = llm.stream("llamacpp", "Count to five.", max_tokens=30, temperature=0, seed=0)
    pieces = [chunk.content for chunk in stream]
    reply = stream.response
    assert "".join(pieces) == reply.content and len(pieces) > 1
    assert reply.usage.estimated
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    done = stream.request
    assert done.metadata["usage_counted_by"] == "server"  # its /extras/tokenize endpoint
    assert done.metadata["ttft_ms"] > 0
    row = _row(done)
    assert bool(row.estimated) and row.output_tokens == reply.usage.output_tokens
    assert "tokens ≈ " in response_footer(reply)


def test_token_level_embeddings_are_refused_or_pooled(server) -> None:
    with pytest.raises(ResponseFormatError, match="--pooling mean"):
        llm.embeddings("llamacpp", ["red", "a green leaf"])
    pooled = llm.embeddings("llamacpp", ["red", "a green leaf"], pooling="mean")
    dims = {len(v) for v in pooled.embeddings}
    assert len(pooled.embeddings) == 2 and len(dims) == 1 and dims.pop() > 8
    assert pooled.usage.input_tokens > 0


def test_completion_models_and_validate(server) -> None:
    done = llm.complete("llamacpp", "One, two, three,", max_tokens=8, temperature=0)
    assert done.usage.output_tokens > 0 and done.request.kind == "completion"
    models = llm.list_models("llamacpp")
    assert len(models) == 1 and models[0].id.endswith(".gguf")  # the server lists its path
    assert llm.validate("llamacpp").ok


async def test_concurrent_requests_all_complete(server) -> None:
    prompts = [f"Say the number {n}." for n in range(4)]
    replies = await asyncio.gather(
        *(llm.achat("llamacpp", p, max_tokens=10, temperature=0) for p in prompts)
    )
    assert all(r.usage.output_tokens > 0 for r in replies)
    assert len({r.request.id for r in replies}) == 4
    for reply in replies:
        _row(reply.request)


def test_map_over_a_dataframe(server) -> None:
    import pandas as pd

    frame = pd.DataFrame({"word": ["cat", "sun", "tree"]})
    out = llm.map(
        frame,
        "Write one word that rhymes with {word}.",
        "llamacpp",
        max_tokens=8,
        temperature=0,
        progress=False,
    )
    assert list(out.index) == [0, 1, 2]
    assert out.error.isna().all() and (out.output_tokens > 0).all()
