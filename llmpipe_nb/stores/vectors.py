"""Vectors beside cached answers, for the semantic cache: the most similar stored prompt.

Vectors live in spaces (the answers that may share: one provider, model, set of options
and embedder); a lookup scans one space by brute force with numpy, over one normalised
float32 matrix kept in memory, which is fast enough for the sizes a notebook's cache
reaches (the caching docs give the measured time for 10,000 vectors). Each store keeps its
vectors its own way (`CacheStore.vectors()`): in this process, in the SQLite file, or in
Redis; all of them search through a `VectorSpace`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MissingDependencyError, StoreError


def numpy() -> Any:
    """numpy, which the semantic cache needs (install llmpipe_nb[semantic])."""
    try:
        import numpy
    except ImportError:
        raise MissingDependencyError("numpy", "semantic") from None
    return numpy


def to_blob(vector: Sequence[float] | Any) -> bytes:
    """A vector as little-endian float32 bytes, as the stores keep it."""
    return bytes(numpy().asarray(vector, dtype="<f4").tobytes())


@dataclass(frozen=True, slots=True)
class Nearest:
    """The most similar stored vector: its entry's key and the cosine similarity."""

    key: str
    score: float


class VectorSpace:
    """The vectors of one space as the rows of one matrix; adding a key again replaces it."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._row: dict[str, int] = {}
        self._matrix: Any = None

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, vector: bytes | Sequence[float]) -> None:
        np = numpy()
        v = np.frombuffer(vector, dtype="<f4") if isinstance(vector, bytes) else vector
        v = np.asarray(v, dtype=np.float32)
        norm = float(np.linalg.norm(v))
        if not norm:
            return  # a zero vector is similar to nothing
        self._check(v.shape[0])
        row = self._row.get(key)
        if row is None:
            row = len(self.keys)
            self._grow(row + 1, v.shape[0])
            self.keys.append(key)
            self._row[key] = row
        self._matrix[row] = v / norm

    def extend(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Add many stored (key, float32 bytes) vectors at once: one matrix operation, as a
        process loading a persisted space does."""
        latest = dict(items)  # a key stored twice: its last vector
        fresh = [k for k in latest if k not in self._row]
        for key in latest.keys() - set(fresh):
            self.add(key, latest[key])
        if not fresh:
            return
        np = numpy()
        block = np.frombuffer(b"".join(latest[k] for k in fresh), dtype="<f4")
        block = block.reshape(len(fresh), -1).astype(np.float32)
        norms = np.linalg.norm(block, axis=1)
        keep = norms > 0  # a zero vector is similar to nothing
        self._check(block.shape[1])
        start = len(self.keys)
        kept = [k for k, ok in zip(fresh, keep, strict=True) if ok]
        self._grow(start + len(kept), block.shape[1])
        self._matrix[start : start + len(kept)] = block[keep] / norms[keep][:, None]
        for n, key in enumerate(kept, start):
            self._row[key] = n
        self.keys.extend(kept)

    def remove(self, key: str) -> None:
        row = self._row.pop(key, None)
        if row is None:
            return
        last = len(self.keys) - 1
        if row != last:  # the last row takes the freed place
            moved = self.keys[last]
            self.keys[row], self._row[moved] = moved, row
            self._matrix[row] = self._matrix[last]
        self.keys.pop()

    def nearest(self, vector: Sequence[float] | Any) -> Nearest | None:
        if not self.keys:
            return None
        np = numpy()
        q = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(q))
        if not norm or q.shape[0] != self._matrix.shape[1]:
            return None
        scores = self._matrix[: len(self.keys)] @ (q / norm)
        best = int(np.argmax(scores))
        return Nearest(self.keys[best], float(scores[best]))

    def _check(self, dim: int) -> None:
        if self._matrix is not None and dim != self._matrix.shape[1]:
            raise StoreError(
                f"The semantic cache holds vectors of {self._matrix.shape[1]} dimensions and "
                f"this one has {dim}: clear the cache, or give this embedder its own namespace."
            )

    def _grow(self, rows: int, dim: int) -> None:
        np = numpy()
        if self._matrix is None:
            self._matrix = np.empty((max(16, rows), dim), dtype=np.float32)
        elif rows > self._matrix.shape[0]:
            bigger = np.empty((max(rows, 2 * self._matrix.shape[0]), dim), dtype=np.float32)
            bigger[: len(self.keys)] = self._matrix[: len(self.keys)]
            self._matrix = bigger


class VectorIndex:
    """Vectors by space and key: `add`, `nearest`, `remove`, `clear`. This base keeps them in
    this process (the memory store's, and any custom store's); SQLite and Redis persist them."""

    def __init__(self) -> None:
        self._spaces: dict[str, VectorSpace] = {}
        self._lock = threading.Lock()

    def add(self, space: str, key: str, vector: Sequence[float]) -> None:
        with self._lock:
            self._spaces.setdefault(space, VectorSpace()).add(key, vector)

    def nearest(self, space: str, vector: Sequence[float]) -> Nearest | None:
        with self._lock:
            found = self._spaces.get(space)
            return None if found is None else found.nearest(vector)

    def remove(self, space: str, key: str) -> None:
        with self._lock:
            found = self._spaces.get(space)
            if found is not None:
                found.remove(key)

    def clear(self) -> None:
        with self._lock:
            self._spaces.clear()

    def __len__(self) -> int:
        return sum(len(s) for s in self._spaces.values())
