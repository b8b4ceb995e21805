"""Where provider batch jobs are kept: one SQLite file for the whole machine.

A job is written before `llm.map(..., engine="batch")` returns (the provider's batch
ids as soon as the provider gives them), so another kernel, a restarted one or the
`llmpipe batch` command finds it. The file is in the user's data directory (e.g.
~/.local/share/llmpipe_nb/batch_jobs.sqlite3); `$LLMPIPE_BATCH_JOBS` moves it. It
holds what the rows asked (to run their answers through the pipeline later) and, once
collected, their results; never a key: `api_key` and `headers` are left out.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors
from ..errors import LLMPipeError, PipelineError, ProviderError, StoreError
from ..providers._batches import RemoteBatch
from .frame import Outcome

JOBS_ENV = "LLMPIPE_BATCH_JOBS"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT, base_url TEXT,
    created_at REAL NOT NULL, finished_at REAL, collected_at REAL, status TEXT NOT NULL,
    rows INTEGER NOT NULL, requests INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    plan TEXT NOT NULL, row_index BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    job_id TEXT NOT NULL, part INTEGER NOT NULL, size INTEGER NOT NULL, batch_id TEXT,
    submitted_at REAL, remote TEXT, error TEXT, PRIMARY KEY (job_id, part)
);
CREATE INDEX IF NOT EXISTS parts_batch ON parts (batch_id);
CREATE TABLE IF NOT EXISTS requests (
    job_id TEXT NOT NULL, custom_id TEXT NOT NULL, part INTEGER NOT NULL,
    messages TEXT NOT NULL, PRIMARY KEY (job_id, custom_id)
);
CREATE TABLE IF NOT EXISTS rows (
    job_id TEXT NOT NULL, position INTEGER NOT NULL, custom_id TEXT, outcome TEXT,
    PRIMARY KEY (job_id, position)
);
"""
_JOB_COLUMNS = (
    "id, provider, model, base_url, created_at, finished_at, collected_at, status, rows, "
    "requests, fingerprint, plan, row_index"
)


def default_path() -> Path:
    """`$LLMPIPE_BATCH_JOBS`, else batch_jobs.sqlite3 in the user's data directory."""
    chosen = os.environ.get(JOBS_ENV)
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("llmpipe_nb", appauthor=False)) / "batch_jobs.sqlite3"


@dataclass
class Part:
    """One provider batch of a job: its number, its requests, the provider's view of it
    once submitted, and why it could not be submitted, if so."""

    part: int
    size: int = 0
    remote: RemoteBatch | None = None
    submitted_at: float | None = None
    error: str | None = None


@dataclass
class JobRecord:
    """A job as kept on disk; `plan` is its provider, options, feature plugs and tags."""

    id: str
    provider: str
    model: str | None
    base_url: str | None
    created_at: float
    status: str
    rows: int
    requests: int
    fingerprint: str
    plan: dict[str, Any]
    index: Any
    finished_at: float | None = None
    collected_at: float | None = None
    parts: list[Part] = field(default_factory=list)

    @property
    def batch_ids(self) -> list[str]:
        return [p.remote.batch_id for p in self.parts if p.remote is not None]


