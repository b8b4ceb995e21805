"""`AiohttpTransport`: async calls over aiohttp, for a provider configured with
`transport="aiohttp"` (or `LLMPIPE_TRANSPORT=aiohttp`); imported only then.

It keeps the httpx2 transport's contract: the same timeouts (connect, read, idle between
chunks), pool size, proxies and CA bundle from the environment, typed errors in the same
words with the same retry hints, the same stream framing, and a connection that closes
when its stream is left midway. Sync calls go through the httpx2 transport it holds:
handing each call to an event loop in another thread costs more than aiohttp saves.

One `ClientSession` per event loop (`aio_session.py`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx2
import yarl

from ...config import ProviderConfig
from ...errors import ProviderError
from ...transport import HttpCall, HttpResponse
from .aio_session import Session, tls
from .answers import answer, status_error
from .events import Framing
from .failures import failure
from .transport import HttpTransport

if TYPE_CHECKING:
    from .provider import HttpProvider

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class AiohttpTransport:
    """Sends HttpCalls for one provider configuration: async over aiohttp, sync over httpx2."""

    def __init__(self, provider: HttpProvider, config: ProviderConfig) -> None:
        self._http = HttpTransport(provider, config)  # checks the configuration, too
        self.provider = provider
        self.config = config
        self.read_timeout = self._http.read_timeout
        self.connect_timeout = self._http.connect_timeout
        self.idle_timeout = self._http.idle_timeout
        self.max_connections = self._http.max_connections
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Session] = (
            weakref.WeakKeyDictionary()
        )
        self._urls: dict[str, yarl.URL] = {}
        self._signs = _signs(provider)
        self._lock = threading.Lock()
        self._in_use = 0
        self._retired = False

    def __repr__(self) -> str:
        return f"<AiohttpTransport {self.provider.name} {self.config.base_url}>"

    @property
    def where(self) -> tuple[str, str | None]:
        return self._http.where

    # -- sync calls: httpx2 ---------------------------------------------------------------

    def send(self, call: HttpCall) -> HttpResponse:
        return self._http.send(call)

    def stream(self, call: HttpCall) -> Any:
        return self._http.stream(call)

    def upload(
        self, path: str, fields: Mapping[str, str], file: tuple[str, bytes, str]
    ) -> HttpResponse:
        """A batch's input file, sent as the httpx2 transport sends it."""
        return self._http.upload(path, fields, file)

    def fetch_text(self, path: str, headers: Mapping[str, str] | None = None) -> str:
        """A text body (a batch's JSONL results), read as the httpx2 transport reads it."""
        return self._http.fetch_text(path, headers)

    # -- sessions ---------------------------------------------------------------------------

    async def _session(self) -> Session:
        """This event loop's session, counted in use until `_release`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._sessions.get(loop)
            if held is None:
                held = self._sessions[loop] = Session(self, loop)
            self._in_use += 1
        if not held.watched:
            await held.watch()
        return held

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            finished = self._retired and self._in_use == 0
        if finished:
            self._close_sessions()

    def retire(self) -> None:
        """Out of the pool: close the clients now, or when the last call in flight ends."""
        self._http.retire()
        with self._lock:
            self._retired = True
            idle = self._in_use == 0
        if idle:
            self._close_sessions()

    def close(self) -> None:
        """Close the sync client and every session (each on its loop, if that loop runs)."""
        self._http.close()
        self._close_sessions()

    def _close_sessions(self) -> None:
        with self._lock:
            held = list(self._sessions.values())
            self._sessions.clear()
        for session in held:
            session.close()

    def _forget(self, loop: asyncio.AbstractEventLoop, held: Session) -> None:
        with self._lock:
            if self._sessions.get(loop) is held:
                del self._sessions[loop]

    # -- sending ----------------------------------------------------------------------------

    async def asend(self, call: HttpCall) -> HttpResponse:
        session = await self._session()
        started = time.perf_counter()
        try:
            try:
                async with self._send(session, call) as response:
                    if response.status >= 300:
                        raise await self._status_error(response, call)
                    content = await response.read()
                    headers = _headers(response.headers)
                    return answer(self.provider.name, response.status, headers, content, started)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise self._failure(exc, streaming=False) from None
        finally:
            self._release()

    @asynccontextmanager
    async def astream(self, call: HttpCall) -> AsyncIterator[AiohttpEvents]:
        session = await self._session()
        try:
            try:
                response = await self._send(session, call)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise self._failure(exc, streaming=False) from None
            try:
                if response.status >= 300:
                    try:
                        raise await self._status_error(response, call)
                    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                        raise self._failure(exc, streaming=True) from None
                yield AiohttpEvents(self, response, call.stream)
            except BaseException:
                response.close()  # left midway (closed, cancelled, failed): drop the connection
                raise
            response.release()
        finally:
            self._release()

    def _send(self, held: Session, call: HttpCall) -> Any:
        """The request under way (await it, or use it as a context manager)."""
        url, headers, body = self._request(call)
        proxy, proxy_auth = held.proxy(url)
        return held.session.request(
            call.method,
            url,
            data=body,
            headers=headers,
            timeout=self._timeout(call),
            ssl=tls(url),
            proxy=proxy,
            proxy_auth=proxy_auth,
            allow_redirects=False,  # as httpx2: a redirect is an answer, not followed
        )

    def _request(self, call: HttpCall) -> tuple[yarl.URL, dict[str, str], bytes | None]:
        """The URL, headers and body of a call, as the httpx2 transport would send them."""
        headers = {**call.headers, **self.provider.auth_headers(self.config)}
        body = None if call.json is None else _dumps(call.json).encode()
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        if call.stream == "sse":
            headers.setdefault("Accept", "text/event-stream")
        raw = self.provider.url(self.config, call)
        if self._signs:  # the provider signs the final request: build it as httpx2 would
            request = httpx2.Request(
                call.method, raw, params=dict(call.params) or None, headers=headers, content=body
            )
            self.provider.sign(request, self.config)
            return yarl.URL(str(request.url), encoded=True), dict(request.headers), body
        url = self._urls.get(raw)
        if url is None:
            if len(self._urls) > 256:
                self._urls.clear()
            url = self._urls[raw] = _url(raw)
        if call.params:
            url = url.update_query(dict(call.params))
        return url, headers, body

    def _timeout(self, call: HttpCall) -> aiohttp.ClientTimeout:
        return _timeout(
            self.read_timeout, self.connect_timeout, self.idle_timeout, bool(call.stream)
        )

    # -- answers and failures -------------------------------------------------------------

    async def _status_error(
        self, response: aiohttp.ClientResponse, call: HttpCall
    ) -> ProviderError:
        """The provider's typed error, as the httpx2 transport makes it."""
        raw = await response.read()
        return status_error(
            self.provider,
            response.status,
            _headers(response.headers),
            raw.decode(response.get_encoding(), errors="replace"),
            response.request_info.url.path,
            b"" if call.json is None else _dumps(call.json).encode(),
        )

    def _failure(self, exc: BaseException, *, streaming: bool) -> ProviderError:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return failure(self, "connect_timeout")
        if isinstance(exc, asyncio.TimeoutError):
            return failure(self, "idle_timeout" if streaming else "read_timeout")
        if isinstance(exc, (aiohttp.NonHttpUrlClientError, aiohttp.InvalidUrlClientError)):
            return failure(self, "not_http")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return failure(self, "connect")
        return failure(self, "broke", exc)


