"""`llm.batch_jobs()` and `llm.batch_job(id)`: the batch jobs this machine submitted, from
any kernel, read from the job store."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .handle import BatchJob
from .jobstore import open_store

COLUMNS = (
    "id",
    "provider",
    "model",
    "status",
    "rows",
    "requests",
    "succeeded",
    "failed",
    "created_at",
    "finished_at",
    "batch_ids",
    "error",
)


def batch_job(job_id: str, path: str | None = None) -> BatchJob:
    """The job with this id (`job.id`), or with a provider batch of this id (`batch_...`,
    `msgbatch_...`); re-attaching sends nothing again. `path` names another job store."""
    if not isinstance(job_id, str) or not job_id:
        raise ConfigError(f"batch_job takes a job or batch id string, not {job_id!r}.")
    store = open_store(path)
    record = store.job(job_id)
    if record is None:
        raise ConfigError(
            f"No batch job {job_id!r} in {store.path}: llm.batch_jobs() lists the jobs this "
            "machine submitted."
        )
    return BatchJob(record, store)


def batch_jobs(refresh: bool = False, path: str | None = None) -> Any:
    """Every job, oldest first, as a DataFrame; statuses as last polled, or asked again of
    the provider for the unfinished ones with `refresh=True`. `path` names another store."""
    import pandas as pd

    store = open_store(path)
    jobs = [BatchJob(record, store) for record in store.jobs()]
    if refresh:
        for job in jobs:
            job.refresh()
    frame = pd.DataFrame(
        [
            (
                job.id,
                job.provider,
                job.model,
                job.status,
                job.rows,
                job.requests,
                job.succeeded,
                job.failed,
                job.created_at,
                job.finished_at,
                job.batch_ids,
                job.error,
            )
            for job in jobs
        ],
        columns=list(COLUMNS),
    )
    for column in ("created_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame.astype(
        {"id": "string", "provider": "string", "model": "string", "status": "string"}
    )