class JobStore:
    """The jobs file. Every operation opens its own short connection (so nothing stays
    open, and threads, forks and other processes each get theirs); writes are one
    `BEGIN IMMEDIATE` transaction that waits for the others."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"Cannot keep batch jobs in {self.path} ({error}): set {JOBS_ENV} to the path "
                "of a writable file."
            ) from error
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            yield conn
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"Cannot use the batch jobs in {self.path} ({error}).") from error
        finally:
            conn.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                db.execute(sql, args)
            db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._db() as db:
            return db.execute(sql, args).fetchall()

    # -- writing -----------------------------------------------------------------------

    def create(
        self,
        job: JobRecord,
        rows: Sequence[tuple[str | None, str | None]],
        requests: Sequence[tuple[str, int, str]],
    ) -> None:
        """A new job with its rows ((custom id, or None and the outcome)) and its requests
        ((custom id, part, messages as JSON))."""
        statements: list[tuple[str, Sequence[Any]]] = [
            (
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                (
                    *(job.id, job.provider, job.model, job.base_url, job.created_at),
                    *(job.finished_at, job.collected_at, job.status, job.rows, job.requests),
                    job.fingerprint,
                    json.dumps(job.plan),
                    pickle.dumps(job.index, protocol=pickle.HIGHEST_PROTOCOL),
                ),
            )
        ]
        statements += [
            ("INSERT INTO parts (job_id, part, size) VALUES (?, ?, ?)", (job.id, p.part, p.size))
            for p in job.parts
        ]
        statements += [("INSERT INTO requests VALUES (?, ?, ?, ?)", (job.id, *r)) for r in requests]
        statements += [
            ("INSERT INTO rows VALUES (?, ?, ?, ?)", (job.id, i, *r)) for i, r in enumerate(rows)
        ]
        self._write(statements)

    def save_part(self, job_id: str, part: Part) -> None:
        remote = None if part.remote is None else part.remote.to_json()
        batch_id = None if part.remote is None else part.remote.batch_id
        sql = "UPDATE parts SET batch_id=?, submitted_at=?, remote=?, error=? WHERE job_id=? AND part=?"
        self._write([(sql, (batch_id, part.submitted_at, remote, part.error, job_id, part.part))])

    def save_status(self, job_id: str, status: str, finished_at: float | None) -> None:
        sql = "UPDATE jobs SET status=?, finished_at=? WHERE id=?"
        self._write([(sql, (status, finished_at, job_id))])

    def save_outcomes(self, job_id: str, outcomes: Sequence[Outcome], when: float) -> None:
        """The results of every row, kept so the job is collected (and its ledger rows
        recorded) once."""
        sql = "UPDATE rows SET outcome=? WHERE job_id=? AND position=?"
        statements: list[tuple[str, Sequence[Any]]] = [
            (sql, (dump_outcome(o), job_id, i)) for i, o in enumerate(outcomes)
        ]
        statements.append(("UPDATE jobs SET collected_at=? WHERE id=?", (when, job_id)))
        self._write(statements)

    def delete(self, job_id: str) -> None:
        self._write(
            [
                (f"DELETE FROM {t} WHERE {'id' if t == 'jobs' else 'job_id'}=?", (job_id,))
                for t in ("jobs", "parts", "requests", "rows")
            ]
        )

    # -- reading -----------------------------------------------------------------------

    def job(self, key: str) -> JobRecord | None:
        """The job with this id, or with a provider batch of this id."""
        found = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id=?", (key,))
        if not found:
            found = self._read(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id IN "
                "(SELECT job_id FROM parts WHERE batch_id=?)",
                (key,),
            )
        return self._record(found[0]) if found else None

    def jobs(self) -> list[JobRecord]:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at")
        return [self._record(r) for r in rows]

    def running(self, fingerprint: str) -> JobRecord | None:
        """The unfinished job submitted for exactly these rows, if there is one."""
        found = self._read(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE fingerprint=? AND finished_at IS NULL "
            "ORDER BY created_at DESC LIMIT 1",
            (fingerprint,),
        )
        return self._record(found[0]) if found else None

    def requests(self, job_id: str) -> list[tuple[str, int, Any]]:
        rows = self._read(
            "SELECT custom_id, part, messages FROM requests WHERE job_id=? ORDER BY rowid",
            (job_id,),
        )
        return [(cid, part, json.loads(messages)) for cid, part, messages in rows]

    def rows(self, job_id: str) -> list[tuple[str | None, Outcome | None]]:
        found = self._read(
            "SELECT custom_id, outcome FROM rows WHERE job_id=? ORDER BY position", (job_id,)
        )
        return [(cid, None if o is None else load_outcome(o)) for cid, o in found]

    def _record(self, row: tuple[Any, ...]) -> JobRecord:
        (job_id, provider, model, base_url, created, finished, collected, status, n, req) = row[:10]
        parts = [
            Part(part, size, None if remote is None else RemoteBatch.from_json(remote), at, error)
            for part, size, at, remote, error in self._read(
                "SELECT part, size, submitted_at, remote, error FROM parts WHERE job_id=? "
                "ORDER BY part",
                (job_id,),
            )
        ]
        return JobRecord(
            *(job_id, provider, model, base_url, created, status, n, req, row[10]),
            json.loads(row[11]),
            pickle.loads(row[12]),
            finished,
            collected,
            parts,
        )

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"


def open_store(path: str | os.PathLike[str] | None = None) -> JobStore:
    """The store at `path`, else at `default_path()` (read when called: the environment
    may have moved it)."""
    return JobStore(path)


# -- results on disk ---------------------------------------------------------------------


def dump_outcome(row: Outcome) -> str:
    """A row's result as JSON; its error by class name and message (never a key: messages
    are redacted when the error is made)."""
    error = row[6]
    kept: Any = None
    if error is not None:
        kept = {"type": type(error).__name__, "message": getattr(error, "message", str(error))}
        for name in ("provider", "status_code", "batch_id", "status"):
            value = getattr(error, name, None)
            if value is not None:
                kept[name] = value
    return json.dumps([*row[:6], kept, row[7]])


def load_outcome(text: str) -> Outcome:
    values = json.loads(text)
    kept = values[6]
    return (*values[:6], None if kept is None else _error(kept), values[7])


def _error(kept: dict[str, Any]) -> BaseException:
    """The typed error again, from its class name; a PipelineError when it cannot be made."""
    cls = getattr(errors, kept["type"], None)
    message = kept["message"]
    extra = {k: v for k, v in kept.items() if k not in ("type", "message")}
    if not (isinstance(cls, type) and issubclass(cls, LLMPipeError)):
        return PipelineError(f"{kept['type']}: {message}")
    try:
        if issubclass(cls, ProviderError):
            if not issubclass(cls, errors.BatchJobError):
                extra = {k: v for k, v in extra.items() if k in ("provider", "status_code")}
            return cls(message, **extra)
        return cls(message)
    except TypeError:
        return PipelineError(f"{kept['type']}: {message}")
