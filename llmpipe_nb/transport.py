"""What a prepare plug asks to send, what comes back, and the transport that sends it.

Provider plugs speak only these small values, so prepare and parse stay pure functions
of data (testable without a socket) and the mock provider can answer in-process
through exactly the same execute step as the HTTP providers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .responses import StreamChunk, Usage


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One call to make: `path` is relative to the provider's base URL."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    stream: Literal["sse", "ndjson", "eventstream"] | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A successful answer: status, headers and the decoded body (JSON, or text)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    elapsed_ms: float = 0.0

    @property
    def request_id(self) -> str | None:
        h = self.headers
        return h.get("x-request-id") or h.get("request-id")


class EventStream(Protocol):
    """An open streaming answer: its headers, then its events (SSE events, NDJSON objects or
    AWS event-stream messages)."""

    headers: Mapping[str, str]

    def __iter__(self) -> Iterator[Any]: ...


class AsyncEventStream(Protocol):
    headers: Mapping[str, str]

    def __aiter__(self) -> AsyncIterator[Any]: ...


class Transport(Protocol):
    """Sends HttpCalls. Non-2xx answers, connection failures and timeouts raise ProviderError."""

    def send(self, call: HttpCall) -> HttpResponse: ...

    async def asend(self, call: HttpCall) -> HttpResponse: ...

    def stream(self, call: HttpCall) -> AbstractContextManager[EventStream]: ...

    def astream(self, call: HttpCall) -> AbstractAsyncContextManager[AsyncEventStream]: ...


class StreamDecoder(Protocol):
    """Turns a provider's stream events into chunks, and assembles the whole answer.

    `result()` returns a body shaped like the provider's non-streaming answer, so the
    same parse plug handles both.
    """

    @property
    def complete(self) -> bool:
        """Whether the end marker was seen."""

    @property
    def partial_text(self) -> str:
        """The text assembled so far."""

    @property
    def usage(self) -> Usage | None:
        """The usage, once the stream reported it."""

    def feed(self, event: Any) -> Iterable[StreamChunk]: ...

    def result(self) -> Any: ...
