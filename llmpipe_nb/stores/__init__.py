"""Cache stores: where the Cache plug keeps answers (memory, SQLite on disk, Redis).

A store maps a string key to a string value (the answer as JSON) with an optional
time to live. Stores are shared per process: every `store="sqlite"` plug with the
same path uses one connection, so builders made per request still hit one cache.
A store that fails raises StoreError; the Cache plug records it and goes on.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..errors import ConfigError

STORE_NAMES = ("memory", "sqlite", "redis")


class CacheStore:
    """Base of cache stores: `get`, `set`, `delete`, `clear`; async twins run in a thread."""

    def get(self, key: str) -> str | None:
        raise NotImplementedError

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Remove every entry this store holds."""
        raise NotImplementedError

    async def aget(self, key: str) -> str | None:
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        await asyncio.to_thread(self.set, key, value, ttl)


_shared: dict[tuple[str, Any], CacheStore] = {}
_lock = threading.Lock()


def open_store(
    name: str, *, path: str | None = None, url: str | None = None, max_entries: int | None = None
) -> CacheStore:
    """The process-wide store for `name` ("memory", "sqlite" or "redis") and its location."""
    if name == "memory":
        key: Any = max_entries
    elif name == "sqlite":
        key = path
    elif name == "redis":
        key = url
    else:
        raise ConfigError(
            f"Unknown cache store {name!r}: use one of {', '.join(map(repr, STORE_NAMES))}, "
            "or pass a CacheStore instance."
        )
    store = _shared.get((name, key))
    if store is not None:
        return store
    with _lock:
        store = _shared.get((name, key))
        if store is None:
            store = _shared[(name, key)] = _make(name, path, url, max_entries)
        return store


def _make(name: str, path: str | None, url: str | None, max_entries: int | None) -> CacheStore:
    if name == "memory":
        from .memory import MemoryStore

        return MemoryStore() if max_entries is None else MemoryStore(max_entries)
    if name == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(path)
    from .redis_store import RedisStore

    return RedisStore(url)


def close_stores() -> None:
    """Forget the shared stores (closing their connections); the next use opens them again."""
    with _lock:
        stores = list(_shared.values())
        _shared.clear()
    for store in stores:
        close = getattr(store, "close", None)
        if close is not None:
            close()


__all__ = ["STORE_NAMES", "CacheStore", "close_stores", "open_store"]
