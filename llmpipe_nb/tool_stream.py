"""The tool loop, streamed: each model turn's chunks, then the tool runs as chunks of their own.

A turn that asks for tools ends with a chunk of kind "tool_calls" (the calls, the finish
reason); each call about to run is a "tool_start" chunk, each finished one a
"tool_result" chunk carrying its `ToolRun`; then the next turn streams. The last item is
the finished request of the answering turn, with `steps`, as in `tool_loop.run`. A loop
that must wait for approval ends the stream with `pending` set; `reply.resume(...)` goes
on without streaming.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from contextlib import suppress
from typing import Any

from . import rerun
from .plugs.run_tools import Loop
from .request import Request
from .responses import StreamChunk
from .tool_loop import Conversation, resumer
from .tools.approval import default_asker
from .tools.execute import Asker, Planned, Settings
from .tools.execute import arun as arun_calls
from .tools.execute import run as run_calls
from .tools.steps import ToolRun


def stream(
    request: Request, pipeline: Iterable[Any], *, asker: Asker | None = None
) -> Generator[StreamChunk | Request, None, None]:
    """`rerun.stream`, running the tool calls between turns (see the module doc)."""
    talk = Conversation(request, tuple(pipeline), asker or default_asker())
    if talk.tag is None:
        return rerun.stream(request, talk.pipeline)
    return _stream(talk)


def _stream(talk: Conversation) -> Generator[Any, None, None]:
    while True:
        began = time.perf_counter()
        items = rerun.stream(talk.request(), talk.pipeline)
        done: Request | None = None
        for item in items:
            if isinstance(item, Request):
                done = item
                continue
            try:
                yield item
            except BaseException as stop:  # closed: the turn in flight hears it and records it
                with suppress(StopIteration):
                    items.throw(stop)
                raise
        assert done is not None
        turn = _TurnEnd(talk, done, began)
        yield from turn
        if turn.calls is None:
            return
        yield from turn.finish(run_calls(*turn.calls))


def astream(
    request: Request, pipeline: Iterable[Any], *, asker: Asker | None = None
) -> AsyncGenerator[StreamChunk | Request, None]:
    """Async `stream`: async tools are awaited on the caller's loop."""
    talk = Conversation(request, tuple(pipeline), asker or default_asker())
    if talk.tag is None:
        return rerun.astream(request, talk.pipeline)
    return _astream(talk)


async def _astream(talk: Conversation) -> AsyncGenerator[Any, None]:
    while True:
        began = time.perf_counter()
        items = rerun.astream(talk.request(), talk.pipeline)
        done: Request | None = None
        async for item in items:
            if isinstance(item, Request):
                done = item
                continue
            try:
                yield item
            except BaseException as stop:
                with suppress(StopAsyncIteration):
                    await items.athrow(stop)
                raise
        assert done is not None
        turn = _TurnEnd(talk, done, began)
        for item in turn:
            yield item
        if turn.calls is None:
            return
        for chunk in turn.finish(await arun_calls(*turn.calls)):
            yield chunk


class _TurnEnd:
    """What follows a model turn, for both streams: its chunks, one at a time (the
    tool_calls chunk is out before an approval is asked), then `calls`, the arguments of
    the tool run still to do (None: the stream has ended), and `finish` for its results."""

    def __init__(self, talk: Conversation, done: Request, began: float) -> None:
        self.talk = talk
        self.done = done
        self.began = began
        self.calls: tuple[list[Planned], Settings, int] | None = None
        self._answered: list[ToolRun] = []
        self._loop: Loop | None = None

    def __iter__(self) -> Iterator[StreamChunk | Request]:
        talk, done = self.talk, self.done
        loop = talk.model_turn(done, self.began)
        if loop is None:
            yield talk.answer(done)
            return
        yield _asked(done)
        planned, answered, waiting = talk.plan(loop, done, None)
        if waiting:
            talk.paused = (done, loop)
            yield talk.pause(done, waiting, resumer(talk))
            return
        for ready in planned:
            yield StreamChunk(tool_start=ready.call)
        self._loop, self._answered = loop, answered
        self.calls = (planned, loop.settings, talk.turns)

    def finish(self, ran: list[ToolRun]) -> list[StreamChunk]:
        """Record the runs (those already answered first) and give them back as chunks,
        in the order the model asked for them."""
        assert self._loop is not None, "after the turn's chunks"
        runs = [*self._answered, *ran]
        self.talk.tool_runs(self._loop, self.done, runs)
        recorded = [step for step in self.talk.steps if isinstance(step, ToolRun)][-len(runs) :]
        return [StreamChunk(tool_result=run) for run in recorded] if runs else []


def _asked(done: Request) -> StreamChunk:
    """The chunk that ends a turn asking for tools."""
    result = done.result
    return StreamChunk(
        finish_reason=result.finish_reason or "tool_calls",
        usage=result.usage,
        tool_calls=result.tool_calls,
    )
