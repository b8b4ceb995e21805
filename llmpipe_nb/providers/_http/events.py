"""A streaming answer's bytes as events: SSE events, NDJSON lines decoded as JSON, or AWS
event-stream messages (binary frames whose CRCs are checked)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx2

from ...errors import ResponseFormatError
from .._eventstream import EventStreamError, EventStreamParser
from .._sse import NDJSONSplitter, SSEParser

if TYPE_CHECKING:
    from .transport import HttpTransport


class _Framing:
    """Bytes to events: SSE events as `SSEEvent`, NDJSON lines as decoded JSON values,
    event-stream messages as `EventMessage`."""

    def __init__(
        self, transport: HttpTransport, response: httpx2.Response, framing: str | None
    ) -> None:
        self.headers: Mapping[str, str] = dict(response.headers)
        self._transport = transport
        self._response = response
        self._parser: SSEParser | EventStreamParser | NDJSONSplitter = (
            SSEParser()
            if framing == "sse"
            else EventStreamParser()
            if framing == "eventstream"
            else NDJSONSplitter()
        )

    def _events(self, chunk: bytes | None) -> list[Any]:
        parser = self._parser
        if isinstance(parser, SSEParser):
            return parser.feed(chunk) if chunk is not None else parser.close()
        if isinstance(parser, EventStreamParser):
            try:
                return parser.feed(chunk) if chunk is not None else parser.close()
            except EventStreamError as exc:
                raise ResponseFormatError(
                    f"{self._transport.provider.name} sent a damaged event-stream frame ({exc}).",
                    provider=self._transport.provider.name,
                ) from None
        lines = parser.feed(chunk) if chunk is not None else parser.close()
        try:
            return [json.loads(line) for line in lines]
        except ValueError:
            raise ResponseFormatError(
                f"{self._transport.provider.name} sent a stream line that is not valid JSON: "
                "check that base_url points at its API.",
                provider=self._transport.provider.name,
            ) from None


class Events(_Framing):
    """An open streaming answer: iterate for events as they arrive."""

    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self._response.iter_bytes():
                yield from self._events(chunk)
        except httpx2.HTTPError as exc:
            raise self._transport._failure(exc, streaming=True) from None
        yield from self._events(None)


class AsyncEvents(_Framing):
    """Async twin of Events."""

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self._response.aiter_bytes():
                for event in self._events(chunk):
                    yield event
        except httpx2.HTTPError as exc:
            raise self._transport._failure(exc, streaming=True) from None
        for event in self._events(None):
            yield event
