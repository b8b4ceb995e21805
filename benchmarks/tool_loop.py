"""The tool loop's own cost per step, beside the HTTP time of its model turns.

One tool step: the model asks for a tool, it runs, the model answers (two turns). Timed
on the mock provider (no HTTP: what is left is pipelines and the loop) and on the
loopback OpenAI server (real HTTP on 127.0.0.1), each two ways:

- the loop: `llm.chat(provider, prompt, tools=[fn])`;
- by hand: the same two turns as two `llm.chat` calls with the tool spec as a dict, the
  function called in between and its result appended, which is what the loop saves you
  writing. The difference is what the loop adds.

Each loop is broken down from its `reply.steps` and each turn's trace: the HTTP time (the
ExecuteRequest plug), the rest of each turn's pipeline, the tool run, and the loop's own
bookkeeping outside the turns (checking the arguments, the worker thread, the next
request). Medians over N runs.

Run: .venv/bin/python benchmarks/tool_loop.py [--runs 200]
The server shares the machine's cores, so compare the rows with each other.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer
from llmpipe_nb.tools.execute import output_of

KEY = "sk-benchmark-0000000000000000"
PROMPT = "Paris"


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


SPEC = llm.Tool.of(get_weather).spec


def by_hand(provider: str, options: dict[str, Any]) -> Any:
    """The two turns of one tool step, written out as a user would without the loop."""
    first = llm.chat(provider, PROMPT, tools=[SPEC], **options)
    messages: list[Any] = [{"role": "user", "content": PROMPT}, first.message]
    for call in first.tool_calls:
        output = output_of(get_weather(**call.arguments))
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": output}
        )
    return llm.chat(provider, messages, tools=[SPEC], **options)


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], list[Any]]:
    """(milliseconds of each run, what each returned), after a few warm-up runs."""
    for _ in range(10):
        fn()
    times, results = [], []
    for _ in range(runs):
        started = time.perf_counter()
        results.append(fn())
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def plug_ms(request: Any, name: str) -> float:
    return sum(s.duration_ns for s in request.trace if s.plug == name) / 1e6


def breakdown(replies: list[Any]) -> dict[str, float]:
    """Medians of the parts of each loop, from its steps and its turns' traces."""
    parts: dict[str, list[float]] = {
        k: [] for k in ("turns", "http", "run_tools", "tool_runs", "steps")
    }
    for reply in replies:
        turns = [s for s in reply.steps if isinstance(s, llm.ModelTurn)]
        runs = [s for s in reply.steps if isinstance(s, llm.ToolRun)]
        assert len(turns) == 2 and [r.status for r in runs] == ["ok"], reply.steps
        parts["turns"].append(sum(t.duration_ms for t in turns))
        parts["http"].append(sum(plug_ms(t.response.request, "ExecuteRequest") for t in turns))
        parts["run_tools"].append(sum(plug_ms(t.response.request, "RunTools") for t in turns))
        parts["tool_runs"].append(sum(r.duration_ms for r in runs))
        parts["steps"].append(len(turns) - 1)
    return {k: statistics.median(v) for k, v in parts.items()}


def report(label: str, loop: list[float], hand: list[float], parts: dict[str, float]) -> None:
    whole, manual = statistics.median(loop), statistics.median(hand)
    own = whole - parts["turns"] - parts["tool_runs"]
    steps = parts["steps"]
    print(f"\n{label}: one tool step (two model turns), medians")
    print(f"  the loop, whole                 {whole:8.3f} ms")
    print(f"    the two model turns           {parts['turns']:8.3f} ms")
    print(f"      of which HTTP               {parts['http']:8.3f} ms")
    print(f"      of which RunTools (plug)    {parts['run_tools']:8.3f} ms")
    print(f"    the tool run                  {parts['tool_runs']:8.3f} ms")
    print(f"    the loop's own bookkeeping    {own:8.3f} ms  ({own / steps:.3f} ms per step)")
    print(f"  by hand (two llm.chat calls)    {manual:8.3f} ms")
    print(f"  the loop over by hand           {(whole - manual) / steps:+8.3f} ms per step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    llm.ledger().persist(None)

    def loop_on(provider: str, options: dict[str, Any]) -> Callable[[], Any]:
        return lambda: llm.chat(provider, PROMPT, tools=[get_weather], **options)

    loop, replies = timed(loop_on("mock", {}), args.runs)
    hand, _ = timed(lambda: by_hand("mock", {}), args.runs)
    report("mock (in-process, no HTTP)", loop, hand, breakdown(replies))

    with FakeServer("openai") as server:
        options = {"base_url": server.base_url, "api_key": KEY, "model": "gpt-6.1-sol"}
        loop, replies = timed(loop_on("openai", options), args.runs)
        hand, _ = timed(lambda: by_hand("openai", options), args.runs)
    report("openai (loopback HTTP)", loop, hand, breakdown(replies))


if __name__ == "__main__":
    main()
