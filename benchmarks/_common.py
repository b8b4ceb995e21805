"""What the benchmark's measurements share: the request every client sends, and how memory
and open files are read (Linux)."""

from __future__ import annotations

import os
import resource

KEY = "sk-benchmark-000000000000000000"
HEADERS = {"Authorization": f"Bearer {KEY}"}
MESSAGES = [{"role": "user", "content": "hello there"}]
BODY = {"model": "gpt-6-luna", "messages": MESSAGES}


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
