"""`HttpTransport`: sends HttpCalls for one provider configuration over pooled httpx2
clients (sync, and async per event loop; a loop's client closes when the loop shuts
down). Credentials are read from their `Secret` only
when a request is sent and never stored in the client. Every failure leaves as a typed
`ProviderError`: non-2xx answers through the provider's `map_error`, connection failures
and timeouts here."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import httpx2

from ..._version import __version__
from ...config import ProviderConfig
from ...errors import ConfigError, ProviderError
from ...transport import HttpCall, HttpResponse
from .answers import answer, status_error
from .events import AsyncEvents, Events
from .failures import failure

if TYPE_CHECKING:
    from .provider import HttpProvider

DEFAULT_TIMEOUT = 120.0  # seconds to wait for an answer, or between stream chunks
CONNECT_TIMEOUT = 10.0
MAX_CONNECTIONS = 100  # open connections per client; calls beyond wait for one
KEEPALIVE_S = 5.0  # how long an idle connection is kept for the next call

# async clients closed while their loop was not running, kept until that loop shuts down
_left_to_loops: dict[httpx2.AsyncClient, AsyncGenerator[None, None]] = {}


class HttpTransport:
    """Sends HttpCalls for one provider configuration over pooled httpx2 clients."""

    def __init__(self, provider: HttpProvider, config: ProviderConfig) -> None:
        if not config.base_url:
            raise ConfigError(
                f"No base_url for provider '{provider.name}': pass base_url=... "
                f"or call llm.configure('{provider.name}', base_url=...)."
            )
        self.provider = provider
        self.config = config
        extra = dict(config.extra)
        self.read_timeout = config.timeout or DEFAULT_TIMEOUT
        self.connect_timeout = float(
            extra.get("connect_timeout", min(CONNECT_TIMEOUT, self.read_timeout))
        )
        self.idle_timeout = float(extra.get("idle_timeout", self.read_timeout))
        self.max_connections = int(extra.get("max_connections", MAX_CONNECTIONS))
        self._sync: httpx2.Client | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[httpx2.AsyncClient, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._in_use = 0  # calls in flight
        self._retired = False

    def __repr__(self) -> str:
        return f"<HttpTransport {self.provider.name} {self.config.base_url}>"

    # -- clients --------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        return {
            "timeout": httpx2.Timeout(self.read_timeout, connect=self.connect_timeout),
            "limits": httpx2.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=min(20, self.max_connections),
                keepalive_expiry=KEEPALIVE_S,
            ),
            "headers": {"User-Agent": f"llmpipe_nb/{__version__}", **dict(self.config.headers)},
        }

    def _client(self) -> httpx2.Client:
        """The sync client, counted in use until `_release`."""
        with self._lock:
            if self._sync is None:
                self._sync = httpx2.Client(**self._options())
            self._in_use += 1
            return self._sync

    async def _aclient(self) -> httpx2.AsyncClient:
        """This event loop's client, counted in use until `_release`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.get(loop)
            if entry is None:
                client = httpx2.AsyncClient(**self._options())
                entry = self._async[loop] = (client, self._closed_with_loop(loop, client))
                fresh = True
            else:
                fresh = False
            self._in_use += 1
        if fresh:
            await anext(entry[1])
        return entry[0]

    async def _closed_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: httpx2.AsyncClient
    ) -> AsyncGenerator[None, None]:
        """Suspended until its loop shuts down, then closes the loop's client: a loop ended
        by `asyncio.run` (or any runner) closes its async generators before it closes, and
        a client left open there would leak its sockets once the loop is gone."""
        try:
            yield
        finally:
            with self._lock:
                if self._async.get(loop, (None,))[0] is client:
                    del self._async[loop]
            _left_to_loops.pop(client, None)
            await client.aclose()

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            finished = self._retired and self._in_use == 0
        if finished:
            self.close()

    def retire(self) -> None:
        """Out of the pool: close the clients now, or when the last call in flight ends."""
        with self._lock:
            self._retired = True
            idle = self._in_use == 0
        if idle:
            self.close()

    def close(self) -> None:
        """Close the clients; an async one closes on its event loop if that still runs."""
        with self._lock:
            client, self._sync = self._sync, None
            aclients = list(self._async.items())
            self._async.clear()
        if client is not None:
            client.close()
        for loop, (aclient, closer) in aclients:
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(aclient.aclose(), loop)
            elif not loop.is_closed():
                _left_to_loops[aclient] = closer  # closed when that loop shuts down

    def _request(
        self, client: httpx2.Client | httpx2.AsyncClient, call: HttpCall
    ) -> httpx2.Request:
        headers = {**call.headers, **self.provider.auth_headers(self.config)}
        if call.stream == "sse":
            headers.setdefault("Accept", "text/event-stream")
        timeout = httpx2.Timeout(
            self.idle_timeout if call.stream else self.read_timeout, connect=self.connect_timeout
        )
        request = client.build_request(
            call.method,
            self.provider.url(self.config, call),
            json=call.json,
            params=dict(call.params) or None,
            headers=headers,
            timeout=timeout,
        )
        self.provider.sign(request, self.config)
        return request

    # -- sending ----------------------------------------------------------------------------

    def send(self, call: HttpCall) -> HttpResponse:
        client = self._client()
        started = time.perf_counter()
        try:
            response = client.send(self._request(client, call))
        except httpx2.HTTPError as exc:
            raise self._failure(exc, streaming=False) from None
        finally:
            self._release()
        return self._answer(response, started)

    async def asend(self, call: HttpCall) -> HttpResponse:
        client = await self._aclient()
        started = time.perf_counter()
        try:
            response = await client.send(self._request(client, call))
        except httpx2.HTTPError as exc:
            raise self._failure(exc, streaming=False) from None
        finally:
            self._release()
        return self._answer(response, started)

    def upload(
        self, path: str, fields: Mapping[str, str], file: tuple[str, bytes, str]
    ) -> HttpResponse:
        """POST a multipart form with one `file` (name, content, media type), as the Files
        API takes a batch's input; the JSON answer comes back."""
        response, started = self._send_raw(
            "POST", path, {}, data=dict(fields), files={"file": file}
        )
        return self._answer(response, started)

    def fetch_text(self, path: str, headers: Mapping[str, str] | None = None) -> str:
        """GET a body that is text, not JSON (a JSONL results file)."""
        response, _ = self._send_raw("GET", path, dict(headers or {}))
        if response.status_code >= 300:
            raise self._status_error(response)
        return response.text

    def _send_raw(
        self, method: str, path: str, headers: dict[str, str], **content: Any
    ) -> tuple[httpx2.Response, float]:
        client = self._client()
        started = time.perf_counter()
        try:
            request = client.build_request(
                method,
                self.config.base_url + path,  # type: ignore[operator]
                headers={**headers, **self.provider.auth_headers(self.config)},
                timeout=httpx2.Timeout(self.read_timeout, connect=self.connect_timeout),
                **content,
            )
            return client.send(request), started
        except httpx2.HTTPError as exc:
            raise self._failure(exc, streaming=False) from None
        finally:
            self._release()

    @contextmanager
    def stream(self, call: HttpCall) -> Iterator[Events]:
        client = self._client()
        try:
            try:
                response = client.send(self._request(client, call), stream=True)
            except httpx2.HTTPError as exc:
                raise self._failure(exc, streaming=False) from None
            try:
                if response.status_code >= 300:
                    try:
                        response.read()
                    except httpx2.HTTPError as exc:
                        raise self._failure(exc, streaming=True) from None
                    raise self._status_error(response)
                yield Events(self, response, call.stream)
            finally:
                response.close()
        finally:
            self._release()

    @asynccontextmanager
    async def astream(self, call: HttpCall) -> AsyncIterator[AsyncEvents]:
        client = await self._aclient()
        try:
            try:
                response = await client.send(self._request(client, call), stream=True)
            except httpx2.HTTPError as exc:
                raise self._failure(exc, streaming=False) from None
            try:
                if response.status_code >= 300:
                    try:
                        await response.aread()
                    except httpx2.HTTPError as exc:
                        raise self._failure(exc, streaming=True) from None
                    raise self._status_error(response)
                yield AsyncEvents(self, response, call.stream)
            finally:
                await response.aclose()
        finally:
            self._release()

    # -- answers and failures -------------------------------------------------------------

    def _answer(self, response: httpx2.Response, started: float) -> HttpResponse:
        if response.status_code >= 300:
            raise self._status_error(response)
        return answer(
            self.provider.name,
            response.status_code,
            dict(response.headers),
            response.content,
            started,
        )

    def _status_error(self, response: httpx2.Response) -> ProviderError:
        sent = response.request
        body = sent.content if isinstance(sent.stream, httpx2.ByteStream) else None
        return status_error(
            self.provider,
            response.status_code,
            response.headers,
            response.text,
            sent.url.path,
            body,
        )

    @property
    def where(self) -> tuple[str, str | None]:
        """The provider's name and base URL, for error messages."""
        return self.provider.name, self.config.base_url

    def _failure(self, exc: httpx2.HTTPError, *, streaming: bool) -> ProviderError:
        if isinstance(exc, httpx2.ConnectTimeout):
            return failure(self, "connect_timeout")
        if isinstance(exc, httpx2.ReadTimeout) and streaming:
            return failure(self, "idle_timeout")
        if isinstance(exc, httpx2.TimeoutException):
            return failure(self, "read_timeout")
        if isinstance(exc, httpx2.ConnectError):
            return failure(self, "connect")
        if isinstance(exc, httpx2.UnsupportedProtocol):
            return failure(self, "not_http")
        return failure(self, "broke", exc)
