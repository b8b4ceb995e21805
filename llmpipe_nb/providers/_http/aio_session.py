"""The aiohttp transport's sessions: one per event loop, closed when that loop shuts down
its async generators (as `asyncio.run` does), when the transport leaves the pool, or at
exit; and the TLS settings its https calls verify with."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import weakref
from collections.abc import AsyncGenerator
from typing import Any, Protocol

import aiohttp
import httpx2
import yarl
from aiohttp.helpers import get_env_proxy_for_url

from ..._version import __version__
from ...config import ProviderConfig
from .transport import KEEPALIVE_S


class _Owner(Protocol):
    config: ProviderConfig
    max_connections: int

    def _forget(self, loop: asyncio.AbstractEventLoop, held: Session) -> None: ...


class Session:
    """One event loop's session, and the async generator that closes it when the loop shuts
    down its async generators (`asyncio.run` does, before it closes the loop)."""

    def __init__(self, owner: _Owner, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=owner.max_connections,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_S,
            ),
            headers={"User-Agent": f"llmpipe_nb/{__version__}", **dict(owner.config.headers)},
        )
        # aiohttp's own trust_env looks the proxy and .netrc up in a thread on every call
        self._proxies: dict[tuple[str, str | None], tuple[yarl.URL | None, Any]] = {}
        self.watched = False
        self._watcher: AsyncGenerator[None, None] | None = None
        self._owner = weakref.ref(owner)

    def proxy(self, url: yarl.URL) -> tuple[yarl.URL | None, Any]:
        """The proxy for a URL and its credentials, from the environment (HTTP_PROXY,
        HTTPS_PROXY, NO_PROXY): read once per host, as httpx2 reads them once per client."""
        key = (url.scheme, url.host)
        found = self._proxies.get(key)
        if found is None:
            try:
                found = get_env_proxy_for_url(url)
            except LookupError:
                found = (None, None)
            self._proxies[key] = found
        return found

    async def watch(self) -> None:
        """Start the watcher on this loop: its first step registers it with the loop."""
        self.watched = True
        self._watcher = self._closing_at_shutdown()
        await anext(self._watcher)

    async def _closing_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            owner = self._owner()
            if owner is not None:
                owner._forget(self.loop, self)
            await self.session.close()

    async def _close_on_loop(self) -> None:
        """Close the session, and end its watcher, which the loop then no longer holds."""
        if self._watcher is not None:
            await self._watcher.aclose()
        await self.session.close()

    def close(self) -> None:
        """Close the session on its loop: while it runs, or run it to close the session (at
        exit, say); a closed loop can run nothing, so its sockets are closed at once."""
        if self.session.closed:
            return
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self._close_on_loop(), self.loop)
            return
        if not self.loop.is_closed() and not _loop_runs_here():
            self.loop.run_until_complete(self.session.close())
            return
        connector = self.session.connector
        self.session.detach()
        if connector is not None:
            # the synchronous part of `close()`: closes the sockets without the loop
            connector._close()


def _loop_runs_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def tls(url: yarl.URL) -> ssl.SSLContext | bool:
    """What an https call verifies against: the CA bundle and settings httpx2 uses (certifi,
    or SSL_CERT_FILE / SSL_CERT_DIR), made once per value of those variables (it takes tens
    of milliseconds), and only when a call needs it."""
    if url.scheme != "https":
        return True
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx2.create_ssl_context()
