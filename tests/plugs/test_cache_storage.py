"""How the persistent stores keep answers: compressed, readable across versions of the file."""

from __future__ import annotations

import json
import sqlite3
import zlib

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.cache import Cache
from llmpipe_nb.stores import codec
from llmpipe_nb.stores.codec import ZSTD_MAGIC, unpack
from llmpipe_nb.stores.memory import MemoryStore

MAGIC = {"zstd": ZSTD_MAGIC, "zlib": b"\x78"}
LONG = "Explain, at length, how a write-ahead log keeps a database consistent. " * 20


@pytest.fixture
def no_zstd(monkeypatch):
    """This Python as if neither compression.zstd nor zstandard were installed."""
    monkeypatch.setattr(codec._zstd, "found", None, raising=False)


def answered(prompt, **cache):
    llm.providers.get("mock").configure(reply=LONG)
    return llm.build("mock", prompt).with_cache(**cache).execute()


def test_sqlite_entries_are_stored_compressed(tmp_path):
    path = tmp_path / "c.sqlite3"
    first = answered(LONG, store="sqlite", path=str(path))
    (value,) = sqlite3.connect(path).execute("SELECT value FROM cache").fetchone()
    assert isinstance(value, bytes) and value.startswith(MAGIC[codec.best()])
    text = unpack(value)
    assert json.loads(text)["content"] == first.content
    assert len(value) * 5 < len(text.encode())
    assert answered(LONG, store="sqlite", path=str(path)).cache_hit


def test_zlib_when_zstd_is_not_available(tmp_path, no_zstd):
    path = tmp_path / "c.sqlite3"
    answered("zlib please", store="sqlite", path=str(path))
    (value,) = sqlite3.connect(path).execute("SELECT value FROM cache").fetchone()
    assert zlib.decompress(value)
    assert answered("zlib please", store="sqlite", path=str(path)).cache_hit


def test_a_zstd_entry_without_zstd_is_a_recoverable_miss_that_names_the_extra(
    tmp_path, monkeypatch
):
    if codec.best() != "zstd":
        pytest.skip("zstd is not installed here")
    path = str(tmp_path / "c.sqlite3")
    answered("made with zstd", store="sqlite", path=path)
    monkeypatch.setattr(codec._zstd, "found", None, raising=False)
    with pytest.warns(UserWarning, match=r"llmpipe_nb\[zstd\]"):
        again = answered("made with zstd", store="sqlite", path=path)
    assert not again.cache_hit and again.content
    assert isinstance(again.request.errors[0].error, llm.StoreError)


def test_an_old_uncompressed_file_is_migrated_and_still_answers(tmp_path):
    # an answer as the cache stored it before compression: JSON text in a layout-0 file
    memory = MemoryStore()
    live = llm.build("mock", "from the old file").with_cache(store=memory).execute()
    key = live.request.metadata["cache_key"]
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
            "created_at REAL NOT NULL, expires_at REAL)"
        )
        db.execute("INSERT INTO cache VALUES (?, ?, 0, NULL)", (key, memory.get(key)))
    mock = llm.providers.get("mock")
    sent = len(mock.requests)
    old = answered("from the old file", store="sqlite", path=str(path))
    assert old.cache_hit and old.content == live.content and len(mock.requests) == sent
    answered("a new entry", store="sqlite", path=str(path))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        kinds = sorted(r[0] for r in db.execute("SELECT typeof(value) FROM cache"))
    assert "vectors" in tables
    assert kinds == ["blob", "text"], "the old entry is kept as it was, the new one compressed"


def test_a_file_from_a_newer_layout_is_not_touched(tmp_path):
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 7")
    with pytest.warns(UserWarning, match="written by a newer llmpipe_nb"):
        reply = answered("hi", store="sqlite", path=str(path))
    assert reply.content and not reply.cache_hit
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 7
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_a_corrupt_entry_is_a_recoverable_miss(tmp_path):
    path = tmp_path / "c.sqlite3"
    answered("to corrupt", store="sqlite", path=str(path))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE cache SET value = ?", (b"\x78garbage",))
    with pytest.warns(UserWarning, match="corrupt"):
        again = answered("to corrupt", store="sqlite", path=str(path))
    assert again.content and not again.cache_hit


def test_redis_entries_are_compressed_and_old_plain_ones_still_read(redis_url):
    import redis

    Cache(store="redis", url=redis_url).clear()
    first = answered(LONG, store="redis", url=redis_url)
    client = redis.Redis.from_url(redis_url)
    (name,) = client.keys("llmpipe:cache:*")
    stored = client.get(name)
    assert stored.startswith(MAGIC[codec.best()])
    assert len(stored) * 5 < len(unpack(stored).encode())
    client.set(name, unpack(stored).encode())  # as written before compression
    again = answered(LONG, store="redis", url=redis_url)
    assert again.cache_hit and again.content == first.content


@pytest.mark.parametrize("codec_name", ["zstd", "zlib"])
def test_pack_and_unpack_round_trip(codec_name):
    if codec_name != "zlib" and codec.best() != codec_name:
        pytest.skip("zstd is not installed here")
    text = json.dumps({"content": "héllo ✓ " * 50})
    packed = codec.pack(text, codec_name)
    assert unpack(packed) == text and len(packed) < len(text.encode())
    assert unpack(text) == text and unpack(text.encode()) == text
