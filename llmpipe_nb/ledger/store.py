"""The ledger's SQLite file: rows written as they happen, shared safely by many processes.

WAL mode lets readers run while one process writes; every write is one short
`BEGIN IMMEDIATE` transaction that waits (busy timeout) for the others, so processes
writing to the same file lose no rows. A row that cannot be written is kept and
written with the next one; the in-memory ledger has it either way.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .schema import COST_COLUMNS, TRACE_COLUMNS

log = logging.getLogger("llmpipe_nb.ledger")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS costs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL, ts INTEGER NOT NULL, provider TEXT, model TEXT, kind TEXT,
    status TEXT, input_tokens INTEGER, output_tokens INTEGER, cached_input_tokens INTEGER,
    reasoning_tokens INTEGER, estimated INTEGER, cost_usd REAL, cost_status TEXT, cost_saved_usd REAL,
    latency_ms REAL, ttft_ms REAL, tokens_per_s REAL, cache_hit INTEGER, attempts INTEGER, error_type TEXT,
    tags TEXT
);
CREATE TABLE IF NOT EXISTS traces (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL, step INTEGER, plug TEXT, started_at INTEGER,
    duration_us REAL, outcome TEXT, note TEXT
);
CREATE INDEX IF NOT EXISTS costs_ts ON costs (ts);
CREATE INDEX IF NOT EXISTS traces_request ON traces (request_id);
"""
_TAGS = COST_COLUMNS.index("tags")
#: columns newer than the first files: name -> SQL type
_NEW_COLUMNS = {"estimated": "INTEGER", "tokens_per_s": "REAL"}
_BOOLS = (COST_COLUMNS.index("cache_hit"), COST_COLUMNS.index("estimated"))
_INSERT_COST = (
    f"INSERT INTO costs ({', '.join(COST_COLUMNS)}) VALUES ({', '.join('?' * len(COST_COLUMNS))})"
)
_INSERT_TRACE = (
    f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
)


class SQLiteLedgerStore:
    """One ledger file. Thread-safe; a forked child opens its own connection."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0):
        self.path = Path(path).expanduser()
        self.timeout = timeout
        if not create and not self.path.is_file():
            raise StoreError(
                f"No ledger file at {self.path}: check the path, or start one with "
                "llm.ledger().persist(path)."
            )
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[Sequence[tuple[Any, ...]], Sequence[tuple[Any, ...]]]] = []
        with self._lock:
            self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            _add_new_columns(conn)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f'Cannot use {self.path} as a ledger file, which failed with "{error}": '
                "give the path of a writable SQLite file."
            ) from error
        self._conn, self._pid = conn, os.getpid()
        return conn

    def write(self, costs: Sequence[tuple[Any, ...]], traces: Sequence[tuple[Any, ...]]) -> bool:
        """Append rows (and any left over from a failed write); False if they must wait."""
        with self._lock:
            self._pending.append((costs, traces))
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for cost_rows, trace_rows in self._pending:
                        conn.executemany(_INSERT_COST, [_to_sql(r) for r in cost_rows])
                        conn.executemany(_INSERT_TRACE, trace_rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except (StoreError, sqlite3.Error) as error:
                log.warning(
                    "ledger rows kept in memory, not yet written to %s: %s", self.path, error
                )
                return False
            self._pending.clear()
            return True

    def read(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Every cost row and trace row in the file, in the order they were written."""
        with self._lock:
            try:
                conn = self._connection()
                costs = conn.execute(f"SELECT {', '.join(COST_COLUMNS)} FROM costs ORDER BY seq")
                cost_rows = [_from_sql(r) for r in costs]
                traces = conn.execute(f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces ORDER BY seq")
                trace_rows = traces.fetchall()
            except sqlite3.Error as error:
                raise StoreError(
                    f'Cannot read the ledger file {self.path}, which failed with "{error}": '
                    "give the path of a file written by llm.ledger().persist()."
                ) from error
        return cost_rows, trace_rows

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"SQLiteLedgerStore({str(self.path)!r})"


def _add_new_columns(conn: sqlite3.Connection) -> None:
    """Columns added since a file was started: added to it, empty in its older rows."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(costs)")}
    for name, kind in _NEW_COLUMNS.items():
        if name in have:
            continue
        try:
            conn.execute(f"ALTER TABLE costs ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as error:  # another process added it first
            if "duplicate column" not in str(error):
                raise


def _to_sql(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[:_TAGS], json.dumps(row[_TAGS]) if row[_TAGS] else None, *row[_TAGS + 1 :])


def _from_sql(row: Iterable[Any]) -> tuple[Any, ...]:
    values = list(row)
    for index in _BOOLS:
        values[index] = bool(values[index])
    values[_TAGS] = tuple(json.loads(values[_TAGS])) if values[_TAGS] else ()
    return tuple(values)
