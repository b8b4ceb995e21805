"""Cache: answer a repeated request from a store, before anything is sent.

The key is a SHA-256 of the canonical request (provider, base URL, kind, model, every
option and message; never the API key or headers), or what a user `key_fn` returns.
A hit halts the pipeline with the stored answer (`cache_hit=True`, cost 0,
`cost_saved` = the original cost); a stream is answered by replaying it. A miss
stores the final answer once the pipeline has finished. A store that fails is a
recoverable error: the request goes on to the provider, the error is recorded, and a
warning says so once per store (an unwritable SQLite path, a Redis that is down).

Per call, the request option `cache` (consumed here, never sent) says what to do:

    value                 read  write
    True (default)        yes   yes
    "no-store"            yes   no
    "refresh"             no    yes    (call again and overwrite)
    "no-cache" / False    no    no     (bypass the cache)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from .. import notices
from ..errors import ConfigError, LLMPipeError, StoreError
from ..plug import Plug
from ..request import Request
from ..stores import STORE_NAMES, CacheStore, open_store
from .cache_entry import decode, encode
from .fetch_config import after_fetch_config

CONTROL = "cache"
CONTROLS: dict[Any, tuple[bool, bool]] = {
    True: (True, True),
    "no-store": (True, False),
    "refresh": (False, True),
    "no-cache": (False, False),
    False: (False, False),
}
CACHEABLE = ("chat", "stream", "completion", "embeddings")
_warned: set[Any] = set()  # the stores whose failure was already said


def cache_control(value: Any) -> tuple[bool, bool]:
    """(read, write) for the per-call `cache` option; ConfigError for anything else."""
    if isinstance(value, (bool, str)) and value in CONTROLS:
        return CONTROLS[value]
    hint = (
        f": to keep answers in {value}, build with with_cache(store={value!r})"
        if value in STORE_NAMES
        else ""
    )
    raise ConfigError(
        "Option 'cache' must be True, False, 'no-store', 'refresh' or 'no-cache', "
        f"not {value!r}{hint}."
    )


def request_key(request: Request) -> str:
    """SHA-256 of the canonical request: what decides the answer, and no credential."""
    payload = {
        "provider": request.provider,
        "base_url": getattr(request.config, "base_url", None),
        # a chat answer can answer the same request streamed, and the other way round
        "kind": "chat" if request.kind == "stream" else request.kind,
        "options": {k: v for k, v in request.options.items() if k != CONTROL},
        "messages": request.messages,
    }
    blob = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (tuple, list)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return repr(value)


class Cache(Plug):
    """Answers repeated requests from `store` ("memory", "sqlite", "redis", or a CacheStore).

    `ttl` is in seconds (None: keep until evicted); `path` places the SQLite file,
    `url` names the Redis server (default $LLMPIPE_REDIS_URL), `max_entries` bounds
    the memory LRU; `namespace` separates caches that share a store.
    """

    position: ClassVar[tuple[str, str]] = ("after", "FetchConfig")

    def __init__(
        self,
        ttl: float | None = 3600,
        store: str | CacheStore = "memory",
        key_fn: Callable[[Request], str] | None = None,
        namespace: str = "llmpipe",
        path: str | None = None,
        url: str | None = None,
        max_entries: int | None = None,
    ) -> None:
        if ttl is not None and not 0 < ttl < math.inf:
            raise ConfigError(
                f"Plug Cache option 'ttl' must be a number of seconds greater than 0 "
                f"(days are fine), or None to keep answers until evicted, not {ttl!r}."
            )
        if isinstance(store, str) and store not in STORE_NAMES:
            raise ConfigError(
                f"Unknown cache store {store!r}: use one of {', '.join(map(repr, STORE_NAMES))}, "
                "or pass a CacheStore instance."
            )
        for option, value, owner in (
            ("path", path, "sqlite"),
            ("url", url, "redis"),
            ("max_entries", max_entries, "memory"),
        ):
            if value is not None and store != owner:
                raise ConfigError(
                    f"Cache option {option}= goes with store={owner!r}, not {store!r}: "
                    f"drop {option}= or use store={owner!r}."
                )
        if max_entries is not None and max_entries < 1:
            raise ConfigError(
                f"Plug Cache option 'max_entries' must be a whole number of 1 or more, "
                f"not {max_entries!r}."
            )
        if not namespace:
            raise ConfigError("Plug Cache option 'namespace' must be a non-empty string.")
        self.ttl = ttl
        self.store = store
        self.key_fn = key_fn
        self.namespace = namespace
        self.path = path
        self.url = url
        self.max_entries = max_entries
        self._writer = CacheWrite(self)

    @property
    def options(self) -> dict[str, Any]:
        opts = super().options
        if self.url is not None:
            from ..stores.redis_store import masked_url

            opts["url"] = masked_url(self.url)
        return opts

    def backend(self) -> CacheStore:
        """The store this plug reads and writes (opened on first use, shared per process)."""
        if isinstance(self.store, CacheStore):
            return self.store
        return open_store(self.store, path=self.path, url=self.url, max_entries=self.max_entries)

    def failed(self, request: Request, error: StoreError, plug: str) -> Request:
        """Record a store failure on `request`, which goes on uncached; warn once per store."""
        where = id(self.store) if isinstance(self.store, CacheStore) else self.store
        store = (where, self.path, self.url)
        if store not in _warned:
            _warned.add(store)
            notices.warn(
                __name__,
                f"{error.message} Until then requests are sent without the cache.",
                stacklevel=2,
            )
        else:
            logging.getLogger(__name__).info("%s The request goes on uncached.", error.message)
        return request.add_error(error, plug=plug)

    def store_error(self, error: Exception, what: str, *, own: bool = True) -> StoreError:
        """A store's failure as the StoreError the request records and goes on past; with
        `own`, our other errors (a missing package, a bad option) are raised as they are."""
        if isinstance(error, StoreError):
            return error
        if own and isinstance(error, LLMPipeError):
            raise error
        store = self.store if isinstance(self.store, str) else type(self.store).__name__
        return StoreError(
            f"The {store} cache store could not {what} an entry ({type(error).__name__}: {error})."
        )

    def clear(self) -> None:
        """Empty the store (every namespace in it)."""
        self.backend().clear()

    def key(self, request: Request) -> str:
        """The store key of `request`."""
        if self.key_fn is None:
            return f"{self.namespace}:{request_key(request)}"
        key = self.key_fn(request)
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"The cache key_fn returned {key!r}: it must return a non-empty string."
            )
        return f"{self.namespace}:{key}"

    # -- the lookup ------------------------------------------------------------------

    def call(self, request: Request) -> Request:
        request, key, read, write = self._begin(request)
        if key is None:
            return request
        raw = None
        if read:
            try:
                raw = self.backend().get(key)
            except Exception as error:
                request = self.failed(request, self.store_error(error, "read"), self.name)
        return self._after_lookup(request, key, raw, write)

    async def acall(self, request: Request) -> Request:
        request, key, read, write = self._begin(request)
        if key is None:
            return request
        raw = None
        if read:
            try:
                raw = await self.backend().aget(key)
            except Exception as error:
                request = self.failed(request, self.store_error(error, "read"), self.name)
        return self._after_lookup(request, key, raw, write)

    def _begin(self, request: Request) -> tuple[Request, str | None, bool, bool]:
        read, write = cache_control(request.options.get(CONTROL, True))
        if CONTROL in request.options:
            request = request.evolve(
                options={k: v for k, v in request.options.items() if k != CONTROL}
            )
        if request.kind not in CACHEABLE:
            return request, None, False, False
        if not (read or write):
            return request.put_metadata("cache_hit", False), None, False, False
        return request, self.key(request), read, write

    def _after_lookup(self, request: Request, key: str, raw: str | None, write: bool) -> Request:
        if raw is not None:
            hit = _hit(request, key, raw)
            if hit is not None:
                return hit
        request = request.update_metadata({"cache_hit": False, "cache_key": key})
        if write:
            request = request.register_after_run(self._writer)
        return request

    # -- the write, after the pipeline ------------------------------------------------

    def entry(self, request: Request) -> str | None:
        """The stored form of a finished request's answer, or None if it is not cacheable."""
        return encode(request.result)


