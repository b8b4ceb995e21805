"""The base of cache stores: a string key to a string value, with an optional time to live."""

from __future__ import annotations

import asyncio

from .vectors import VectorIndex


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

    def vectors(self) -> VectorIndex:
        """Where the semantic cache keeps the prompt vectors of this store's entries (in this
        process, unless the store keeps them itself)."""
        index = self.__dict__.get("_vectors")
        if index is None:
            index = self.__dict__["_vectors"] = VectorIndex()
        return index

    async def aget(self, key: str) -> str | None:
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        await asyncio.to_thread(self.set, key, value, ttl)
