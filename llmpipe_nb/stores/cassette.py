"""A recording of a session's answers, in one SQLite file meant to sit next to a notebook.

The file is self-contained (no write-ahead log beside it), so it can be committed and
shared; a replaying session opens it read-only and never changes it. Its layout carries a
version (`PRAGMA user_version`, with `application_id` marking the file as a recording):
a file from an older llmpipe_nb is brought forward step by step when opened for writing,
and one from a newer version is refused with a sentence saying so.

Each row is one request's answer under its key: the normalised request (what the key was
made from, to explain a miss), the answer as the cache stores it, a stream's chunks with
their timing, and the cost it had. Blobs are zlib-compressed: every Python can read them,
so a recording made with zstd installed still replays on a machine without it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError
from .codec import pack, unpack
from .sqlite_file import SQLiteFile, transaction

APPLICATION_ID = 0x4C4C5250  # "LLRP"
CODEC = "zlib"
#: one step per layout version; step i brings a file from version i to i + 1
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE recordings (
            key TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            kind TEXT NOT NULL,
            model TEXT,
            request BLOB NOT NULL,
            answer BLOB NOT NULL,
            chunks BLOB,
            cost_usd REAL,
            recorded_at REAL NOT NULL,
            library_version TEXT NOT NULL
        )""",
        "CREATE INDEX recordings_by_kind ON recordings (provider, kind)",
    ),
)
VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded answer: the stored answer (JSON), a stream's chunks, the cost it had."""

    key: str
    answer: str
    chunks: list[Any] | None
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One row, as `llmpipe replay show` lists it."""

    key: str
    provider: str
    kind: str
    model: str | None
    request: dict[str, Any]
    cost_usd: float | None
    recorded_at: float
    library_version: str
    size: int


class Cassette:
    """One recording file; `writable=False` opens it read-only (replaying changes nothing)."""

    def __init__(self, path: str | Path, *, writable: bool = True) -> None:
        self.path = Path(path)
        self.writable = writable
        if not writable and not self.path.is_file():
            raise ConfigError(
                f"There is no recording at {self.path}: record it first with "
                "mode='auto' or mode='record'."
            )
        self._file = SQLiteFile(
            self.path,
            self._open,
            read_only=not writable,
            cannot_open=lambda error: (
                f"Cannot open the recording {self.path} ({error}): "
                "check the path is a file you can read (and write, to record)."
            ),
            failed=lambda error: (
                f"The recording {self.path} failed ({error}): check the file is readable "
                "(and writable, to record) and the disk is not full."
            ),
        )

    def _open(self, db: sqlite3.Connection) -> None:
        if self.writable:
            db.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside it
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if (app != APPLICATION_ID and tables) or (app == 0 and version):
            raise ConfigError(
                f"{self.path} is an SQLite file but not a recording of llmpipe_nb: "
                "give llm.replay a new path (or the path of a recording)."
            )
        if version > VERSION:
            raise ConfigError(
                f"The recording {self.path} was made by a newer llmpipe_nb (layout {version}, "
                f"this one reads up to {VERSION}): upgrade llmpipe_nb to replay it."
            )
        if version == VERSION:
            return
        if not self.writable:
            raise ConfigError(
                f"The recording {self.path} has an older layout ({version}) that must be "
                "updated: open it once with mode='auto' or 'record' on a writable copy."
            )
        with transaction(db):
            for step in range(version, VERSION):
                for sql in MIGRATIONS[step]:
                    db.execute(sql)
            if version == 0:
                db.executemany(
                    "INSERT INTO info (name, value) VALUES (?, ?)",
                    [("format", "llmpipe_nb recording"), ("created_by", __version__)],
                )
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {VERSION}")

    # -- reading and writing ---------------------------------------------------------

    def get(self, key: str) -> Recorded | None:
        row = self._file.one(
            "SELECT answer, chunks, cost_usd FROM recordings WHERE key = ?", (key,)
        )
        if row is None:
            return None
        answer, chunks, cost = row
        return Recorded(key, unpack(answer), None if chunks is None else _load(chunks), cost)

    def put(
        self,
        key: str,
        *,
        provider: str,
        kind: str,
        model: str | None,
        request: dict[str, Any],
        answer: str,
        chunks: list[Any] | None,
        cost_usd: float | None,
    ) -> None:
        """Store (or overwrite) the answer to the request under `key`."""
        self._file.one(
            "INSERT OR REPLACE INTO recordings (key, provider, kind, model, request, answer, "
            "chunks, cost_usd, recorded_at, library_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                provider,
                kind,
                model,
                _dump(request),
                pack(answer, CODEC),
                None if chunks is None else _dump(chunks),
                cost_usd,
                time.time(),
                __version__,
            ),
        )

    def requests(self, provider: str, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, normalised request) of the recordings of `provider` and `kind`, newest first."""
        rows = self._file.all(
            "SELECT key, request FROM recordings WHERE provider = ? AND kind = ? "
            "ORDER BY recorded_at DESC",
            (provider, kind),
        )
        for key, blob in rows:
            yield key, _load(blob)

    def entries(self) -> list[Entry]:
        rows = self._file.all(
            "SELECT key, provider, kind, model, request, cost_usd, recorded_at, library_version, "
            "length(request) + length(answer) + coalesce(length(chunks), 0) "
            "FROM recordings ORDER BY recorded_at",
            (),
        )
        return [Entry(r[0], r[1], r[2], r[3], _load(r[4]), *r[5:]) for r in rows]

    def delete(self, keys: list[str]) -> int:
        """Delete the recordings under `keys`; the number deleted."""
        before = len(self)
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            self._file.one(
                f"DELETE FROM recordings WHERE key IN ({', '.join('?' * len(part))})", tuple(part)
            )
        if keys:
            self._file.one("VACUUM", ())
        return before - len(self)

    def sizes(self) -> tuple[int, int]:
        """(bytes stored, bytes the same entries take uncompressed)."""
        stored = plain = 0
        for answer, chunks, request in self._file.all(
            "SELECT answer, chunks, request FROM recordings", ()
        ):
            for blob in (answer, chunks, request):
                if blob is not None:
                    stored += len(blob)
                    plain += len(unpack(blob).encode())
        return stored, plain

    def info(self) -> dict[str, str]:
        return dict(self._file.all("SELECT name, value FROM info", ()))

    def __len__(self) -> int:
        return self._file.count("recordings")

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, {'read-write' if self.writable else 'read-only'})"


def _dump(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return pack(text, CODEC)


def _load(blob: bytes) -> Any:
    return json.loads(unpack(blob))
