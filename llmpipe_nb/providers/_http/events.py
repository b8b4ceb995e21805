"""A streaming answer's bytes as events: SSE events, NDJSON lines decoded as JSON, or AWS
event-stream messages (binary frames whose CRCs are checked).

`Framing` is the part every transport shares (bytes in, events out, damaged frames as
typed errors); `Events` and `AsyncEvents` read an httpx2 response into it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx2

from ...errors import ResponseFormatError
from .._eventstream import EventStreamError, EventStreamParser
from .._sse import NDJSONSplitter, SSEParser

if TYPE_CHECKING:
    from .transport import HttpTransport


class Framing:
    """Bytes to events: SSE events as `SSEEvent`, NDJSON lines as decoded JSON values,
    event-stream messages as `EventMessage`. `feed` runs once per network read, so for
    SSE it is the parser's own method, with nothing around it."""

    __slots__ = ("close", "feed", "provider")

    def __init__(self, provider: str, framing: str | None) -> None:
        self.provider = provider
        self.feed: Callable[[bytes], list[Any]]
        self.close: Callable[[], list[Any]]
        if framing == "sse":
            sse = SSEParser()
            self.feed, self.close = sse.feed, sse.close
        elif framing == "eventstream":
            frames = EventStreamParser()
            self.feed = lambda chunk: self._checked(frames.feed, chunk)
            self.close = lambda: self._checked(frames.close)
        else:
            lines = NDJSONSplitter()
            self.feed = lambda chunk: self._decoded(lines.feed(chunk))
            self.close = lambda: self._decoded(lines.close())

    def _checked(self, step: Callable[..., list[Any]], *chunk: bytes) -> list[Any]:
        try:
            return step(*chunk)
        except EventStreamError as exc:
            raise ResponseFormatError(
                f"{self.provider} sent a damaged event-stream frame ({exc}).",
                provider=self.provider,
            ) from None

    def _decoded(self, lines: list[str]) -> list[Any]:
        try:
            return [json.loads(line) for line in lines]
        except ValueError:
            raise ResponseFormatError(
                f"{self.provider} sent a stream line that is not valid JSON: "
                "check that base_url points at its API.",
                provider=self.provider,
            ) from None


class _Events:
    def __init__(
        self, transport: HttpTransport, response: httpx2.Response, framing: str | None
    ) -> None:
        self.headers: Mapping[str, str] = dict(response.headers)
        self._transport = transport
        self._response = response
        self._framing = Framing(transport.provider.name, framing)
        # an answer sent without content-encoding is read as it comes off the connection,
        # one generator fewer per read than `iter_bytes()`
        self._plain = response.headers.get("content-encoding", "identity") == "identity"


class Events(_Events):
    """An open streaming answer: iterate for events as they arrive."""

    def __iter__(self) -> Iterator[Any]:
        response = self._response
        feed = self._framing.feed
        pieces = iter(response.stream) if self._plain else response.iter_bytes()  # type: ignore[arg-type]
        try:
            for piece in pieces:
                yield from feed(piece)
        except httpx2.HTTPError as exc:
            raise self._transport._failure(exc, streaming=True) from None
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        yield from self._framing.close()


class AsyncEvents(_Events):
    """Async twin of Events."""

    async def __aiter__(self) -> AsyncIterator[Any]:
        response = self._response
        feed = self._framing.feed
        pieces = aiter(response.stream) if self._plain else response.aiter_bytes()  # type: ignore[arg-type]
        try:
            async for piece in pieces:
                for event in feed(piece):
                    yield event
        except httpx2.HTTPError as exc:
            raise self._transport._failure(exc, streaming=True) from None
        finally:
            aclose = getattr(pieces, "aclose", None)
            if aclose is not None:
                await aclose()
        for event in self._framing.close():
            yield event
