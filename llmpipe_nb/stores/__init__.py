"""Cache stores: where the Cache plug keeps answers (memory, SQLite on disk, Redis).

A store maps a string key to a string value (the answer as JSON) with an optional
time to live. Stores are shared per process: every `store="sqlite"` plug with the
same path uses one connection, so builders made per request still hit one cache.
A store that fails raises StoreError; the Cache plug records it and goes on.
"""

from .base import CacheStore
from .shared import STORE_NAMES, close_stores, open_store

__all__ = ["STORE_NAMES", "CacheStore", "close_stores", "open_store"]
