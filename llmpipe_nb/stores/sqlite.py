"""SQLiteStore: answers in a file that survives kernel restarts and is shared between processes.

WAL mode lets readers and a writer work at once; a busy timeout makes concurrent
processes wait for each other instead of failing. The default file lives in the
user's data directory (platformdirs), e.g. ~/.local/share/llmpipe_nb/cache.sqlite3.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .base import CacheStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL
)
"""
#: expired rows are swept after this many writes
_SWEEP_EVERY = 256


def default_path() -> Path:
    """Where `store="sqlite"` keeps its file when no path is given."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("llmpipe_nb", appauthor=False)) / "cache.sqlite3"


class SQLiteStore(CacheStore):
    """A cache table in one SQLite file; safe across threads, processes and restarts."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        self._writes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"Cannot open the SQLite cache at {self.path} ({error}): "
                "pass a writable path with with_cache(store='sqlite', path=...)."
            ) from error

    def get(self, key: str) -> str | None:
        now = time.time()
        row = self._run("SELECT value, expires_at FROM cache WHERE key = ?", (key,))
        if row is None:
            return None
        value, expires = row
        if expires is not None and now >= expires:
            self._run("DELETE FROM cache WHERE key = ? AND expires_at <= ?", (key, now))
            return None
        return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        now = time.time()
        self._run(
            "INSERT OR REPLACE INTO cache (key, value, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (key, value, now, None if ttl is None else now + ttl),
        )
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self.prune()

    def delete(self, key: str) -> None:
        self._run("DELETE FROM cache WHERE key = ?", (key,))

    def clear(self) -> None:
        self._run("DELETE FROM cache", ())

    def prune(self) -> None:
        """Delete every expired entry."""
        self._run(
            "DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?", (time.time(),)
        )

    def __len__(self) -> int:
        row = self._run("SELECT COUNT(*) FROM cache", ())
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[object, ...]) -> Any:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchone()
        except sqlite3.Error as error:
            raise StoreError(
                f"The SQLite cache at {self.path} failed ({error}): "
                "check the file is writable and the disk is not full."
            ) from error

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"
