"""The semantic cache's vectors in Redis, one hash per space, searched in this process.

Each space is a hash `llmpipe:vectors:<space>` of entry key to float32 bytes. A lookup
compares the hash's length with what this process holds and reloads the space when
another process changed it, then scans it in memory (a plain Redis has no vector search;
a server with one could take this over behind the same interface).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .vectors import Nearest, VectorIndex, VectorSpace, to_blob

if TYPE_CHECKING:
    from .redis_store import RedisStore

VECTORS = "llmpipe:vectors:"


class RedisVectors(VectorIndex):
    """Vectors in Redis hashes beside a RedisStore's entries."""

    def __init__(self, store: RedisStore) -> None:
        super().__init__()
        self.store = store
        self._load = threading.Lock()

    def _name(self, space: str) -> str:
        return VECTORS + space

    def add(self, space: str, key: str, vector: Sequence[float]) -> None:
        blob = to_blob(vector)
        self.store._do("write", self.store._client.hset, self._name(space), key, blob)
        super().add(space, key, vector)

    def nearest(self, space: str, vector: Sequence[float]) -> Nearest | None:
        name = self._name(space)
        with self._load:
            size = self.store._do("read", self.store._client.hlen, name)
            held = self._spaces.get(space)
            if size != (0 if held is None else len(held)):
                rows = self.store._do("read", self.store._client.hgetall, name)
                fresh = VectorSpace()
                fresh.extend(
                    [(k.decode() if isinstance(k, bytes) else k, bytes(b)) for k, b in rows.items()]
                )
                with self._lock:
                    self._spaces[space] = fresh
        return super().nearest(space, vector)

    def remove(self, space: str, key: str) -> None:
        self.store._do("write", self.store._client.hdel, self._name(space), key)
        super().remove(space, key)

    def clear(self) -> None:
        self.store.clear()

    def forget(self) -> None:
        """Drop what this process loaded (the vectors were deleted)."""
        with self._load:
            super().clear()
