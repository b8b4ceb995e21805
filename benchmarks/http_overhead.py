"""HTTP overhead: what the provider layer adds to a raw httpx2 call, and stream throughput.

Against the loopback OpenAI server on this machine, it times N sequential chat
requests made with a bare httpx2 client (the floor), with the provider's transport
alone (send an HttpCall, no pipeline), and with `llm.chat` (the whole pipeline:
prepare, send, parse, price). Then it streams one long answer and reports chunks per
second through `llm.stream` beside the raw SSE bytes read with httpx2.

Run: .venv/bin/python benchmarks/http_overhead.py [--requests 2000] [--chunks 20000]
The server shares the machine's cores, so the numbers compare clients, not servers.
"""

from __future__ import annotations

import argparse
import time

import httpx2

import llmpipe_nb as llm
from llmpipe_nb import providers
from llmpipe_nb.testing import FakeServer, faults
from llmpipe_nb.transport import HttpCall

KEY = "sk-benchmark-0000000000000000"
BODY = {"model": "gpt-6-luna", "messages": [{"role": "user", "content": "hello there"}]}


def per_request(label: str, seconds: float, n: int, floor: float | None = None) -> None:
    extra = "" if floor is None else f"  (+{(seconds - floor) / n * 1e6:7.0f} µs over raw)"
    print(f"{label:<28} {seconds / n * 1e6:8.0f} µs/request{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=20_000)
    args = parser.parse_args()
    n = args.requests
    with FakeServer("openai") as server:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx2.Client(base_url=server.base_url, headers=headers) as client:
            client.post("/chat/completions", json=BODY).json()
            started = time.perf_counter()
            for _ in range(n):
                client.post("/chat/completions", json=BODY).json()
            raw = time.perf_counter() - started

        options = {"api_key": KEY, "base_url": server.base_url}
        provider = providers.get("openai")
        transport = provider.client(provider.resolve_config(options))
        call = HttpCall("POST", "/chat/completions", json=BODY)
        transport.send(call)
        started = time.perf_counter()
        for _ in range(n):
            transport.send(call)
        sent = time.perf_counter() - started

        llm.chat("openai", "hello there", **options)
        started = time.perf_counter()
        for _ in range(n):
            llm.chat("openai", "hello there", **options)
        piped = time.perf_counter() - started

        print(f"{n} sequential chat requests over loopback HTTP")
        per_request("raw httpx2", raw, n)
        per_request("provider transport", sent, n, raw)
        per_request("llm.chat (whole pipeline)", piped, n, raw)

        server.inject(faults.chunks(args.chunks))
        started = time.perf_counter()
        with httpx2.stream(
            "POST",
            server.base_url + "/chat/completions",
            json=BODY | {"stream": True},
            headers=headers,
        ) as response:
            size = sum(len(piece) for piece in response.iter_bytes())
        raw_stream = time.perf_counter() - started
        server.inject(faults.chunks(args.chunks))
        started = time.perf_counter()
        count = sum(1 for chunk in llm.stream("openai", "hello there", **options) if chunk.content)
        piped_stream = time.perf_counter() - started
        print(f"\none stream of {args.chunks} chunks ({size / 1e6:.1f} MB of SSE)")
        print(f"{'raw httpx2 bytes':<28} {args.chunks / raw_stream:10.0f} chunks/s")
        print(f"{'llm.stream (parsed chunks)':<28} {count / piped_stream:10.0f} chunks/s")


if __name__ == "__main__":
    main()
