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
from collections.abc import AsyncGenerator, Generator, Iterable
from contextlib import suppress
from typing import Any

from . import rerun
from .request import Request
from .responses import StreamChunk
from .tool_loop import Conversation, resumer
from .tools.approval import default_asker
from .tools.execute import Asker
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
        loop = talk.model_turn(done, began)
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
        runs = [*answered, *run_calls(planned, loop.settings, talk.turns)]
        talk.tool_runs(loop, done, runs)
        yield from _results(talk, runs)


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
        loop = talk.model_turn(done, began)
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
        runs = [*answered, *await arun_calls(planned, loop.settings, talk.turns)]
        talk.tool_runs(loop, done, runs)
        for chunk in _results(talk, runs):
            yield chunk


def _asked(done: Request) -> StreamChunk:
    """The chunk that ends a turn asking for tools."""
    result = done.result
    return StreamChunk(
        finish_reason=result.finish_reason or "tool_calls",
        usage=result.usage,
        tool_calls=result.tool_calls,
    )


def _results(talk: Conversation, runs: list[ToolRun]) -> list[StreamChunk]:
    """The tool runs just recorded, as chunks, in the order the model asked for them."""
    recorded = [step for step in talk.steps if isinstance(step, ToolRun)][-len(runs) :]
    return [StreamChunk(tool_result=run) for run in recorded] if runs else []
