"""Batch throughput: llm.map against the loopback OpenAI server, beside a plain asyncio loop.

For each concurrency (1, 16, 64) it sends the same rows twice over real HTTP on this
machine: once with a bare asyncio loop over a raw httpx2 client (the floor: no
pipeline, no table), once with `llm.map` (the whole pipeline per row, the result
DataFrame, the ledger). Then `engine="dask"` on a 2-worker LocalCluster, and the
batch machinery's own cost per row on the in-process mock (llm.map minus the same
requests run with Pipeline.arun in a bare loop).

Run: .venv/bin/python benchmarks/batch_throughput.py [--rows 10000] [--skip-dask]
The server and the client share this machine's cores, so the numbers are a floor for
what a remote API allows, and compare the two clients rather than measure the server.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from typing import Any

import httpx2

import llmpipe_nb as llm
from llmpipe_nb.pipeline import Pipeline
from llmpipe_nb.request import Request
from llmpipe_nb.testing import FakeServer

KEY = "sk-benchmark-0000000000000000"
CONCURRENCY = (1, 16, 64)


def prompts(n: int) -> list[str]:
    return [f"Classify the sentiment of review number {i}: it was fine." for i in range(n)]


async def raw_loop(base_url: str, items: list[str], concurrency: int) -> float:
    """Seconds for a bare asyncio loop over httpx2 to send every item and decode the answer."""
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        queue = iter(items)

        async def worker() -> None:
            for text in queue:
                response = await client.post(
                    "/chat/completions",
                    json={"model": "gpt-6-luna", "messages": [{"role": "user", "content": text}]},
                )
                response.raise_for_status()
                response.json()["choices"][0]["message"]["content"]

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t


def timed_map(items: list[str], **kw: Any) -> float:
    t = time.perf_counter()
    out = llm.map(items, "{}", progress=False, **kw)
    elapsed = time.perf_counter() - t
    failed = int(out.error.notna().sum())
    if failed:
        raise SystemExit(f"{failed} rows failed: {out.error.dropna().iloc[0]}")
    return elapsed


def machinery_overhead(n: int) -> tuple[float, float]:
    """(µs per row for llm.map on the mock, µs per row for the same requests in a bare loop).

    CPU time of the whole process (both threads), best of 3: on a machine shared with other
    work, wall time measures the neighbours more than the code.
    """
    items = prompts(n)
    pipeline = llm.providers.get_pipeline("mock", "chat")
    mock = llm.providers.get("mock")

    async def bare(requests: list[Request]) -> None:
        for request in requests:
            await Pipeline.arun(request, pipeline, trace=False)

    def fresh() -> None:
        mock.state.requests.clear()
        llm.ledger().reset()
        gc.collect()

    llm.map(items[:500], "{}", progress=False, concurrency=1)  # warm up
    mapped, plain = [], []
    for _ in range(3):
        fresh()
        t = time.process_time()
        llm.map(items, "{}", progress=False, concurrency=1)
        mapped.append(time.process_time() - t)
        fresh()
        requests = [Request.new("mock", text) for text in items]
        t = time.process_time()
        asyncio.run(bare(requests))
        plain.append(time.process_time() - t)
    return min(mapped) / n * 1e6, min(plain) / n * 1e6


def dask_rows_per_s(base_url: str, items: list[str]) -> dict[int, float]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        timed_map(items[:200], provider="openai", engine="dask", client=client)  # warm up
        return {
            c: len(items)
            / timed_map(items, provider="openai", engine="dask", concurrency=c, client=client)
            for c in (16, 64)
        }
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    items = prompts(args.rows)

    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url, api_key=KEY)
        asyncio.run(raw_loop(server.base_url, items[:200], 8))  # warm up both clients
        timed_map(items[:200], provider="openai", concurrency=8)
        print(f"{args.rows:,} rows against the loopback OpenAI server (rows per second)")
        print(f"{'concurrency':>12} {'raw httpx2':>12} {'llm.map':>12} {'map/raw':>8}")
        for c in CONCURRENCY:
            llm.ledger().reset()
            raw = args.rows / asyncio.run(raw_loop(server.base_url, items, c))
            mapped = args.rows / timed_map(items, provider="openai", concurrency=c)
            print(f"{c:>12} {raw:>12,.0f} {mapped:>12,.0f} {mapped / raw:>8.2f}")
        if not args.skip_dask:
            for c, rate in dask_rows_per_s(server.base_url, items).items():
                print(f"dask, 2 workers, concurrency {c} per worker: {rate:,.0f} rows/s")

    whole, plain = machinery_overhead(args.rows)
    print(
        f"mock provider, concurrency 1, CPU time: llm.map {whole:.1f} µs/row, bare "
        f"Pipeline.arun loop {plain:.1f} µs/row, batch machinery {whole - plain:.1f} µs/row"
    )


if __name__ == "__main__":
    main()
