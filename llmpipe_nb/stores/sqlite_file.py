"""One SQLite file behind one connection that threads share under a lock.

The cache (`sqlite`) and the recordings (`cassette`) open their files, bring an older
layout forward and turn a failed statement into a StoreError the same way; only their
layouts and their sentences differ.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Autocommit (transactions are explicit), usable from any thread (callers lock); a
    writer waits up to 10 s for another process instead of failing."""
    if read_only:
        uri = path.resolve().as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error, Ctrl-C included."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SQLiteFile:
    """The open file: `setup(db)` runs once on opening (a failure there closes it again),
    and any SQLite failure later becomes a StoreError that `failed(error)` words."""

    def __init__(
        self,
        path: Path,
        setup: Callable[[sqlite3.Connection], None],
        *,
        cannot_open: Callable[[Exception], str],
        failed: Callable[[sqlite3.Error], str],
        read_only: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._failed = failed
        db = None
        try:
            db = connect(path, read_only=read_only)
            setup(db)
        except BaseException as error:
            if db is not None:
                db.close()
            if isinstance(error, (OSError, sqlite3.Error)):
                raise StoreError(cannot_open(error)) from error
            raise
        self._db = db

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """The first row of the answer, or None."""
        return self._execute(sql, args, every=False)

    def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self._execute(sql, args, every=True)

    def count(self, table: str) -> int:
        row = self.one(f"SELECT count(*) FROM {table}")
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, args: tuple[Any, ...], *, every: bool) -> Any:
        try:
            with self._lock:
                cursor = self._db.execute(sql, args)
                return cursor.fetchall() if every else cursor.fetchone()
        except sqlite3.Error as error:
            raise StoreError(self._failed(error)) from error
