"""Cache through the pipeline, counting on the loopback server what went over the wire."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.cache import Cache, request_key
from llmpipe_nb.stores import CacheStore
from llmpipe_nb.stores.codec import unpack
from llmpipe_nb.stores.memory import MemoryStore
from llmpipe_nb.testing import FakeServer, faults

KEY = "sk-canary-0123456789abcdef"  # the key openai_opts uses (see conftest.py)


def chat(opts, text="hello", **more):
    return llm.chat("openai", text, **opts, **more)


def test_hit_makes_no_second_http_call(openai_server, openai_opts):
    first = chat(openai_opts, cache=True)
    second = chat(openai_opts, cache=True)
    assert len(openai_server.requests) == 1
    assert not first.cache_hit and second.cache_hit
    assert second.content == first.content and second.usage == first.usage
    assert first.cost and first.cost > 0
    assert second.cost == 0.0 and second.cost_status == "cached"
    assert second.cost_saved == pytest.approx(first.cost)
    meta = second.request.metadata
    assert meta["cache_hit"] is True and meta["cost_usd"] == 0.0
    assert meta["cost_saved"] == pytest.approx(first.cost)


def test_hit_halts_at_the_cache_and_the_write_shows_in_the_trace(openai_opts):
    miss = chat(openai_opts, cache=True)
    hit = chat(openai_opts, cache=True)
    miss_steps = [(s.plug, s.outcome) for s in miss.request.trace]
    assert miss_steps[2] == ("Cache", "ok") and miss_steps[-1] == ("CacheWrite", "ok")
    assert [(s.plug, s.outcome) for s in hit.request.trace] == [
        ("ValidateProvider", "ok"),
        ("FetchConfig", "ok"),
        ("Cache", "halted"),
    ]
    assert hit.request.state == "halted"


def test_the_cache_option_is_consumed_and_never_sent(openai_server, openai_opts):
    chat(openai_opts, cache="refresh")
    assert "cache" not in openai_server.last_request.json


@pytest.mark.parametrize(
    "change",
    [{"temperature": 0.5}, {"model": "gpt-4o"}, {"max_tokens": 7}, {"text": "other"}],
    ids=["option", "model", "max_tokens", "message"],
)
def test_any_difference_in_the_request_is_a_miss(openai_server, openai_opts, change):
    chat(openai_opts, cache=True)
    opts = {**openai_opts, **{k: v for k, v in change.items() if k != "text"}}
    chat(opts, change.get("text", "hello"), cache=True)
    assert len(openai_server.requests) == 2


def test_base_url_is_part_of_the_key(openai_server, openai_opts):
    with FakeServer("openai") as other:
        chat(openai_opts, cache=True)
        chat({**openai_opts, "base_url": other.base_url}, cache=True)
        assert len(openai_server.requests) == 1 and len(other.requests) == 1


def test_the_api_key_is_not_part_of_the_key(openai_server, openai_opts):
    chat(openai_opts, cache=True)
    assert chat({**openai_opts, "api_key": "sk-another-key-987654321"}, cache=True).cache_hit
    assert len(openai_server.requests) == 1


def test_key_fn_replaces_the_canonical_key(openai_server, openai_opts):
    b = llm.build("openai", "x").with_options(**openai_opts).with_cache(key_fn=lambda r: "fixed")
    b.with_messages("one").execute()
    answer = b.with_messages("two").execute()
    assert answer.cache_hit and answer.content == "Echo: one"
    assert len(openai_server.requests) == 1


def test_key_fn_must_return_a_string(openai_server, openai_opts):
    b = llm.build("openai", "hi").with_options(**openai_opts).with_cache(key_fn=lambda r: 42)
    with pytest.raises(llm.ConfigError, match="key_fn returned 42"):
        b.execute()
    assert openai_server.requests == []


def test_the_canonical_key_ignores_option_order():
    a = llm.Request.new("mock", "x", {"temperature": 1, "top_p": 0.5})
    b = llm.Request.new("mock", "x", {"top_p": 0.5, "temperature": 1})
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key(llm.Request.new("mock", "y", {"temperature": 1}))


@pytest.mark.parametrize(
    ("control", "calls", "hit"),
    [(True, 1, True), ("no-store", 2, False), ("refresh", 1, True), ("no-cache", 2, False)],
    ids=["default", "no-store", "refresh", "no-cache"],
)
def test_per_call_controls_on_an_empty_cache(openai_server, openai_opts, control, calls, hit):
    chat(openai_opts, cache=control)
    second = chat(openai_opts, cache=True)
    assert len(openai_server.requests) == calls
    assert second.cache_hit is hit


def test_refresh_calls_again_and_overwrites(openai_server, openai_opts):
    chat(openai_opts, cache=True)
    openai_server.inject(faults.reply(_completion("fresh answer")))
    refreshed = chat(openai_opts, cache="refresh")
    assert not refreshed.cache_hit and refreshed.content == "fresh answer"
    again = chat(openai_opts, cache=True)
    assert again.cache_hit and again.content == "fresh answer"
    assert len(openai_server.requests) == 2


def test_no_store_reads_but_never_writes(openai_server, openai_opts):
    chat(openai_opts, cache=True)
    assert chat(openai_opts, cache="no-store").cache_hit
    chat(openai_opts, "new question", cache="no-store")
    chat(openai_opts, "new question", cache=True)
    assert len(openai_server.requests) == 3


def test_no_cache_bypasses_reading_and_writing(openai_server, openai_opts):
    chat(openai_opts, cache=True)
    assert not chat(openai_opts, cache="no-cache").cache_hit
    assert not chat(openai_opts, cache=False).cache_hit
    assert len(openai_server.requests) == 3


def test_a_bad_control_is_refused_before_anything_is_sent(openai_server, openai_opts):
    with pytest.raises(llm.ConfigError, match="Option 'cache' must be"):
        chat(openai_opts, cache="sometimes")
    assert openai_server.requests == []


def test_builder_controls_and_placement(openai_server, openai_opts):
    b = (
        llm.build("openai", "hi")
        .with_options(**openai_opts)
        .with_rate_limit(requests_per_minute=1000)
    )
    cached = b.with_cache(ttl=60)
    names = cached.inspect_pipeline().names
    assert names.index("Cache") == names.index("FetchConfig") + 1
    assert names.index("Cache") < names.index("RateLimiter")
    assert (
        names.count("Cache") == 1
        and cached.with_cache(ttl=5).inspect_pipeline().names.count("Cache") == 1
    )
    assert "Cache" not in cached.without_cache().inspect_pipeline().names
    cached.execute()
    assert cached.execute().cache_hit
    assert not cached.with_options(cache="refresh").execute().cache_hit
    assert len(openai_server.requests) == 2


def test_with_cache_needs_a_place_to_act():
    def answer(request):
        return request

    with pytest.raises(llm.ConfigError, match="Cannot place Cache"):
        llm.build("mock", "hi").with_pipeline([answer]).with_cache().inspect_pipeline()


def test_bad_cache_options_fail_when_built():
    with pytest.raises(llm.ConfigError, match="Unknown cache store 'disk'"):
        llm.build("mock", "hi").with_cache(store="disk")
    with pytest.raises(llm.ConfigError, match="url= goes with store='redis'"):
        llm.build("mock", "hi").with_cache(url="redis://x")
    with pytest.raises(llm.ConfigError, match="ttl"):
        llm.build("mock", "hi").with_cache(ttl=0)


def test_ttl_expires_entries():
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    mock = llm.providers.get("mock")
    b = llm.build("mock", "hi").with_cache(ttl=10, store=store)
    b.execute()
    now[0] += 9
    assert b.execute().cache_hit
    now[0] += 2
    assert not b.execute().cache_hit
    assert len(mock.requests) == 2


def test_memory_store_is_a_bounded_lru():
    store = MemoryStore(max_entries=2)
    b = llm.build("mock").with_cache(store=store)
    for text in ("a", "b", "a", "c"):  # "b" is least recently used when "c" arrives
        b.with_messages(text).execute()
    assert len(store) == 2
    mock = llm.providers.get("mock")
    assert b.with_messages("a").execute().cache_hit
    assert not b.with_messages("b").execute().cache_hit
    assert len(mock.requests) == 4


def test_shared_memory_store_across_builders():
    llm.build("mock", "hi").with_cache(store="memory").execute()
    assert llm.build("mock", "hi").with_cache(store="memory").execute().cache_hit
    assert llm.chat("mock", "hi", cache=True).cache_hit


def test_streams_are_cached_and_replayed(openai_server, openai_opts):
    first = llm.stream("openai", "hello there", cache=True, **openai_opts)
    text = first.text()
    replay = llm.stream("openai", "hello there", cache=True, **openai_opts)
    chunks = list(replay)
    assert "".join(c.content for c in chunks) == text == "Echo: hello there"
    assert chunks[-1].done and chunks[-1].usage == first.response.usage
    assert replay.response.cache_hit and replay.response.cost == 0.0
    assert len(openai_server.requests) == 1
    assert chat(openai_opts, "hello there", cache=True).cache_hit


def test_a_cached_chat_answers_a_stream(openai_server, openai_opts):
    answer = chat(openai_opts, "tell me", cache=True)
    stream = llm.stream("openai", "tell me", cache=True, **openai_opts)
    assert stream.text() == answer.content
    assert len(openai_server.requests) == 1


async def test_async_chat_and_stream_use_the_cache(openai_server, openai_opts):
    first = await llm.achat("openai", "hi", cache=True, **openai_opts)
    second = await llm.achat("openai", "hi", cache=True, **openai_opts)
    streamed = await llm.astream("openai", "hi", cache=True, **openai_opts).atext()
    assert second.cache_hit and streamed == first.content
    assert len(openai_server.requests) == 1


def test_embeddings_are_cached(openai_server, openai_opts):
    opts = {**openai_opts, "model": "text-embedding-3-small"}
    first = llm.embeddings("openai", ["a", "b"], cache=True, **opts)
    second = llm.embeddings("openai", ["a", "b"], cache=True, **opts)
    assert second.cache_hit and second.embeddings == first.embeddings
    assert second.cost == 0.0
    assert len(openai_server.requests) == 1


def test_failures_are_not_stored(openai_server, openai_opts):
    openai_server.inject(faults.http_error(400))
    with pytest.raises(llm.BadRequestError):
        chat(openai_opts, cache=True)
    assert not chat(openai_opts, cache=True).cache_hit
    assert len(openai_server.requests) == 2


class BrokenStore(CacheStore):
    def get(self, key):
        raise llm.StoreError("The test store is down: start it.")

    def set(self, key, value, ttl=None):
        raise llm.StoreError("The test store is down: start it.")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failing_store_is_recorded_and_the_request_goes_through(
    openai_server, openai_opts, mode, fresh_store_warnings
):
    b = llm.build("openai", "hi").with_options(**openai_opts).with_cache(store=BrokenStore())
    with pytest.warns(UserWarning, match="store is down"):
        done = b.run() if mode == "sync" else await b.arun()
    assert done.state == "completed" and done.result.content == "Echo: hi"
    errors = [(e.plug, type(e.error).__name__, e.terminal) for e in done.errors]
    assert errors == [("Cache", "StoreError", False), ("CacheWrite", "StoreError", False)]
    assert len(openai_server.requests) == 1


def test_redis_down_is_recoverable(openai_server, openai_opts, fresh_store_warnings):
    b = llm.build("openai", "hi").with_options(**openai_opts)
    with pytest.warns(UserWarning, match="Could not read the Redis cache") as warned:
        done = b.with_cache(store="redis", url="redis://:secret-pass@127.0.0.1:1/0").run()
    assert all("secret-pass" not in str(w.message) for w in warned)
    assert done.state == "completed"
    assert [type(e.error).__name__ for e in done.errors] == ["StoreError", "StoreError"]
    message = str(done.errors[0].error)
    assert "Redis" in message and "secret-pass" not in message
    assert "secret-pass" not in repr(b.with_cache(store="redis", url="redis://:secret-pass@h/0"))


def own(caught, start):
    """The cache's warnings among those caught: a UserWarning whose message starts so."""
    return [w for w in caught if w.category is UserWarning and str(w.message).startswith(start)]


