"""RedisStore: answers in a Redis server, shared by every process and machine that reaches it.

redis-py is imported when the store is first used (install llmpipe_nb[redis]). Entries
expire through Redis' own TTL, and are stored compressed (see `codec`; an entry written
before compression is read as it is). A server that cannot be reached raises StoreError, which
the Cache plug records before sending the request on to the provider.
"""

from __future__ import annotations

import math
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import MissingDependencyError, StoreError, remember_secret
from .base import CacheStore
from .codec import pack, unpack
from .redis_vectors import VECTORS, RedisVectors

URL_ENV = "LLMPIPE_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
PREFIX = "llmpipe:cache:"


def masked_url(url: str) -> str:
    """The URL with any password replaced by ***, for display and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisStore(CacheStore):
    """Keys live under `llmpipe:cache:`; `url` defaults to $LLMPIPE_REDIS_URL, then localhost."""

    def __init__(self, url: str | None = None, *, timeout: float = 2.0) -> None:
        try:
            import redis
        except ImportError as error:
            raise MissingDependencyError("redis", "redis") from error
        self.url = url or os.environ.get(URL_ENV) or DEFAULT_URL
        password = urlsplit(self.url).password
        if password:
            remember_secret(password)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            self.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def get(self, key: str) -> str | None:
        value = self._do("read", self._client.get, PREFIX + key)
        return None if value is None else unpack(value)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        try:
            px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        except (OverflowError, ValueError, TypeError):
            raise StoreError(
                f"Redis cannot keep an entry for ttl={ttl!r}: give a finite number of "
                "seconds, or None to keep it until evicted."
            ) from None
        self._do("write", self._client.set, PREFIX + key, pack(value), px=px)

    def delete(self, key: str) -> None:
        self._do("write", self._client.delete, PREFIX + key)

    def clear(self) -> None:
        keys = self._do("read", lambda: self._keys(PREFIX) + self._keys(VECTORS))
        for start in range(0, len(keys), 500):
            self._do("write", self._client.delete, *keys[start : start + 500])
        if self.__dict__.get("_vectors") is not None:
            self.__dict__["_vectors"].forget()

    def _keys(self, prefix: str) -> list[Any]:
        return list(self._client.scan_iter(match=prefix + "*", count=500))

    def vectors(self) -> Any:
        """The semantic cache's vectors, kept in Redis (see `redis_vectors`)."""
        index = self.__dict__.get("_vectors")
        if index is None:
            index = self.__dict__["_vectors"] = RedisVectors(self)
        return index

    def close(self) -> None:
        self._client.close()

    def _do(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except self._errors as error:
            raise StoreError(
                f'Could not {what} the Redis cache at {masked_url(self.url)}, which said "'
                f'{str(error).rstrip(".")}": check that Redis is running and the URL is right.'
            ) from error

    def __repr__(self) -> str:
        return f"RedisStore({masked_url(self.url)!r})"