class AiohttpEvents:
    """An open streaming answer read from aiohttp: iterate for events as they arrive. Each
    read takes what the socket has (several events when the reader lags), and aiohttp stops
    reading the socket while its buffer is full, so a slow consumer holds the server back."""

    def __init__(
        self, transport: AiohttpTransport, response: aiohttp.ClientResponse, framing: str | None
    ) -> None:
        self.headers: Mapping[str, str] = _headers(response.headers)
        self._transport = transport
        self._content = response.content
        self._framing = Framing(transport.provider.name, framing)

    async def __aiter__(self) -> AsyncIterator[Any]:
        feed, read = self._framing.feed, self._content.readany
        try:
            while piece := await read():
                for event in feed(piece):
                    yield event
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._transport._failure(exc, streaming=True) from None
        for event in self._framing.close():
            yield event


@functools.cache
def _timeout(read: float, connect: float, idle: float, streaming: bool) -> aiohttp.ClientTimeout:
    """httpx2's timeouts in aiohttp's terms: time to connect, and to wait for each read
    (between chunks, for a stream); a wait for a free connection counts as connecting."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=read + connect,
        sock_connect=connect,
        sock_read=idle if streaming else read,
    )


def _url(raw: str) -> yarl.URL:
    """The URL exactly as given (yarl would decode `%3A` in a path), encoded as httpx2 would
    where it has characters a URL cannot carry."""
    if not raw.isascii() or " " in raw:
        raw = str(httpx2.URL(raw))
    return yarl.URL(raw, encoded=True)


def _headers(raw: Mapping[str, str]) -> dict[str, str]:
    """Response headers as the httpx2 transport gives them: lower-case names, repeats joined."""
    out: dict[str, str] = {}
    items = raw.items()
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _signs(provider: HttpProvider) -> bool:
    """Whether the provider signs its requests (overrides `HttpProvider.sign`)."""
    for klass in type(provider).__mro__:
        if "sign" in vars(klass):
            return klass.__module__ != f"{__package__}.provider"
    return False
