"""MemoryStore: a bounded LRU in this process; the fastest store, gone with the kernel."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import ConfigError
from .base import CacheStore


class MemoryStore(CacheStore):
    """Keeps at most `max_entries` answers, evicting the least recently used first."""

    def __init__(
        self, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries < 1:
            raise ConfigError(
                f"MemoryStore max_entries must be a whole number of 1 or more, not {max_entries!r}."
            )
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[str, tuple[str, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            value, expires = item
            if expires is not None and self._clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._data[key] = (value, expires)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    async def aget(self, key: str) -> str | None:
        return self.get(key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        self.set(key, value, ttl)

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._data)}/{self.max_entries} entries)"