def test_an_unusable_sqlite_path_warns_once_per_store(
    tmp_path, openai_server, openai_opts, fresh_store_warnings
):
    (tmp_path / "a-file").write_text("not a directory")
    bad = str(tmp_path / "a-file" / "cache.sqlite3")
    b = llm.build("openai", "hi").with_options(**openai_opts).with_cache(store="sqlite", path=bad)
    with pytest.warns(UserWarning, match="Cannot open the SQLite cache") as caught:
        first = b.run()
        second = b.run()
    (warning,) = own(caught, "Cannot open the SQLite cache")  # said once
    assert str(warning.message).startswith(f"Cannot open the SQLite cache at {bad}")
    assert str(warning.message).endswith("Until then requests are sent without the cache.")
    for done in (first, second):
        assert done.state == "completed" and done.result.content == "Echo: hi"
        assert [type(e.error).__name__ for e in done.errors] == ["StoreError", "StoreError"]
    assert len(openai_server.requests) == 2
    other = str(tmp_path / "a-file" / "other.sqlite3")
    with pytest.warns(UserWarning, match="other.sqlite3"):  # another store says it too
        b.with_cache(store="sqlite", path=other).run()


def test_sqlite_default_path_is_under_the_user_data_dir(tmp_path, openai_opts):
    chat(openai_opts, cache=True)  # the memory default does not touch the disk
    llm.build("openai", "hi").with_options(**openai_opts).with_cache(store="sqlite").execute()
    files = list(Path(tmp_path / "home").rglob("cache.sqlite3"))
    assert len(files) == 1 and "llmpipe_nb" in str(files[0])


