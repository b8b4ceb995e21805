"""The answers of a finished batch job, run through the pipeline as if they had just come back.

Each row's request runs through the provider's pipeline again, with `BatchAnswer` in
place of the send: the provider's own parse plug reads the answer, `TrackCost` prices
it at the batch tier, the cache stores it, and the ledger records it (tagged with the
job's id and the provider's batch id). A row that errored at the provider carries its
typed error; a row the batch never ran (expired, cancelled, failed) a BatchJobError.
The results are then kept in the job store, so a job is collected, and its ledger
rows recorded, once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..errors import BatchJobError
from ..pipeline import Pipeline
from ..plug import Plug
from ..pricing import BATCH
from ..providers._batches import Answer, BatchAPI, RemoteBatch, unanswered
from ..request import Request
from ..tagging import merge
from .frame import Outcome, outcome
from .jobstore import JobRecord, JobStore, Part
from .plan import Plan
from .remote import batch_api, retried

ANSWER = "llmpipe.batch.answer"
_COST = 4


class BatchAnswer(Plug):
    """Stands in for ExecuteRequest: the answer the provider's batch gave this row."""

    def call(self, request: Request) -> Request:
        answer, latency_ms = request.private[ANSWER]
        if isinstance(answer, BaseException):
            raise answer
        meta = {**request.metadata, "attempts": 1}
        if latency_ms is not None:
            meta["latency_ms"] = latency_ms
        return request.evolve(response=answer, metadata=meta)


class BatchTier(Plug):
    """Marks the answer as served by the Batch API, which TrackCost prices at that tier."""

    def call(self, request: Request) -> Request:
        return request.put_metadata("service_tier", BATCH)


def batch_pipeline(plugs: Sequence[Plug]) -> tuple[Plug, ...]:
    """`plugs` with BatchAnswer for the send and BatchTier before TrackCost."""
    out: list[Plug] = []
    for plug in plugs:
        if plug.name == "ExecuteRequest":
            out.append(BatchAnswer())
            continue
        if plug.name == "TrackCost":
            out.append(BatchTier())
        out.append(plug)
    return tuple(out)


def collect(record: JobRecord, store: JobStore, plan: Plan) -> list[Outcome]:
    """Every row's result, in input order; kept in the store."""
    provider, api = batch_api(record.provider)
    config = plan.config()
    answers: dict[str, tuple[Answer, float | None, str | None]] = {}
    for part in record.parts:
        if part.remote is None:
            continue
        remote = part.remote
        got = retried(partial(_results, api, provider, config, remote))
        latency = _latency(part)
        answers.update((cid, (answer, latency, remote.batch_id)) for cid, answer in got)
    plugs = batch_pipeline(plan.pipeline())
    parts = {p.part: p for p in record.parts}
    by_id: dict[str, Outcome] = {}
    for cid, number, messages in store.requests(record.id):
        answer, latency, batch_id = answers.get(cid) or _missing(parts[number])
        request = plan.request(messages)
        if isinstance(answer, BatchJobError):
            answer.job_id, answer.provider = record.id, answer.provider or record.provider
        if batch_id is not None:
            tags = merge(tuple(request.metadata.get("tags", ())), (f"batch:{batch_id}",))
            request = request.put_metadata("tags", tags)
        request = request.put_private(ANSWER, (answer, latency))
        by_id[cid] = outcome(Pipeline.run(request, plugs, trace=False))
    outcomes: list[Outcome] = []
    seen: set[str] = set()
    for row_id, kept in store.rows(record.id):
        if row_id is None:
            assert kept is not None, "a row answered at submit keeps its result"
            outcomes.append(kept)
        elif row_id in seen:  # the same request as an earlier row: sent and paid once
            outcomes.append(_duplicate(by_id[row_id]))
        else:
            seen.add(row_id)
            outcomes.append(by_id[row_id])
    store.save_outcomes(record.id, outcomes, time.time())
    return outcomes


def _results(api: BatchAPI, provider: Any, config: Any, remote: RemoteBatch) -> list[Any]:
    return list(api.results(provider, config, remote))


def _missing(part: Part) -> tuple[Answer, None, str | None]:
    """Why a row has no answer: its batch ended without running it, or was never made."""
    remote = part.remote
    if remote is None:
        error = BatchJobError(
            f"Not submitted: the provider refused this part of the job ({part.error}); "
            "fix that and map these rows again.",
            status="failed",
        )
        return error, None, None
    return unanswered(remote.batch_id, remote.status, remote.error), None, remote.batch_id


def _latency(part: Part) -> float | None:
    remote = part.remote
    if remote is None or remote.finished_at is None:
        return None
    started = part.submitted_at or remote.created_at
    return None if started is None else max(0.0, remote.finished_at - started) * 1000


def _duplicate(row: Any) -> Outcome:
    return (*row[:_COST], 0.0 if row[_COST] is not None else None, *row[_COST + 1 :])
