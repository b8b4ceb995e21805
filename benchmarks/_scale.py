"""Scale and memory scenarios for `_clients.py` (llmpipe_nb's clients only): many streams at
once, one very long answer, and a consumer slower than the server."""

from __future__ import annotations

import asyncio
import json
import os
import time
import tracemalloc
from typing import Any

from _common import MESSAGES, open_fds, peak_mb, rss_mb


async def _get(port: int, path: str) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    body = json.loads(await reader.readexactly(length))
    writer.close()
    return body


async def scale(client: Any, port: int, n: int) -> dict[str, Any]:
    """`n` streams of 50 chunks on one loop. Each reads its first chunk, then all wait
    (the server holds every stream there) while memory is measured; then all finish.
    They open a thousand at a time: a burst of 10,000 connects overflows the server's
    accept queue, and the retried connects would then time out."""
    llm = client.llm
    llm.configure("openai", extra={"max_connections": n})
    await client.stream(50)
    rows_before, fds_before = len(llm.ledger()), open_fds()
    await _get(port, "/hold")
    tracemalloc.start(1)
    base_rss, base_traced = rss_mb(), tracemalloc.get_traced_memory()[0]
    first = asyncio.Semaphore(0)
    go = asyncio.Event()
    counts: list[int] = []
    failures: dict[str, int] = {}

    async def one() -> None:
        stream = llm.astream("openai", MESSAGES, max_tokens=50, extra_body={"hold": True})
        count = 0
        try:
            async for chunk in stream:
                count += bool(chunk.content)
                if count == 1:
                    first.release()
                    await go.wait()
        except Exception as error:
            name = type(error).__name__
            failures[name] = failures.get(name, 0) + 1
            if count == 0:
                first.release()
        counts.append(count)

    started = time.perf_counter()
    tasks = []
    for at in range(0, n, 1000):  # opened a thousand at a time, as a server's backlog allows
        batch = min(1000, n - at)
        tasks += [asyncio.create_task(one()) for _ in range(batch)]
        for _ in range(batch):
            await first.acquire()
    idle_rss = rss_mb() - base_rss - tracemalloc.get_tracemalloc_memory() / 1e6
    snapshot = tracemalloc.take_snapshot()
    traced = tracemalloc.get_traced_memory()[0] - base_traced
    tracemalloc.stop()
    ours = sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if f"{os.sep}llmpipe_nb{os.sep}" in stat.traceback[0].filename
    )
    go.set()
    await _get(port, "/release")
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await client.close()
    await asyncio.sleep(0.1)
    return {
        "streams": n,
        "complete": sum(c == 50 for c in counts),
        "failures": failures,
        "seconds": elapsed,
        "idle_rss_kb_per_stream": idle_rss * 1e3 / n,
        "idle_python_kb_per_stream": traced / 1e3 / n,
        "idle_llmpipe_kb_per_stream": ours / 1e3 / n,
        "ledger_rows": len(llm.ledger()) - rows_before,
        "fds_left": open_fds() - fds_before,
    }


async def big(client: Any, port: int, n: int) -> dict[str, Any]:
    """One answer of `n` chunks of 1,000 characters (20 MB for n = 20,000)."""
    await client.stream(10, n_bytes=1000)
    before, peak_before = rss_mb(), peak_mb()
    stream = client.llm.astream("openai", MESSAGES, max_tokens=n, extra_body={"n_bytes": 1000})
    async for _ in stream:
        pass
    size = len(stream.response.content)
    return {
        "text_mb": size / 1e6,
        "peak_over_mb": peak_mb() - max(before, peak_before),
        "ratio": (peak_mb() - max(before, peak_before)) / (size / 1e6),
    }


async def slow(client: Any, port: int, n: int) -> dict[str, Any]:
    """A consumer that sleeps 1 ms every 10 chunks of a `n`-chunk answer of 1,000-character
    chunks. In flight: what the server had written beyond what the consumer had read (the
    kernel's socket buffers and the client's); held by the client: its memory above where
    it started, less the text it had read (which the answer keeps)."""
    frame = 1000 + 230  # one SSE event of a 1,000-character chunk, with its HTTP framing
    await client.stream(10, n_bytes=1000)
    before = rss_mb()
    stream = client.llm.astream("openai", MESSAGES, max_tokens=n, extra_body={"n_bytes": 1000})
    read, in_flight, held = 0, 0.0, 0.0
    async for chunk in stream:
        if chunk.content:
            read += 1
            if read % 10 == 0:
                await asyncio.sleep(0.001)
            if read % 500 == 0:
                sent = (await _get(port, "/stats"))["sent"]
                in_flight = max(in_flight, sent - read * frame)
                held = max(held, (rss_mb() - before) * 1e6 - read * 1000)
    return {
        "answer_mb": n * 1000 / 1e6,
        "in_flight_kb": in_flight / 1e3,
        "held_kb": max(held, 0) / 1e3,
    }


SCENARIOS = {"scale": scale, "big": big, "slow": slow}
