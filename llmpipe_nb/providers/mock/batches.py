"""The mock's Batch API: a batch job simulated in this process, for notebooks and tests.

Each status poll moves a job one step: `validating`, then `in_progress` with half of
its rows answered, then `finalizing` with all of them, then `completed`. The rows are
answered by the mock's own transport, so its script (`configure`, `fail_next`)
decides the answers and the failures, and `mock.requests` shows every row. A job
exists only in the process that made it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import ProviderConfig
from ...errors import ConfigError, ProviderError
from ...transport import HttpCall
from .._batches import Answer, BatchAPI, RemoteBatch, unanswered

_ids = itertools.count(1)


@dataclass
class _Job:
    calls: list[tuple[str, HttpCall]]
    created_at: float
    status: str = "validating"
    answers: dict[str, Answer] = field(default_factory=dict)
    finished_at: float | None = None


class MockBatches(BatchAPI):
    """In-process batch jobs over the mock's transport."""

    max_requests = 100_000
    max_bytes = 1 << 40
    poll_interval = 0.05

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def submit(
        self,
        provider: Any,
        config: ProviderConfig,
        calls: Sequence[tuple[str, HttpCall]],
        label: Mapping[str, str],
    ) -> RemoteBatch:
        batch_id = f"mockbatch_{next(_ids):06d}"
        with self._lock:
            job = self._jobs[batch_id] = _Job(list(calls), time.time())
            return self._seen(batch_id, job)

    def status(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        with self._lock:
            job = self._job(batch.batch_id)
            if job.status == "validating":
                job.status = "in_progress"
                self._answer(provider, job, (len(job.calls) + 1) // 2)
            elif job.status == "in_progress":
                job.status = "finalizing"
                self._answer(provider, job, len(job.calls))
            elif job.status in ("finalizing", "cancelling"):
                job.status = "completed" if job.status == "finalizing" else "cancelled"
                job.finished_at = time.time()
            return self._seen(batch.batch_id, job)

    def cancel(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        with self._lock:
            job = self._job(batch.batch_id)
            if job.status not in ("completed", "cancelled"):
                job.status = "cancelling"
            return self._seen(batch.batch_id, job)

    def results(
        self, provider: Any, config: ProviderConfig, batch: RemoteBatch
    ) -> Iterator[tuple[str, Answer]]:
        with self._lock:
            job = self._job(batch.batch_id)
            answers = dict(job.answers)
        for cid, _ in job.calls:
            yield cid, answers.get(cid) or unanswered(batch.batch_id, job.status)

    def _answer(self, provider: Any, job: _Job, upto: int) -> None:
        for cid, call in job.calls[:upto]:
            if cid not in job.answers:
                try:
                    job.answers[cid] = provider.transport.send(call)
                except ProviderError as error:
                    job.answers[cid] = error

    def _job(self, batch_id: str) -> _Job:
        job = self._jobs.get(batch_id)
        if job is None:
            raise ConfigError(
                f"The mock has no batch {batch_id}: mock batch jobs live only in the process "
                "that submitted them."
            )
        return job

    def _seen(self, batch_id: str, job: _Job) -> RemoteBatch:
        failed = sum(isinstance(a, ProviderError) for a in job.answers.values())
        if job.status == "cancelled":
            failed += len(job.calls) - len(job.answers)  # the rows it never ran
        return RemoteBatch(
            batch_id,
            job.status,
            total=len(job.calls),
            succeeded=len(job.answers) - failed,
            failed=failed,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )
