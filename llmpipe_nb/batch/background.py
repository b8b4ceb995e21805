"""Run a coroutine to completion from synchronous code, even inside Jupyter's running loop.

The coroutine runs on one long-lived event loop in a daemon thread (created on first
use), and the caller's thread blocks on it, waking a few times a second to draw
progress. Nothing patches the caller's loop. Ctrl-C (a kernel interrupt) cancels the
coroutine, waits until it has wound down, and is raised again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
WIND_DOWN_S = 30.0


def loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            threading.Thread(target=new.run_forever, name="llmpipe-batch-loop", daemon=True).start()
            _loop = new
        return _loop


async def _until_done(work: Awaitable[T], finished: threading.Event) -> T:
    try:
        return await work
    finally:
        finished.set()


def run(work: Awaitable[T], tick: Callable[[], Any], every_s: float) -> T:
    """Run `work` on the background loop and return its result; call `tick()` every `every_s`."""
    finished = threading.Event()
    future = asyncio.run_coroutine_threadsafe(_until_done(work, finished), loop())
    try:
        while True:
            try:
                return future.result(timeout=every_s)
            except concurrent.futures.TimeoutError:
                tick()
    except KeyboardInterrupt:
        future.cancel()
        finished.wait(WIND_DOWN_S)
        raise