class CacheWrite(Plug):
    """Stores the final answer of a cache miss; runs after the pipeline (see Cache)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @property
    def options(self) -> dict[str, Any]:
        return {}

    def _prepare(self, request: Request) -> tuple[str, str] | None:
        if request.state == "error":  # an after-run step failed it (an answer that misfits)
            return None
        key = request.metadata.get("cache_key")
        value = self.cache.entry(request)
        return None if key is None or value is None else (key, value)

    # The request has its answer by now: whatever goes wrong here is recorded and warned
    # about, never raised.

    def call(self, request: Request) -> Request:
        try:
            item = self._prepare(request)
            if item is None:
                return request
            self.cache.backend().set(item[0], item[1], self.cache.ttl)
        except Exception as error:
            return self._failed(request, error)
        return request.put_metadata("cache_stored", True)

    async def acall(self, request: Request) -> Request:
        try:
            item = self._prepare(request)
            if item is None:
                return request
            await self.cache.backend().aset(item[0], item[1], self.cache.ttl)
        except Exception as error:
            return self._failed(request, error)
        return request.put_metadata("cache_stored", True)

    def _failed(self, request: Request, error: Exception) -> Request:
        return self.cache.failed(
            request, self.cache.store_error(error, "write", own=False), self.name
        )


def ensure_cache(plugs: Sequence[Plug]) -> tuple[Plug, ...]:
    """`plugs` with the default (memory) Cache added after FetchConfig, unless one is there."""
    if any(p.name == "Cache" for p in plugs):
        return tuple(plugs)
    return after_fetch_config(
        plugs,
        _default_cache(),
        "The per-call 'cache' option needs a pipeline with FetchConfig: "
        "add a Cache plug to your pipeline yourself.",
    )


_default: list[Cache] = []


def _default_cache() -> Cache:
    if not _default:
        _default.append(Cache())
    return _default[0]


def _hit(request: Request, key: str, raw: str, *, older: bool = False) -> Request | None:
    """The request answered from a stored entry; None if the entry is unreadable (see
    `cache_entry.decode` for `older`)."""
    decoded = decode(raw, request.kind, older=older)
    if decoded is None:
        return None
    result, saved, created_at = decoded
    result.cost, result.cost_status, result.cost_saved, result.cache_hit = (
        0.0,
        "cached",
        saved,
        True,
    )
    meta = {
        "cache_hit": True,
        "cache_key": key,
        "cache_age_s": max(0.0, time.time() - created_at),
        "cost_usd": 0.0,
        "cost_status": "cached",
        "cost_saved": saved,
    }
    return request.evolve(result=result, metadata={**request.metadata, **meta}).halt("cache hit")