def test_sqlite_cache_survives_a_new_process(tmp_path, openai_server, openai_opts):
    path = tmp_path / "cache.sqlite3"
    script = textwrap.dedent(
        f"""
        import llmpipe_nb as llm
        r = (llm.build("openai", "persist me").with_options(**{openai_opts!r})
             .with_cache(store="sqlite", path={str(path)!r}).execute())
        print(r.cache_hit, r.content)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split("\n")[0] == "False Echo: persist me"
    again = (
        llm.build("openai", "persist me")
        .with_options(**openai_opts)
        .with_cache(store="sqlite", path=str(path))
        .execute()
    )
    assert again.cache_hit and again.content == "Echo: persist me"
    assert len(openai_server.requests) == 1
    rows = sqlite3.connect(path).execute("SELECT key, value FROM cache").fetchall()
    assert len(rows) == 1 and KEY not in rows[0][0] + unpack(rows[0][1])


def test_sqlite_ttl_and_concurrent_threads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = str(tmp_path / "c.sqlite3")
    b = llm.build("mock").with_cache(store="sqlite", path=path, ttl=60)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: b.with_messages(f"q{i % 10}").execute(), range(80)))
    assert len(Cache(store="sqlite", path=path).backend()) == 10  # type: ignore[arg-type]


def test_redis_store_for_real(redis_url, openai_server, openai_opts):
    import redis

    b = (
        llm.build("openai", "to redis")
        .with_options(**openai_opts)
        .with_cache(store="redis", url=redis_url, ttl=30, namespace="llmpipe-test")
    )
    Cache(store="redis", url=redis_url).clear()
    first = b.execute()
    second = b.execute()
    assert not first.cache_hit and second.cache_hit and second.content == first.content
    assert len(openai_server.requests) == 1
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("llmpipe:cache:llmpipe-test:*")
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 30
    assert KEY not in unpack(client.get(keys[0]))


async def test_redis_store_async(redis_url, openai_server, openai_opts):
    Cache(store="redis", url=redis_url).clear()
    b = llm.build("openai", "async redis").with_options(**openai_opts)
    b = b.with_cache(store="redis", url=redis_url)
    await b.aexecute()
    assert (await b.aexecute()).cache_hit
    assert len(openai_server.requests) == 1


def test_a_hit_is_in_the_ledger_with_cost_saved(openai_opts):
    first = chat(openai_opts, cache=True)
    chat(openai_opts, cache=True)
    costs = llm.costs()
    assert list(costs["cache_hit"]) == [False, True]
    assert costs["cost_usd"].iloc[1] == 0.0
    assert costs["cost_saved_usd"].iloc[1] == pytest.approx(first.cost)


def _completion(text: str) -> dict:
    return {
        "id": "chatcmpl-fixed",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
