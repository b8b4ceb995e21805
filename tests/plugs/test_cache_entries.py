"""What the cache keeps and gives back, what ttl it takes, and that a store failing after
the answer arrived never fails the request."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.cache import Cache
from llmpipe_nb.responses import ReasoningPart, ToolCall
from llmpipe_nb.stores import CacheStore
from llmpipe_nb.stores.memory import MemoryStore
from llmpipe_nb.stores.redis_store import RedisStore

REASONING = (
    ReasoningPart("thinking", "The user says hi.", signature="sig-thinking-1", offset=0),
    ReasoningPart("redacted_thinking", data="opaque-bytes"),
    ReasoningPart("signature", "Hi", signature="sig-text-2"),
)
CALL = ToolCall("call_1", "get_weather", {"city": "Oslo"}, signature="sig-call-3")


def with_reasoning(request):
    """What a reasoning model's answer carries: its reasoning, and a signed tool call."""
    result = dataclasses.replace(request.result, reasoning=REASONING, tool_calls=(CALL,))
    return request.evolve(result=result)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_cached_answer_keeps_its_reasoning_and_tool_call_signatures(store, tmp_path):
    where = {"path": str(tmp_path / "cache.sqlite3")} if store == "sqlite" else {}
    b = (
        llm.build("mock", "hi")
        .with_custom_plug(with_reasoning, after="MockParseResponse")
        .with_cache(store=store, **where)
    )
    first = b.execute()
    hit = b.execute()
    assert hit.cache_hit and not first.cache_hit
    assert hit.reasoning == REASONING and hit.tool_calls == (CALL,)
    assert hit.message["reasoning"] == list(REASONING)
    assert len(llm.providers.get("mock").requests) == 1


def test_a_cached_answer_keeps_its_refusal_and_estimated_usage():
    def refused(request):
        usage = dataclasses.replace(request.result.usage, estimated=True)
        result = dataclasses.replace(request.result, refusal="I can't help.", usage=usage)
        return request.evolve(result=result)

    b = llm.build("mock", "hi").with_custom_plug(refused, after="MockParseResponse").with_cache()
    first, hit = b.execute(), b.execute()
    assert hit.cache_hit and hit.refusal == "I can't help." and hit.usage == first.usage
    assert hit.usage.estimated


def test_a_recorded_answer_from_before_entry_versions_still_replays():
    from llmpipe_nb.plugs.cache_entry import decode, encode

    reply = llm.chat("mock", "hi")
    old = json.loads(encode(reply))
    del old["v"], old["reasoning"], old["refusal"]
    assert decode(json.dumps(old), "chat") is None  # a cache entry: a miss
    replayed, _, _ = decode(json.dumps(old), "chat", older=True)
    assert replayed.content == reply.content and replayed.reasoning == ()


def test_an_entry_of_an_older_format_is_a_miss_and_is_replaced():
    store = MemoryStore()
    b = llm.build("mock", "hi").with_cache(store=store)
    b.execute()
    ((key, (value, _)),) = store._data.items()
    old = json.loads(value)
    old["v"] = 1
    del old["reasoning"]
    store.set(key, json.dumps(old))
    assert not b.execute().cache_hit
    assert json.loads(store.get(key))["v"] == 2
    assert b.execute().cache_hit


@pytest.mark.parametrize("ttl", [math.inf, math.nan, 0, -5])
def test_a_ttl_that_is_no_number_of_seconds_is_refused_when_built(ttl):
    with pytest.raises(llm.ConfigError) as caught:
        llm.build("mock", "hi").with_cache(ttl=ttl)
    assert str(caught.value) == (
        "Plug Cache option 'ttl' must be a number of seconds greater than 0 (days are fine), "
        f"or None to keep answers until evicted, not {ttl!r}."
    )


@pytest.mark.parametrize("ttl", [None, 0.5, 90 * 24 * 3600])
def test_none_or_any_positive_number_of_seconds_is_a_ttl(ttl):
    b = llm.build("mock", "hi").with_cache(ttl=ttl)
    b.execute()
    assert b.execute().cache_hit


def test_a_bad_max_entries_is_refused_when_built():
    with pytest.raises(llm.ConfigError, match="'max_entries' must be a whole number of 1 or more"):
        llm.build("mock", "hi").with_cache(max_entries=0)


class FlakyStore(CacheStore):
    """Reads fine, but every write fails the way a store's client library fails."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get(self, key):
        return None

    def set(self, key, value, ttl=None):
        raise self.error


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_write_that_fails_keeps_the_answer_and_warns_once(mode, fresh_store_warnings):
    b = llm.build("mock", "hi").with_cache(store=FlakyStore(OverflowError("too big")))
    with pytest.warns(UserWarning, match="could not write an entry") as caught:
        runs = [b.run() if mode == "sync" else await b.arun() for _ in range(2)]
    said = [w for w in caught if "could not write an entry" in str(w.message)]
    assert len(said) == 1
    assert str(said[0].message) == (
        "The FlakyStore cache store could not write an entry (OverflowError: too big). "
        "Until then requests are sent without the cache."
    )
    for done in runs:
        assert done.state == "completed" and done.result.content
        assert [(e.plug, type(e.error).__name__) for e in done.errors] == [
            ("CacheWrite", "StoreError")
        ]


def test_a_read_that_fails_sends_the_request(fresh_store_warnings):
    class Unreadable(FlakyStore):
        def get(self, key):
            raise KeyError(key)

    b = llm.build("mock", "hi").with_cache(store=Unreadable(OSError("disk gone")))
    with pytest.warns(UserWarning, match="could not read an entry"):
        done = b.run()
    assert done.state == "completed" and done.result.content
    assert [e.plug for e in done.errors] == ["Cache", "CacheWrite"]


def test_redis_refuses_a_ttl_it_cannot_keep_without_failing_the_request(
    redis_url, fresh_store_warnings
):
    with pytest.raises(llm.ConfigError, match="'ttl' must be a number of seconds"):
        llm.build("mock", "hi").with_cache(store="redis", url=redis_url, ttl=float("inf"))
    b = llm.build("mock", "far future").with_cache(
        store="redis", url=redis_url, ttl=1e300, namespace="llmpipe-test-ttl"
    )
    with pytest.warns(UserWarning, match="Could not write the Redis cache"):
        done = b.run()
    assert done.state == "completed" and done.result.content
    assert [(e.plug, type(e.error).__name__) for e in done.errors] == [("CacheWrite", "StoreError")]
    store = RedisStore(redis_url)
    try:
        with pytest.raises(llm.StoreError, match=r"Redis cannot keep an entry for ttl=inf"):
            store.set("llmpipe-test-ttl:x", "v", math.inf)
    finally:
        store.close()
    Cache(store="redis", url=redis_url).clear()
