"""The batch jobs of the fake servers: how a job moves over successive polls, scriptable.

A job starts `validating` (OpenAI) or `in_progress` (Anthropic); each status poll moves
it one step: out of validation, then `rows_per_poll` more rows answered while
`in_progress`, then `finalizing`, then `completed`. The script can make it `failed` at
validation, `expired` after some rows, and rows whose prompt holds `FAIL_MARKER` error
with a 500. A cancel makes it `cancelling`, and the next poll `cancelled`; the rows
not answered by then are cancelled (or expired) rows. The rows are answered by the
wire's own chat endpoint, so a batch row is judged exactly as a normal request.

    with FakeServer("openai") as server:
        server.wire.batches.script.rows_per_poll = 250
        server.wire.batches.script.end = "expired"
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAIL_MARKER", "BatchScript", "SimJob", "SimJobs"]

#: a row whose request holds this text is answered with a server error
FAIL_MARKER = "[batch-fail]"


@dataclass
class BatchScript:
    """How the next jobs behave."""

    validating_polls: int = 1  # polls a job stays validating (where the API has that state)
    rows_per_poll: int | None = None  # rows answered per in_progress poll; None: all at once
    end: str = "completed"  # "completed", "failed" (at validation) or "expired"
    expire_after: int = 0  # rows answered before an "expired" job runs out of time
    failure: str = "The batch exceeded the enqueued token limit for this model."


#: (status code, JSON body) of one answered row
Answered = tuple[int, Any]


@dataclass
class SimJob:
    """One fake batch job: its requests, status and answers."""

    id: str
    requests: list[tuple[str, Any]]  # (custom id, request body)
    script: BatchScript
    status: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    answers: dict[str, Answered] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)
    polls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # what the wire keeps for itself

    @property
    def failed(self) -> int:
        return sum(status >= 300 for status, _ in self.answers.values())

    @property
    def not_run(self) -> int:
        return len(self.requests) - len(self.answers) if self.status in _ENDS else 0

    def advance(self, answer: Callable[[Any], Answered]) -> None:
        """One poll's worth of progress."""
        self.polls += 1
        script = self.script
        if self.status == "validating":
            if self.polls >= script.validating_polls:
                self._move("failed" if script.end == "failed" else "in_progress")
        elif self.status == "in_progress":
            todo = [r for r in self.requests if r[0] not in self.answers]
            limit = len(todo) if script.rows_per_poll is None else script.rows_per_poll
            if script.end == "expired":
                limit = min(limit, max(0, script.expire_after - len(self.answers)))
            for cid, body in todo[:limit]:
                self.answers[cid] = answer(body)
            if len(self.answers) == len(self.requests):
                self._move("finalizing")
            elif script.end == "expired" and len(self.answers) >= script.expire_after:
                self._move("expired")
        elif self.status == "finalizing":
            self._move("completed")
        elif self.status == "cancelling":
            self._move("cancelled")

    def cancel(self) -> bool:
        """Start cancelling; False when the job has already ended."""
        if self.status in _ENDS:
            return False
        self._move("cancelling")
        return True

    def _move(self, status: str) -> None:
        self.status = status
        self.times[status] = int(time.time())


_ENDS = ("completed", "failed", "expired", "cancelled")


class SimJobs:
    """The jobs of one fake server, and the script the next ones follow."""

    def __init__(self, prefix: str) -> None:
        self.script = BatchScript()
        self.jobs: dict[str, SimJob] = {}
        self.lock = threading.Lock()
        self._prefix = prefix
        self._ids = itertools.count(1)

    def new_id(self, prefix: str | None = None) -> str:
        return f"{prefix or self._prefix}{next(self._ids):06d}"

    def create(self, requests: list[tuple[str, Any]], status: str) -> SimJob:
        script = BatchScript(**vars(self.script))
        job = SimJob(self.new_id(), requests, script, status)
        job.times[status] = job.created_at
        self.jobs[job.id] = job
        return job

    @property
    def created(self) -> int:
        """How many jobs were submitted."""
        return len(self.jobs)


def fails(body: Any) -> bool:
    """Whether a request asks for the scripted row failure."""
    return FAIL_MARKER in repr(body)
