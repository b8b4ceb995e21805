"""The runner: plugs in written order, each timed, until a halt or a terminal error.

The same bookkeeping (`_Run`) serves the four ways to run: `run` (sync), `arun`
(async), `stream` and `astream` (which yield StreamChunks while the execute step
produces them, then the finished Request). The sync ways never touch asyncio, so
they work inside a running event loop (a Jupyter kernel) without patching it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from time import perf_counter_ns, time_ns
from typing import Any

from .errors import PlugContractError
from .plug import Plug, build_pipeline, is_streaming
from .request import Request
from .responses import StreamChunk

log = logging.getLogger("llmpipe_nb.pipeline")

AFTER_RUN = "llmpipe.after_run"
REPLAY = "llmpipe.replay"
#: private key where a plug leaves a note on its own step (what it decided)
NOTE = "llmpipe.note"
CLOSED = "the stream was closed before its end"
_PARTIAL = "llmpipe_request"


@dataclass(frozen=True, slots=True)
class Step:
    """One plug's execution: when, how long, how it ended, and the request right after it."""

    index: int
    plug: str
    started_at_ns: int
    duration_ns: int
    outcome: str  # "ok" | "halted" | "error"
    note: str | None = None
    request: Request | None = None


_listeners: list[Callable[[Request], None]] = []


def add_listener(fn: Callable[[Request], None]) -> None:
    """Call `fn(request)` with every finished request (the ledger records each run this way)."""
    if fn not in _listeners:
        _listeners.append(fn)


