"""Streamed answers: iterate for chunks, close to stop early.

A stream holds an open connection until its last chunk. Like a file, it is its own
iterator: leaving a `for` loop early only pauses it. Closing it (`close()`, the end of a
`with` block, or dropping the last reference to it) releases the connection at once and
records the run as cancelled, with the tokens and time so far, exactly once. A stream
closed before its first chunk was asked for sent nothing and records nothing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import suppress
from types import TracebackType
from typing import Any

from .errors import PipelineError
from .outcome import finish
from .pipeline import left_by
from .request import Request
from .responses import ChatResponse, StreamChunk


class _Stream:
    """What the sync and async streams share: the finished request and its response."""

    #: with `schema=`: the latest partial object, which the closing chunk carries too
    partial: Any = None

    def __init__(self, items: Any) -> None:
        self._items = items  # the runner's chunks, then its finished request
        self._closed = False
        self.response: ChatResponse | None = None
        self.request: Request | None = None

    def _closing(self, item: Request) -> StreamChunk:
        """The closing chunk, made from the finished request (the runner's last item)."""
        self.request = item
        self.response = r = finish(item)
        return StreamChunk(
            done=True,
            finish_reason=r.finish_reason,
            usage=r.usage,
            tool_calls=r.tool_calls,
            partial=self.partial,
        )

    def _stopped(self, stop: BaseException) -> None:
        """Keep the cancelled request the runner recorded (none if the run had not started)."""
        done = left_by(stop)
        if self.request is None and done is not None:
            self.request = done

    def _text(self) -> str:
        if self.request is None or self.request.state == "cancelled":
            raise PipelineError("The stream was closed before it finished: start a new one.")
        return finish(self.request).content  # raises the stream's error again, if it failed


class ChatStream(_Stream):
    """A streamed answer: iterate for StreamChunks; `.response` holds the ChatResponse afterwards.

    The last chunk has `done=True`, the finish reason and the usage. A failure raises the
    typed error after the chunks that did arrive. Leaving a `for` loop early pauses it (a
    later loop or `text()` reads on); `close()` or the end of a `with` block stops it.
    """

    _items: Generator[Any, None, None]

    def __iter__(self) -> Iterator[StreamChunk]:
        return self

    def __next__(self) -> StreamChunk:
        try:
            item = next(self._items)
        except BaseException as stop:  # Ctrl-C: the runner left the recorded run on it
            self._stopped(stop)
            raise
        if isinstance(item, Request):
            return self._closing(item)
        if item.partial is not None:  # a structured stream's latest object, kept for the close
            self.partial = item.partial
        return item

    def text(self) -> str:
        """The whole answer: consumes what is left of the stream; later calls return it again."""
        for _ in self:
            pass
        return self._text()

    def close(self) -> None:
        """Stop the stream: release its connection and record the run, if still open."""
        if self._closed:
            return
        self._closed = True
        stop = GeneratorExit()
        with suppress(GeneratorExit, StopIteration):
            self._items.throw(stop)
        self._stopped(stop)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncChatStream(_Stream):
    """Async twin of ChatStream: `async for chunk in llm.astream(...)`; `aclose()` or the end
    of an `async with` block stop it early."""

    _items: AsyncGenerator[Any, None]

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        return self

    async def __anext__(self) -> StreamChunk:
        try:
            item = await anext(self._items)
        except BaseException as stop:  # a cancelled task: the runner left the run on it
            self._stopped(stop)
            raise
        if isinstance(item, Request):
            return self._closing(item)
        if item.partial is not None:  # a structured stream's latest object, kept for the close
            self.partial = item.partial
        return item

    async def atext(self) -> str:
        """Async `text()`."""
        async for _ in self:
            pass
        return self._text()

    async def aclose(self) -> None:
        """Stop the stream: release its connection and record the run, if still open."""
        if self._closed:
            return
        self._closed = True
        stop = GeneratorExit()
        with suppress(GeneratorExit, StopAsyncIteration):
            await self._items.athrow(stop)
        self._stopped(stop)

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
