"""Run a coroutine to completion while progress is drawn, from synchronous code (even
inside Jupyter's running loop) or from async code.

From synchronous code the coroutine runs on one long-lived event loop in a daemon
thread (started on first use, and again in a forked child, which inherits no threads),
and the caller's thread blocks on it, waking a few times a second to draw progress. Nothing patches the
caller's loop. Ctrl-C (a kernel interrupt) cancels the coroutine, waits until it has
wound down, and is raised again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..errors import PipelineError

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid = 0
WIND_DOWN_S = 30.0


def loop() -> asyncio.AbstractEventLoop:
    """The background loop of this process, started on first use."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(
                target=_loop.run_forever, name="llmpipe-batch-loop", daemon=True
            )
            _thread.start()
            _pid = os.getpid()
        return _loop


async def _until_done(work: Awaitable[T], finished: threading.Event) -> T:
    try:
        return await work
    finally:
        finished.set()


def run(work: Awaitable[T], tick: Callable[[], Any], every_s: float) -> T:
    """Run `work` on the background loop and return its result; call `tick()` every `every_s`."""
    target = loop()
    if threading.current_thread() is _thread:
        if asyncio.iscoroutine(work):
            work.close()
        raise PipelineError(
            "llm.map was called from code already running on the batch loop (a plug or "
            "callback): use `await llm.amap(...)` there instead."
        )
    finished = threading.Event()
    future = asyncio.run_coroutine_threadsafe(_until_done(work, finished), target)
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


async def ticking(work: Awaitable[T], tick: Callable[[], Any], every_s: float) -> T:
    """`run`'s async twin: await `work` on the caller's loop, calling `tick()` every `every_s`."""

    async def ticker() -> None:
        while True:
            await asyncio.sleep(every_s)
            tick()

    task = asyncio.create_task(ticker())
    try:
        return await work
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
