"""The semantic cache: similar prompts answered from the cache, through the public API."""

from __future__ import annotations

import hashlib
import re
import sys

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.cache import Cache
from llmpipe_nb.stores import close_stores

KEY = "sk-canary-0123456789abcdef"
WORD = re.compile(r"[a-z]+")


def words(texts):
    """A stand-in embedder: hashed bag of words, so rewordings share most of their vector."""
    out = []
    for text in texts:
        v = [0.0] * 256
        for w in WORD.findall(text.lower()):
            v[int(hashlib.sha1(w.encode()).hexdigest(), 16) % 256] += 1.0
        out.append(v)
    return out


def semantic(prompt, threshold=0.75, **options):
    return llm.build("mock", prompt).with_cache(
        semantic=True, threshold=threshold, embed=words, **options
    )


def test_a_rewording_above_the_threshold_is_answered_from_the_cache():
    mock = llm.providers.get("mock")
    first = semantic("What is the capital city of France?").execute()
    again = semantic("what is the capital of France").execute()
    assert not first.cache_hit
    assert again.cache_hit == "semantic" and again.content == first.content
    assert again.cost == 0.0 and again.cost_status == "cached"
    assert 0.75 <= again.request.metadata["cache_similarity"] < 1
    assert again.request.metadata["halt_reason"].startswith("semantic cache hit")
    assert len(mock.requests) == 1
    assert "semantic hit 0." in again._repr_html_()


def test_an_unrelated_prompt_misses_and_tells_how_near_it_came():
    semantic("What is the capital city of France?").execute()
    other = semantic("Write a haiku about autumn leaves").execute()
    assert not other.cache_hit
    assert other.request.metadata["cache_similarity"] < 0.3
    assert len(llm.providers.get("mock").requests) == 2


def test_other_models_or_options_never_share_an_answer():
    semantic("Explain recursion").execute()
    assert not semantic("Explain recursion").with_model("mock-large").execute().cache_hit
    assert not semantic("Explain recursion").with_temperature(0.9).execute().cache_hit
    assert semantic("explain recursion!").execute().cache_hit == "semantic"
    assert len(llm.providers.get("mock").requests) == 3


def test_an_exact_repeat_is_an_exact_hit_without_embedding():
    calls = []

    def counting(texts):
        calls.append(texts)
        return words(texts)

    b = llm.build("mock", "Same words").with_cache(semantic=True, embed=counting)
    b.execute()
    assert b.execute().cache_hit is True
    assert len(calls) == 1, "only the miss was embedded"


def test_the_provider_embed_call_is_cached_and_priced_in_the_ledger(openai_server):
    llm.configure("openai", api_key=KEY, base_url=openai_server.base_url)
    llm.ledger().reset()
    embed = ("openai", "text-embedding-3-small")
    b = llm.build("mock", "Price the embedding").with_cache(semantic=True, embed=embed)
    b.execute()
    b.with_temperature(0.5).execute()  # an exact miss: the same prompt embedded again
    rows = [r for r in llm.costs().itertuples() if r.kind == "embeddings"]
    assert [r.cache_hit for r in rows] == [False, True]
    assert rows[0].cost_usd > 0 and rows[0].model == "text-embedding-3-small"
    embedded = [r for r in openai_server.requests if r.path.endswith("/embeddings")]
    assert len(embedded) == 1


def test_the_requests_own_provider_embeds_by_default():
    mock = llm.providers.get("mock")
    llm.build("mock", "Default embedder").with_cache(semantic=True).execute()
    assert [c.path for c in mock.requests] == ["/embeddings", "/chat"]


async def test_async_lookups():
    await semantic("How do magnets work?").aexecute()
    again = await semantic("how do magnets work").aexecute()
    assert again.cache_hit == "semantic"


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_vectors_persist_in_sqlite_and_redis(store, tmp_path, request):
    if store == "sqlite":
        where = {"path": str(tmp_path / "c.sqlite3")}
    else:
        where = {"url": request.getfixturevalue("redis_url")}
    Cache(store=store, **where).clear()
    assert not semantic("Tell me about tides", store=store, **where).execute().cache_hit
    close_stores()  # as a new process would: no vector held in memory
    hit = semantic("tell me about the tides", store=store, **where).execute()
    assert hit.cache_hit == "semantic"
    Cache(store=store, **where).clear()
    assert not semantic("tell me about the tides", store=store, **where).execute().cache_hit
    assert len(llm.providers.get("mock").requests) == 2