def remove_listener(fn: Callable[[Request], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


_rewriters: list[Callable[[Request, tuple[Plug, ...]], tuple[Plug, ...]]] = []


def add_rewriter(fn: Callable[[Request, tuple[Plug, ...]], tuple[Plug, ...]]) -> None:
    """Let `fn(request, plugs)` change the plugs of every run before it starts: a plug for
    the whole session, whatever built the pipeline (`llm.replay` adds its plug this way)."""
    if fn not in _rewriters:
        _rewriters.append(fn)


def remove_rewriter(fn: Callable[[Request, tuple[Plug, ...]], tuple[Plug, ...]]) -> None:
    if fn in _rewriters:
        _rewriters.remove(fn)


def leave_partial(stop: BaseException, request: Request) -> None:
    """Hand the runner the request as it stood when a plug was stopped from outside (Ctrl-C,
    a cancelled task, a closed stream), so the recorded run keeps what the plug had done,
    such as the calls it had already sent."""
    setattr(stop, _PARTIAL, request)


def left_by(stop: BaseException) -> Request | None:
    """The request a stop carries: once a runner has recorded the stopped run, the finished
    (cancelled) request, as its listeners saw it."""
    req = getattr(stop, _PARTIAL, None)
    return req if isinstance(req, Request) else None


class _Run:
    """Timing, tracing and error policy shared by the four runners."""

    __slots__ = ("initial", "plugs", "request", "start_ns", "steps", "trace")

    def __init__(self, request: Request, trace: bool, pipeline: Iterable[Any]) -> None:
        self.trace = trace
        plugs = build_pipeline(pipeline)
        for rewrite in _rewriters:
            plugs = rewrite(request, plugs)
        self.plugs = plugs
        self.initial = request
        self.steps: list[Step] = []
        self.start_ns = time_ns()
        self.request = request.evolve(state="executing") if request.state == "pending" else request

    def record(self, plug: Plug, t0: int, out: Any) -> None:
        t1 = perf_counter_ns()
        if not isinstance(out, Request):
            raise PlugContractError(
                f"Plug {plug.name} returned {type(out).__name__} instead of a Request: "
                "return the (possibly updated) request from call().",
                request=self.request,
            )
        self._append(plug.name, t0, t1, out)

    def failed(self, plug: Plug, t0: int, exc: BaseException) -> None:
        """Called in the `except` of a plug that raised: an error ends the run with it; a stop
        from outside (a stream closed early, a task cancelled, Ctrl-C) ends it cancelled,
        reported to the listeners all the same so no request goes unrecorded, and goes on up."""
        if isinstance(exc, Exception):
            t1 = perf_counter_ns()
            failed = self.request.add_error(exc, terminal=True, plug=plug.name)
            self._append(plug.name, t0, t1, failed)
            return
        reason = CLOSED if isinstance(exc, GeneratorExit) else f"interrupted ({type(exc).__name__})"
        req = left_by(exc)
        if req is None or req.id != self.request.id:  # none, or a nested run's
            req = self.request
        meta = {**req.metadata, "halt_reason": reason}
        self._append(
            plug.name,
            t0,
            perf_counter_ns(),
            req.evolve(state="cancelled", halted=True, metadata=meta),
        )
        leave_partial(exc, self.finish())
        raise exc

    def _append(self, name: str, t0: int, t1: int, out: Request) -> None:
        if out.state == "error":
            outcome, note = "error", _note(out)
        elif out.halted:
            outcome, note = "halted", out.metadata.get("halt_reason")
        else:
            note = out.private.get(NOTE)
            outcome, note = "ok", None if note is self.request.private.get(NOTE) else note
        self.steps.append(
            Step(len(self.steps), name, t0, t1 - t0, outcome, note, out if self.trace else None)
        )
        self.request = out

    def pending(self) -> Iterator[Plug]:
        """The plugs still to run: the pipeline until a halt, then the after-run hooks."""
        for plug in self.plugs:
            if self.request.halted:
                break
            yield plug
        yield from self.after_run_hooks()

    def after_run_hooks(self) -> tuple[Plug, ...]:
        if self.request.state == "error":
            return ()
        return self.request.private.get(AFTER_RUN, ())

    def finish(self) -> Request:
        req = self.request
        state = req.state
        if state == "executing":
            state = "halted" if req.halted else "completed"
        meta = {
            **req.metadata,
            "trace": tuple(self.steps),
            "started_at_ns": self.start_ns,
            "duration_ns": sum(s.duration_ns for s in self.steps),
            "plugs": self.plugs,
        }
        if self.trace:
            meta["initial_request"] = self.initial
        done = req.evolve(state=state, metadata=meta)
        for listener in _listeners:
            try:
                listener(done)
            except Exception:  # a broken listener must never break a user's request
                log.exception("pipeline listener %r failed", listener)
        return done


def _note(req: Request) -> str | None:
    err = req.terminal_error
    return f"{type(err).__name__}: {err}" if err is not None else None


def _tell(items: Any, stop: BaseException) -> None:
    """Pass the stop a streaming run got at its yield to the plug that is mid-stream, which
    closes its connection and can leave what it did on the exception."""
    with suppress(StopIteration):
        items.throw(stop)


async def _atell(items: Any, stop: BaseException) -> None:
    with suppress(StopAsyncIteration):
        await items.athrow(stop)


def _replay(req: Request) -> Iterator[StreamChunk]:
    """Chunks for a stream that was answered without streaming (a cache hit)."""
    stored = req.private.get(REPLAY)
    if stored:
        yield from stored
    elif req.result is not None and isinstance(getattr(req.result, "content", None), str):
        yield StreamChunk(content=req.result.content)


class Pipeline:
    """Runs a pipeline (a list of plug specs) over a request."""

    build = staticmethod(build_pipeline)

    @staticmethod
    def run(request: Request, pipeline: Iterable[Any], *, trace: bool = True) -> Request:
        """Run synchronously and return the finished request (state completed, halted or error)."""
        run = _Run(request, trace, pipeline)
        for plug in run.pending():
            t0 = perf_counter_ns()
            try:
                out = plug.call(run.request)
            except BaseException as exc:
                run.failed(plug, t0, exc)
            else:
                run.record(plug, t0, out)
        return run.finish()

    @staticmethod
    async def arun(request: Request, pipeline: Iterable[Any], *, trace: bool = True) -> Request:
        """Run on the current event loop; I/O plugs wait without blocking it."""
        run = _Run(request, trace, pipeline)
        for plug in run.pending():
            t0 = perf_counter_ns()
            try:
                out = await plug.acall(run.request)
            except BaseException as exc:
                run.failed(plug, t0, exc)
            else:
                run.record(plug, t0, out)
        return run.finish()

    @staticmethod
    def stream(
        request: Request, pipeline: Iterable[Any], *, trace: bool = True
    ) -> Generator[StreamChunk | Request, None, None]:
        """Yield StreamChunks as the execute step produces them, then the finished Request."""
        run = _Run(request, trace, pipeline)
        streamed = False
        for plug in run.pending():
            t0 = perf_counter_ns()
            try:
                if is_streaming(plug):
                    out: Any = run.request
                    items = plug.stream(run.request)  # type: ignore[attr-defined]
                    for item in items:
                        if isinstance(item, StreamChunk):
                            streamed = True
                            try:
                                yield item
                            except BaseException as exc:  # closed: the plug hears it too
                                _tell(items, exc)
                                raise
                        else:
                            out = item
                else:
                    out = plug.call(run.request)
            except BaseException as exc:
                run.failed(plug, t0, exc)
            else:
                run.record(plug, t0, out)
        if not streamed:
            try:
                yield from _replay(run.request)
            except GeneratorExit as stop:
                leave_partial(stop, run.finish())
                raise
        yield run.finish()

    @staticmethod
    async def astream(
        request: Request, pipeline: Iterable[Any], *, trace: bool = True
    ) -> AsyncGenerator[StreamChunk | Request, None]:
        """Async twin of `stream`."""
        run = _Run(request, trace, pipeline)
        streamed = False
        for plug in run.pending():
            t0 = perf_counter_ns()
            try:
                if is_streaming(plug):
                    out: Any = run.request
                    aitems = plug.astream(run.request)  # type: ignore[attr-defined]
                    async for item in aitems:
                        if isinstance(item, StreamChunk):
                            streamed = True
                            try:
                                yield item
                            except BaseException as exc:  # closed: the plug hears it too
                                await _atell(aitems, exc)
                                raise
                        else:
                            out = item
                else:
                    out = await plug.acall(run.request)
            except BaseException as exc:
                run.failed(plug, t0, exc)
            else:
                run.record(plug, t0, out)
        if not streamed:
            try:
                for chunk in _replay(run.request):
                    yield chunk
            except GeneratorExit as stop:
                leave_partial(stop, run.finish())
                raise
        yield run.finish()
