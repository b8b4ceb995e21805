"""The HTTP transport (httpx2) every network provider shares, and the base class they extend.

One pooled client per provider configuration, reused by every request with that
configuration (sync, and async per event loop). The pool keeps the POOL_SIZE most
recently used configurations and closes the clients of the others once their calls in
flight finish, so many keys or addresses do not pile up open sockets. Credentials are read from their
`Secret` only when a request is sent and never stored in the client. Every failure
leaves as a typed `ProviderError`: non-2xx answers through the provider's
`map_error`, connection failures and timeouts here.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import json
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ClassVar

import httpx2

from .. import __version__
from ..config import ProviderConfig
from ..errors import (
    ConfigError,
    ContextLengthError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ResponseFormatError,
    redact,
)
from ..transport import HttpCall, HttpResponse
from ._sse import NDJSONSplitter, SSEParser
from .base import Provider, error_for_status

DEFAULT_TIMEOUT = 120.0  # seconds to wait for an answer, or between stream chunks
CONNECT_TIMEOUT = 10.0
POOL_SIZE = 16  # provider configurations whose clients stay open
_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input token count",
    "exceeds the maximum number of tokens",
)


class HttpProvider(Provider):
    """A provider reached over HTTP: pooled transport, credential headers, error building."""

    #: the header that carries the key, and the text before it
    auth_header: ClassVar[str] = "Authorization"
    auth_prefix: ClassVar[str] = "Bearer "

    def pipeline(self, kind: str) -> list[Any]:
        """The seed's pipeline, with the answer checked before it is priced: embeddings
        must be one vector per input, and token counts the server left out are counted."""
        from ..plugs import CheckEmbeddings, CountUsage, TrackCost

        specs = super().pipeline(kind)
        if TrackCost in specs:
            checks = [CheckEmbeddings, CountUsage] if kind == "embeddings" else [CountUsage]
            at = specs.index(TrackCost)
            specs[at:at] = checks
        return specs

    def client(self, config: ProviderConfig) -> HttpTransport:
        return pooled_transport(self, config)

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        """The credential headers; called at send time only."""
        if config.api_key is None:
            return {}
        return {self.auth_header: self.auth_prefix + config.api_key.get_secret_value()}

    def error(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str],
        body: Any,
        *,
        error_type: str | None = None,
        code: Any = None,
        request_id: str | None = None,
    ) -> ProviderError:
        """A typed error: class by status, context-length errors recognised, retry hints read."""
        request_id = headers.get("x-request-id") or headers.get("request-id") or request_id
        kw: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "error_type": error_type,
            "request_id": request_id,
            "retry_after": parse_retry_after(headers),
            "body": body,
        }
        text = f"{error_type} {code} {message}".lower()
        if 400 <= status < 500 and status != 429 and any(hint in text for hint in _CONTEXT_HINTS):
            error: ProviderError = ContextLengthError(
                f"{message} (the prompt does not fit the model's context window: shorten it)", **kw
            )
        else:
            error = error_for_status(status, message, **kw)
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            error.retryable = should_retry == "true"
        return error


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_pool: OrderedDict[tuple[str, ProviderConfig], HttpTransport] = OrderedDict()
_pool_lock = threading.Lock()


def pooled_transport(provider: HttpProvider, config: ProviderConfig) -> HttpTransport:
    """The one transport for this provider configuration, made on first use. One made for
    a provider registered again since, or pushed out of the pool, is retired."""
    key = (provider.name, config)
    retired = []
    with _pool_lock:
        transport = _pool.get(key)
        if transport is not None and transport.provider is provider:
            _pool.move_to_end(key)
            return transport
        if transport is not None:
            retired.append(transport)
        transport = _pool[key] = HttpTransport(provider, config)
        _pool.move_to_end(key)
        while len(_pool) > POOL_SIZE:
            retired.append(_pool.popitem(last=False)[1])
    for old in retired:
        old.retire()
    return transport


def close_transports() -> None:
    """Close every pooled client (at exit too, so no socket is left for the GC to warn about)."""
    with _pool_lock:
        transports = list(_pool.values())
        _pool.clear()
    for transport in transports:
        transport.close()


atexit.register(close_transports)


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
        self._sync: httpx2.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._in_use = 0  # calls in flight
        self._retired = False

    def __repr__(self) -> str:
        return f"<HttpTransport {self.provider.name} {self.config.base_url}>"

    # -- clients --------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        return {
            "timeout": httpx2.Timeout(self.read_timeout, connect=self.connect_timeout),
            "headers": {"User-Agent": f"llmpipe_nb/{__version__}", **dict(self.config.headers)},
        }

    def _client(self) -> httpx2.Client:
        """The sync client, counted in use until `_release`."""
        with self._lock:
            if self._sync is None:
                self._sync = httpx2.Client(**self._options())
            self._in_use += 1
            return self._sync

    def _aclient(self) -> httpx2.AsyncClient:
        """This event loop's client, counted in use until `_release`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                client = self._async[loop] = httpx2.AsyncClient(**self._options())
            self._in_use += 1
            return client

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
        for loop, aclient in aclients:
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(aclient.aclose(), loop)

    def _request(
        self, client: httpx2.Client | httpx2.AsyncClient, call: HttpCall
    ) -> httpx2.Request:
        headers = {**call.headers, **self.provider.auth_headers(self.config)}
        if call.stream == "sse":
            headers.setdefault("Accept", "text/event-stream")
        timeout = httpx2.Timeout(
            self.idle_timeout if call.stream else self.read_timeout, connect=self.connect_timeout
        )
        return client.build_request(
            call.method,
            self.config.base_url + call.path,  # type: ignore[operator]
            json=call.json,
            params=dict(call.params) or None,
            headers=headers,
            timeout=timeout,
        )

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
        client = self._aclient()
        started = time.perf_counter()
        try:
            response = await client.send(self._request(client, call))
        except httpx2.HTTPError as exc:
            raise self._failure(exc, streaming=False) from None
        finally:
            self._release()
        return self._answer(response, started)

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
        client = self._aclient()
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
        elapsed = (time.perf_counter() - started) * 1000
        headers = dict(response.headers)
        content = response.content
        if not content:
            return HttpResponse(response.status_code, headers, None, elapsed)
        try:
            body = json.loads(content)
        except ValueError:
            raise ResponseFormatError(
                f"{self.provider.name} answered with a body that is not valid JSON; "
                "check that base_url points at its API.",
                provider=self.provider.name,
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id")
                or response.headers.get("request-id"),
            ) from None
        return HttpResponse(response.status_code, headers, body, elapsed)

    def _status_error(self, response: httpx2.Response) -> ProviderError:
        """The provider's typed error; an echoed key is masked in the body it keeps."""
        text = redact(response.text)
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return self.provider.map_error(response.status_code, dict(response.headers), body)

    def _failure(self, exc: httpx2.HTTPError, *, streaming: bool) -> ProviderError:
        name, where = self.provider.name, self.config.base_url
        kw: dict[str, Any] = {"provider": name}
        if isinstance(exc, httpx2.ConnectTimeout):
            return ProviderTimeoutError(
                f"Connecting to {name} at {where} took longer than {self.connect_timeout:g} s: "
                "check the address or raise the timeout.",
                **kw,
            )
        if isinstance(exc, httpx2.ReadTimeout) and streaming:
            return ProviderTimeoutError(
                f"The stream from {name} sent nothing for {self.idle_timeout:g} s between chunks: "
                "retry, or raise the timeout.",
                **kw,
            )
        if isinstance(exc, httpx2.TimeoutException):
            return ProviderTimeoutError(
                f"{name} did not answer within {self.read_timeout:g} s: retry, or raise the timeout.",
                **kw,
            )
        if isinstance(exc, httpx2.ConnectError):
            return ProviderConnectionError(
                f"Could not connect to {name} at {where}: check that the server runs and base_url is right.",
                **kw,
            )
        if isinstance(exc, httpx2.UnsupportedProtocol):
            return ProviderConnectionError(
                f"The base_url of {name} ({where}) is not an http(s) URL: fix base_url.",
                retryable=False,
                **kw,
            )
        return ProviderConnectionError(f"The connection to {name} broke off ({exc}).", **kw)


class _Framing:
    """Bytes to events: SSE events as `SSEEvent`, NDJSON lines as decoded JSON values."""

    def __init__(
        self, transport: HttpTransport, response: httpx2.Response, framing: str | None
    ) -> None:
        self.headers: Mapping[str, str] = dict(response.headers)
        self._transport = transport
        self._response = response
        self._parser = SSEParser() if framing == "sse" else NDJSONSplitter()

    def _events(self, chunk: bytes | None) -> list[Any]:
        parser = self._parser
        if isinstance(parser, SSEParser):
            return parser.feed(chunk) if chunk is not None else parser.close()
        lines = parser.feed(chunk) if chunk is not None else parser.close()
        try:
            return [json.loads(line) for line in lines]
        except ValueError:
            raise ResponseFormatError(
                f"{self._transport.provider.name} sent a stream line that is not valid JSON.",
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
