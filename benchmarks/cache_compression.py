"""How much compression saves on stored answers, and what it costs per entry.

The corpus: 1,000 chat answers of 40 to 800 words (log-normal lengths, median about 190),
cut from the prose and code of Python's own reference documentation (`pydoc_data`), each
answered for real over HTTP by the loopback OpenAI server, so every stored entry has the
provider's raw body beside the parsed answer, exactly as the cache keeps it. The same
1,000 answers are also streamed (one chunk per word, like a real stream's deltas) and
recorded with `llm.replay`, chunks and timings included.

Reported: the size of the cache entries as JSON, zlib and zstd; the cache's write and
read time per entry in SQLite before compression and with each codec; the size of the
recording. Run: .venv/bin/python benchmarks/cache_compression.py
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import llmpipe_nb as llm
from llmpipe_nb.stores import codec, sqlite
from llmpipe_nb.stores.cassette import Cassette
from llmpipe_nb.stores.memory import MemoryStore
from llmpipe_nb.testing import FakeServer

N = 1_000


def corpus(n: int = N, seed: int = 7) -> list[str]:
    """`n` answer texts: runs of paragraphs from the Python reference, of log-normal length."""
    from pydoc_data.topics import topics

    words = re.findall(r"\S+\s*", "\n\n".join(topics[k] for k in sorted(topics)))
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = min(800, max(40, int(rng.lognormvariate(5.25, 0.7))))
        start = rng.randrange(0, len(words) - length)
        out.append("".join(words[start : start + length]).strip())
    return out


def per_entry_us(fn, items) -> float:
    """Median over 3 rounds of the time per item, in microseconds."""
    rounds = []
    for _ in range(3):
        t = time.perf_counter()
        for item in items:
            fn(item)
        rounds.append((time.perf_counter() - t) / len(items) * 1e6)
    return statistics.median(rounds)


def sqlite_times(entries: dict[str, str], folder: Path, name: str) -> tuple[float, float, int]:
    """(write µs, read µs, file bytes) for the entries in a fresh SQLite cache."""
    store = sqlite.SQLiteStore(folder / f"{name}.sqlite3")
    items = list(entries.items())
    write = per_entry_us(lambda kv: store.set(kv[0], kv[1]), items)
    read = per_entry_us(lambda kv: store.get(kv[0]), items)
    store._run("PRAGMA wal_checkpoint(TRUNCATE)", ())
    store.close()
    return write, read, (folder / f"{name}.sqlite3").stat().st_size


def main() -> None:
    texts = corpus()
    memory = MemoryStore(max_entries=2 * N)
    with tempfile.TemporaryDirectory() as tmp, FakeServer("openai") as server:
        folder = Path(tmp)
        llm.configure("openai", api_key="sk-benchmark-not-real", base_url=server.base_url)
        cached = llm.build("openai").with_model("gpt-4o-mini").with_cache(store=memory)
        for text in texts:
            cached.with_messages(text).execute()
        entries = {k: v for k, (v, _) in memory._data.items()}

        with llm.replay(folder / "streams.llm.sqlite", mode="record"):
            for text in texts:
                llm.stream("openai", text, model="gpt-4o-mini").text()
        stored, plain = Cassette(folder / "streams.llm.sqlite", writable=False).sizes()

        sizes = {"json": sum(len(v.encode()) for v in entries.values())}
        for name in codec.CODECS:
            sizes[name] = sum(len(codec.pack(v, name)) for v in entries.values())

        timings = {}
        original = sqlite.pack, sqlite.unpack
        sqlite.pack, sqlite.unpack = (lambda text: text), codec.unpack  # as before compression
        timings["none"] = sqlite_times(entries, folder, "none")
        for name in codec.CODECS:
            sqlite.pack = lambda text, name=name: codec.pack(text, name)
            timings[name] = sqlite_times(entries, folder, name)
        sqlite.pack, sqlite.unpack = original

    words = [len(t.split()) for t in texts]
    print(
        f"{N} chat answers, {min(words)}-{max(words)} words (median {statistics.median(words):.0f}),"
        f" {sizes['json'] / N / 1024:.1f} KiB per cache entry as JSON"
    )
    for name in codec.CODECS:
        saved = 1 - sizes[name] / sizes["json"]
        print(f"  {name}: {sizes[name] / N / 1024:.2f} KiB per entry, {saved:.0%} smaller")
    print("SQLite cache, per entry:      write µs   read µs   file")
    for name, (write, read, size) in timings.items():
        print(f"  {name:<26}  {write:8.1f}  {read:8.1f}   {size / 1024 / 1024:.2f} MiB")
    print(
        f"The same answers streamed and recorded with llm.replay ({sum(words):,} chunks): "
        f"{plain / 1024 / 1024:.2f} MiB as JSON, {stored / 1024 / 1024:.2f} MiB stored (zlib), "
        f"{1 - stored / plain:.0%} smaller"
    )


if __name__ == "__main__":
    main()
