"""SQLiteStore: answers in a file that survives kernel restarts and is shared between processes.

WAL mode lets readers and a writer work at once; a busy timeout makes concurrent
processes wait for each other instead of failing. The default file lives in the
user's data directory (platformdirs), e.g. ~/.local/share/llmpipe_nb/cache.sqlite3.

Answers are stored compressed (see `codec`); a file written before compression keeps its
text entries readable, and is brought to the current layout (its `user_version`) when
opened. The semantic cache's vectors live in the same file.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..errors import StoreError
from .base import CacheStore
from .codec import pack, unpack
from .sqlite_file import SQLiteFile, transaction
from .sqlite_vectors import SQLiteVectors

#: the layout of the file, one step per version; a file records its version in
#: `PRAGMA user_version`, and is brought forward step by step when opened
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1: the vectors of the semantic cache (values may now be compressed blobs)
        """CREATE TABLE IF NOT EXISTS vectors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            space TEXT NOT NULL,
            key TEXT NOT NULL,
            vector BLOB NOT NULL,
            UNIQUE (space, key)
        )""",
    ),
)
VERSION = len(MIGRATIONS)
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
        self._writes = 0
        self._file = SQLiteFile(
            self.path,
            self._open,
            cannot_open=lambda error: (
                f'Cannot open the SQLite cache at {self.path}, which failed with "{error}": '
                "pass a writable path with with_cache(store='sqlite', path=...)."
            ),
            failed=lambda error: (
                f'The SQLite cache at {self.path} failed with "{error}": '
                "check that the file is writable and the disk is not full."
            ),
        )
        self._vectors: SQLiteVectors | None = None

    def _open(self, db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])  # before any change
        if version > VERSION:
            raise StoreError(
                f"The SQLite cache at {self.path} was written by a newer llmpipe_nb "
                f"(layout {version}, this one knows {VERSION}): upgrade llmpipe_nb, "
                "or use another path."
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        for step in range(version, VERSION):
            with transaction(db):
                for sql in MIGRATIONS[step]:
                    db.execute(sql)
                db.execute(f"PRAGMA user_version = {step + 1}")

    def get(self, key: str) -> str | None:
        now = time.time()
        row = self._file.one("SELECT value, expires_at FROM cache WHERE key = ?", (key,))
        if row is None:
            return None
        value, expires = row
        if expires is not None and now >= expires:
            self._file.one("DELETE FROM cache WHERE key = ? AND expires_at <= ?", (key, now))
            return None
        return unpack(value)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        now = time.time()
        self._file.one(
            "INSERT OR REPLACE INTO cache (key, value, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (key, pack(value), now, None if ttl is None else now + ttl),
        )
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self.prune()

    def delete(self, key: str) -> None:
        self._file.one("DELETE FROM cache WHERE key = ?", (key,))

    def clear(self) -> None:
        self._file.one("DELETE FROM cache", ())
        self._file.one("DELETE FROM vectors", ())
        if self._vectors is not None:
            self._vectors.forget()

    def vectors(self) -> SQLiteVectors:
        """The semantic cache's vectors, kept in this file (see `sqlite_vectors`)."""
        if self._vectors is None:
            self._vectors = SQLiteVectors(self)
        return self._vectors

    def prune(self) -> None:
        """Delete every expired entry."""
        self._file.one(
            "DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?", (time.time(),)
        )

    def __len__(self) -> int:
        return self._file.count("cache")

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"
