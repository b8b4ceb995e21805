"""The pipeline's own cost on the mock provider: microseconds per request and per plug.

The mock answers in-process, so everything measured beside the bare transport call is
the pipeline's overhead. Run: .venv/bin/python benchmarks/pipeline_overhead.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict

from _common import per_call_us

import llmpipe_nb as llm
from llmpipe_nb.pipeline import Pipeline
from llmpipe_nb.request import Request
from llmpipe_nb.transport import HttpCall


def main() -> None:
    mock = llm.providers.get("mock")
    transport = mock.client(None)
    call = HttpCall(
        "POST", "/chat", json={"model": "mock-1", "messages": ({"role": "user", "content": "hi"},)}
    )
    pipeline = llm.providers.get_pipeline("mock", "chat")
    messages = [{"role": "user", "content": "hi"}]

    def raw() -> None:
        transport.send(call)

    def run_traced() -> None:
        Pipeline.run(Request.new("mock", messages), pipeline)

    def run_untraced() -> None:
        Pipeline.run(Request.new("mock", messages), pipeline, trace=False)

    def simple_api() -> None:
        llm.chat("mock", messages)

    builder = llm.build("mock", messages).with_model("mock-1")

    def built() -> None:
        builder.execute()

    async def async_batch(n: int) -> None:
        await asyncio.gather(*(llm.achat("mock", messages) for _ in range(n)))

    for fn in (raw, run_traced, simple_api):  # warm up
        for _ in range(2000):
            fn()
        mock.state.requests.clear()

    results = {
        "raw mock transport call": per_call_us(raw),
        "Pipeline.run (traced)": per_call_us(run_traced),
        "Pipeline.run (trace=False)": per_call_us(run_untraced),
        "llm.chat": per_call_us(simple_api),
        "builder.execute": per_call_us(built),
    }
    mock.state.requests.clear()
    t = time.perf_counter()
    asyncio.run(async_batch(5000))
    results["llm.achat x5000 gathered"] = (time.perf_counter() - t) / 5000 * 1e6
    mock.state.requests.clear()

    per_plug: dict[str, list[int]] = defaultdict(list)
    for _ in range(5000):
        done = Pipeline.run(Request.new("mock", messages), pipeline)
        for step in done.trace:
            per_plug[step.plug].append(step.duration_ns)
    mock.state.requests.clear()

    print(f"{'path':32} {'us/request':>10}")
    for name, us in results.items():
        print(f"{name:32} {us:10.1f}")
    overhead = results["llm.chat"] - results["raw mock transport call"]
    print(f"{'pipeline overhead (llm.chat)':32} {overhead:10.1f}")
    print()
    print(f"{'plug':22} {'median us':>10}")
    for plug, ns in per_plug.items():
        print(f"{plug:22} {statistics.median(ns) / 1000:10.2f}")


if __name__ == "__main__":
    main()
