"""`llmpipe batch list|show|cancel`: the provider batch jobs of this machine, from a terminal.

Each returns the exit status; the store is the one `llm.batch_jobs()` reads (or `--db`).
The command line (`cli.py`) imports this module only when a batch action runs.
"""

from __future__ import annotations

import argparse

from .handle import BatchJob
from .jobs import batch_job
from .jobstore import open_store


def run_list(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    jobs = [BatchJob(record, store) for record in store.jobs()]
    if not jobs:
        print(f"No batch jobs in {store.path} yet.")
        return 0
    for job in jobs:
        if args.refresh:
            job.refresh()
        print(f"{job.id}  {job.provider}/{job.model}  {job.rows} rows  {_line(job)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    job = batch_job(args.id, args.db).refresh()
    print(repr(job))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    job = batch_job(args.id, args.db)
    if job.refresh().terminal:
        print(f"Batch job {job.id} has already ended ({job.status}); nothing to cancel.")
        return 0
    job.cancel()
    print(f"Asked the provider to cancel batch job {job.id}: it is {job.status}.")
    return 0


def _line(job: BatchJob) -> str:
    from .jobview import job_line

    return job_line(job)
