"""The semantic cache's vectors in the SQLite cache file, searched in memory.

Rows are append-only in effect (a replaced vector gets a new id), so each process loads
only the rows added since its last lookup, its own and other processes' alike, into a
`VectorSpace`, then scans that: one indexed query and a matrix product per lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .vectors import Nearest, VectorIndex, VectorSpace, to_blob

if TYPE_CHECKING:
    from .sqlite import SQLiteStore


class SQLiteVectors(VectorIndex):
    """Vectors in the `vectors` table of a SQLiteStore's file."""

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__()
        self.store = store
        self._seen: dict[str, int] = {}  # space -> the last row id loaded
        self._load = threading.Lock()

    def add(self, space: str, key: str, vector: Sequence[float]) -> None:
        self.store._file.one(
            "INSERT OR REPLACE INTO vectors (space, key, vector) VALUES (?, ?, ?)",
            (space, key, to_blob(vector)),
        )

    def nearest(self, space: str, vector: Sequence[float]) -> Nearest | None:
        with self._load:
            rows = self.store._file.all(
                "SELECT id, key, vector FROM vectors WHERE space = ? AND id > ? ORDER BY id",
                (space, self._seen.get(space, 0)),
            )
            if rows:
                with self._lock:
                    found = self._spaces.setdefault(space, VectorSpace())
                    found.extend([(key, bytes(blob)) for _, key, blob in rows])
                self._seen[space] = rows[-1][0]
        return super().nearest(space, vector)

    def remove(self, space: str, key: str) -> None:
        self.store._file.one("DELETE FROM vectors WHERE space = ? AND key = ?", (space, key))
        super().remove(space, key)

    def clear(self) -> None:
        self.store._file.one("DELETE FROM vectors", ())
        self.forget()

    def forget(self) -> None:
        """Drop what this process loaded (the table was emptied)."""
        with self._load:
            self._seen.clear()
            super().clear()
