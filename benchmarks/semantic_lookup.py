"""How long the semantic cache takes to find the nearest of 10,000 stored prompts.

Vectors of 1,536 dimensions (the size of OpenAI's text-embedding-3-small) in each store:
the in-process index (the memory store's), the SQLite file (the first lookup of a process
loads every row; later ones only the rows added since), and Redis when one answers at
$LLMPIPE_REDIS_URL. Then a whole semantic hit through the pipeline (the exact lookup
misses, the prompt is embedded, the nearest answers) with 10,000 entries stored. Run: .venv/bin/python benchmarks/semantic_lookup.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import llmpipe_nb as llm
from llmpipe_nb.errors import StoreError
from llmpipe_nb.stores.memory import MemoryStore
from llmpipe_nb.stores.redis_store import RedisStore
from llmpipe_nb.stores.sqlite import SQLiteStore
from llmpipe_nb.stores.vectors import VectorIndex

N, DIM, LOOKUPS = 10_000, 1_536, 50


def ms(fn, n: int = LOOKUPS) -> float:
    """Median time of one call, in milliseconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def fill(index: VectorIndex, vectors: np.ndarray) -> float:
    t = time.perf_counter()
    for i, v in enumerate(vectors):
        index.add("space", f"key-{i}", v)
    return (time.perf_counter() - t) / len(vectors) * 1e6


def first_and_later_ms(index: VectorIndex, query: np.ndarray) -> tuple[float, float]:
    """The first lookup of an index opened as a new process opens it, then a usual one."""
    t = time.perf_counter()
    index.nearest("space", query)
    first = (time.perf_counter() - t) * 1000
    return first, ms(lambda: index.nearest("space", query))


def main() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    query = vectors[123] + 0.3 * rng.standard_normal(DIM).astype(np.float32)
    print(f"{N:,} vectors of {DIM} dimensions; median of {LOOKUPS} lookups")

    memory = VectorIndex()
    add_us = fill(memory, vectors)
    assert memory.nearest("space", query).key == "key-123"
    print(
        f"  in process: {ms(lambda: memory.nearest('space', query)):.2f} ms per lookup "
        f"({add_us:.0f} µs per add)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "cache.sqlite3")
        add_us = fill(store.vectors(), vectors)
        first, later = first_and_later_ms(SQLiteStore(Path(tmp) / "cache.sqlite3").vectors(), query)
        print(
            f"  SQLite: first lookup {first:.0f} ms (loads every row), then "
            f"{later:.2f} ms ({add_us:.0f} µs per add)"
        )
        store.close()

    try:
        redis = RedisStore()
        redis.clear()
        add_us = fill(redis.vectors(), vectors[:N])
        first, later = first_and_later_ms(RedisStore().vectors(), query)
        print(
            f"  Redis: first lookup {first:.0f} ms (loads the hash), then "
            f"{later:.2f} ms ({add_us:.0f} µs per add)"
        )
        redis.clear()
    except StoreError as error:
        print(f"  Redis: skipped ({error})")

    table = {f"prompt {i}": vectors[i] for i in range(N)}
    table["a new prompt"] = query

    def embed(texts: list[str]) -> list[np.ndarray]:
        return [table[t.removeprefix("user: ")] for t in texts]

    store = MemoryStore(max_entries=2 * N)
    cached = llm.build("mock").with_cache(semantic=True, embed=embed, store=store, ttl=None)
    for i in range(N):
        cached.with_messages(f"prompt {i}").execute()
    llm.ledger().reset()

    def hit() -> None:
        done = cached.with_messages("a new prompt").with_options(cache="no-store").run()
        assert done.metadata["cache_hit"] == "semantic"

    print(
        f"  a whole semantic hit through the pipeline: {ms(hit):.2f} ms "
        f"(a plain mock chat: {ms(lambda: llm.chat('mock', 'hi')):.2f} ms)"
    )


if __name__ == "__main__":
    main()
