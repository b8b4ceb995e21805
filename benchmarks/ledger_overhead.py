"""What recording a finished request in the ledger costs, in microseconds per request.

Measured on the mock provider (7 plugs, so one cost row and seven trace rows per
request): the ledger's `record` alone, the same with each row written to SQLite, a
whole `llm.chat` with and without the ledger listening, and building the DataFrames
afterwards. Run: .venv/bin/python benchmarks/ledger_overhead.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _common import N, per_call_us

import llmpipe_nb as llm
from llmpipe_nb import pipeline
from llmpipe_nb.ledger.process import _record


def main() -> None:
    done = llm.build("mock", "How much does a ledger row cost?").run()
    llm.ledger().reset()

    memory = llm.Ledger()
    record_us = per_call_us(lambda: memory.record(done))
    with llm.tag("benchmark"):
        tagged_us = per_call_us(lambda: memory.record(done))

    with tempfile.TemporaryDirectory() as tmp:
        persisted = llm.Ledger().persist(Path(tmp) / "ledger.sqlite")
        sqlite_us = per_call_us(lambda: persisted.record(done), n=5_000)
        persisted.persist(None)

    def chat() -> None:
        llm.chat("mock", "hi")

    def without_ledger() -> None:
        pipeline.remove_listener(_record)
        try:
            chat()
        finally:
            pipeline.add_listener(_record)

    with_ledger, without = [], []
    for _ in range(5):  # alternate, so drift on a busy machine hits both alike
        with_ledger.append(per_call_us(chat, n=N // 5))
        without.append(per_call_us(without_ledger, n=N // 5))
    with_ledger_us, without_ledger_us = statistics.median(with_ledger), statistics.median(without)

    rows = len(llm.ledger())
    llm.costs()  # the first call pays for importing pandas
    t = time.perf_counter()
    costs, traces = llm.costs(), llm.traces()
    frames_ms = (time.perf_counter() - t) * 1000
    llm.ledger().reset()

    print(f"ledger.record (1 cost + 7 trace rows), in memory: {record_us:6.2f} us/request")
    print(f"ledger.record inside llm.tag(...):                {tagged_us:6.2f} us/request")
    print(f"ledger.record, written to SQLite (WAL):           {sqlite_us:6.2f} us/request")
    print(f"llm.chat('mock') with the ledger listening:       {with_ledger_us:6.2f} us/request")
    print(f"llm.chat('mock') without it:                      {without_ledger_us:6.2f} us/request")
    print(
        f"costs() + traces() over {len(costs):,} requests ({len(traces):,} trace rows): "
        f"{frames_ms:.0f} ms (rows recorded: {rows:,})"
    )


if __name__ == "__main__":
    main()
