"""What the benchmark's measurements share: the request every client sends, how a call
is timed, and how memory and open files are read (Linux)."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable

KEY = "sk-benchmark-000000000000000000"
HEADERS = {"Authorization": f"Bearer {KEY}"}
MESSAGES = [{"role": "user", "content": "hello there"}]
BODY = {"model": "gpt-6-luna", "messages": MESSAGES}
#: calls timed per measurement
N = 20_000


def per_call_us(fn: Callable[[], object], n: int = N) -> float:
    """Median over 5 rounds of the mean time per call, in microseconds."""
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n // 5):
            fn()
        rounds.append((time.perf_counter() - t) / (n // 5) * 1e6)
    return statistics.median(rounds)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