def test_an_expired_entry_is_not_answered_by_its_vector():
    import time

    semantic("Short lived", ttl=0.05).execute()
    time.sleep(0.1)
    assert not semantic("short lived!", ttl=0.05).execute().cache_hit


def test_bad_options_are_refused_when_built():
    with pytest.raises(llm.ConfigError, match="cosine similarity above 0 and at most 1"):
        llm.build("mock").with_cache(semantic=True, threshold=1.5)
    with pytest.raises(llm.ConfigError, match="takes \\(provider, model\\)"):
        llm.build("mock").with_cache(semantic=True, embed=("mock",))
    with pytest.raises(llm.UnknownProviderError):
        llm.build("mock").with_cache(semantic=True, embed=("nope", "m"))
    with pytest.raises(llm.ConfigError, match="has no embeddings"):
        llm.build("mock").with_cache(semantic=True, embed=("anthropic", "claude"))
    with pytest.raises(llm.ConfigError, match="has no option 'threshold'"):
        llm.build("mock").with_cache(threshold=0.9)


def test_a_failing_embedder_leaves_the_request_uncached_but_answered():
    def broken(texts):
        return [["not", "numbers"]]

    broken_cache = llm.build("mock", "still answered").with_cache(semantic=True, embed=broken)
    with pytest.warns(UserWarning, match="looks up exact repeats only"):
        reply = broken_cache.execute()
    assert reply.content and not reply.cache_hit
    assert any("one list of numbers per text" in str(e.error) for e in reply.request.errors)


def test_a_failing_embed_call_leaves_the_request_answered(openai_server):
    from llmpipe_nb.testing import faults

    llm.configure("openai", api_key=KEY, base_url=openai_server.base_url)
    openai_server.inject(faults.http_error(500))
    b = llm.build("mock", "embed fails").with_cache(
        semantic=True, embed=("openai", "text-embedding-3-small")
    )
    with pytest.warns(UserWarning, match="looks up exact repeats only"):
        reply = b.execute()
    assert reply.content and isinstance(reply.request.errors[0].error, llm.ServerError)
    assert b.execute().cache_hit is True, "the answer was still stored for exact repeats"


def test_without_numpy_the_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(llm.MissingDependencyError, match=r"llmpipe_nb\[semantic\]"):
        llm.build("mock").with_cache(semantic=True, embed=words)


def test_inspection_shows_one_cache_with_its_semantic_options():
    b = semantic("x")
    info = b.inspect_pipeline()
    assert info.names.count("Cache") == 1
    cache = next(p for p in info if p.name == "Cache")
    assert cache.options["semantic"] is True and cache.options["threshold"] == 0.75
    assert "Cache" not in b.without_cache().inspect_pipeline().names
    plain = next(p for p in b.with_cache().inspect_pipeline() if p.name == "Cache")
    assert "semantic" not in plain.options, "with_cache() again: the exact cache alone"


def test_vector_space_rows_follow_adds_removals_and_bulk_loads():
    from llmpipe_nb.stores.vectors import VectorSpace, to_blob

    space = VectorSpace()
    for key, v in (("x", [1, 0, 0]), ("y", [0, 1, 0]), ("z", [0, 0, 1])):
        space.add(key, v)
    space.remove("x")  # the last row moves into the freed one
    assert space.nearest([0, 0, 2]).key == "z" and space.nearest([0, 3, 0]).key == "y"
    assert space.nearest([1, 0, 0]).score == pytest.approx(0.0)
    space.add("y", [1, 1, 0])  # replaced, not added
    assert len(space) == 2 and space.nearest([1, 1, 0]).score == pytest.approx(1.0)
    space.extend([("w", to_blob([0, 0, 0])), ("v", to_blob([1, 0, 0])), ("v", to_blob([0, 1, 1]))])
    assert len(space) == 3, "the zero vector is left out, a key loaded twice keeps its last"
    assert space.nearest([0, 1, 1]).key == "v"
    with pytest.raises(llm.StoreError, match="vectors of 3 dimensions and this one has 2"):
        space.add("bad", [1, 2])
