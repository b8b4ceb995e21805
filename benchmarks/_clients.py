"""One measurement in a fresh interpreter, for `performance.py`: a client, a scenario, the
loopback server's port; prints one JSON line. Each client sends the same request and reads
the same answer, the way its own documentation shows.

    python benchmarks/_clients.py CLIENT SCENARIO PORT [N]

CLIENT: httpx, httpx2, aiohttp, httpx-aiohttp, llmpipe-httpx2, llmpipe-aiohttp.
SCENARIO: seq, stream, conc; for llmpipe_nb also scale, big, slow (`_scale.py`).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

from _common import BODY, HEADERS, KEY, MESSAGES, peak_mb


class Raw:
    """A bare client: `chat()` and `stream(n)` return what the caller would use."""

    def __init__(self, kind: str, base: str) -> None:
        self.kind, self.url = kind, base + "/chat/completions"
        if kind == "aiohttp":
            import aiohttp

            self.client: Any = aiohttp.ClientSession()
        elif kind == "httpx-aiohttp":
            from httpx_aiohttp.httpx2 import Httpx2AiohttpClient

            self.client = Httpx2AiohttpClient()
        else:
            self.client = __import__(kind).AsyncClient()

    async def chat(self) -> str:
        if self.kind == "aiohttp":
            async with self.client.post(self.url, json=BODY, headers=HEADERS) as r:
                body = await r.json()
        else:
            body = (await self.client.post(self.url, json=BODY, headers=HEADERS)).json()
        return body["choices"][0]["message"]["content"]

    async def stream(self, n: int, **extra: Any) -> int:
        body = BODY | {"stream": True, "max_tokens": n, **extra}
        pieces = []
        if self.kind == "aiohttp":
            async with self.client.post(self.url, json=body, headers=HEADERS) as r:
                async for raw in r.content:
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith("data: ") and line != "data: [DONE]":
                        for choice in json.loads(line[6:])["choices"]:
                            if text := choice["delta"].get("content"):
                                pieces.append(text)
        else:
            async with self.client.stream("POST", self.url, json=body, headers=HEADERS) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        for choice in json.loads(line[6:])["choices"]:
                            if text := choice["delta"].get("content"):
                                pieces.append(text)
        return len(pieces)

    async def close(self) -> None:
        await (self.client.close() if self.kind == "aiohttp" else self.client.aclose())


class Piped:
    """llmpipe_nb's default pipeline, `llm.achat` and `llm.astream`, on one transport."""

    def __init__(self, transport: str, base: str) -> None:
        import llmpipe_nb as llm

        self.llm = llm
        llm.configure("openai", api_key=KEY, base_url=base, transport=transport)
        self.last: Any = None

    async def chat(self) -> str:
        self.last = await self.llm.achat("openai", MESSAGES, model="gpt-6-luna")
        return self.last.content

    async def stream(self, n: int, **extra: Any) -> int:
        count = 0
        options = {"extra_body": extra} if extra else {}
        async for chunk in self.llm.astream("openai", MESSAGES, max_tokens=n, **options):
            count += bool(chunk.content)
        return count

    async def close(self) -> None:
        self.llm.providers._http.close_transports()


async def seq(client: Any, n: int) -> dict[str, Any]:
    for _ in range(50):
        await client.chat()
    times, plugs = [], {}
    cpu = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        await client.chat()
        times.append(time.perf_counter() - started)
        if isinstance(client, Piped):
            for step in client.last.request.trace:
                plugs.setdefault(step.plug, []).append(step.duration_ns / 1e3)
    return {
        "p50_us": statistics.median(times) * 1e6,
        "cpu_us": (time.process_time() - cpu) / n * 1e6,
        "plugs_us": {name: statistics.median(v) for name, v in plugs.items()},
    }


async def stream(client: Any, n: int) -> dict[str, Any]:
    await client.stream(200)
    cpu, wall = time.process_time(), time.perf_counter()
    got = await client.stream(n)
    assert got == n, got
    return {
        "cpu_us": (time.process_time() - cpu) / n * 1e6,
        "wall_us": (time.perf_counter() - wall) / n * 1e6,
    }


async def conc(client: Any, n: int, width: int = 50) -> dict[str, Any]:
    gate = asyncio.Semaphore(width)

    async def one() -> None:
        async with gate:
            await client.chat()

    await asyncio.gather(*(one() for _ in range(width)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}


async def main() -> None:
    client_kind, scenario, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    base = f"http://127.0.0.1:{port}/v1"
    if client_kind.startswith("llmpipe-"):
        client: Any = Piped(client_kind.removeprefix("llmpipe-"), base)
    else:
        client = Raw(client_kind, base)
    if scenario in ("scale", "big", "slow"):
        from _scale import SCENARIOS

        result = await SCENARIOS[scenario](client, port, n)
    else:
        result = await {"seq": seq, "stream": stream, "conc": conc}[scenario](client, n)
    await client.close()
    result["peak_rss_mb"] = peak_mb()  # the whole process: interpreter, imports, work
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
