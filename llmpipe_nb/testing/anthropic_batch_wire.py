"""The Anthropic fake's Message Batches: `POST /v1/messages/batches`, `GET .../{id}`,
`POST .../{id}/cancel`, `GET .../{id}/results` and the list.

A batch is `in_progress` while its rows are answered over successive polls (see
`batch_script`), `canceling` after a cancel, then `ended`; each row is answered by the
fake's own Messages endpoint under the `anthropic-version` the batch was created with.
The results are JSONL, one `{custom_id, result}` per row: `succeeded` with the
message, `errored` with the error body, `canceled` or `expired`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from llmpipe_nb.testing.batch_script import Answered, SimJob, SimJobs, fails
from llmpipe_nb.testing.wire import RecordedRequest, Reply, Wire, dumps

__all__ = ["AnthropicBatchRoutes"]

PATH = "/v1/messages/batches"
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NOT_RUN = {"expired": "expired", "cancelled": "canceled", "failed": "expired"}


class AnthropicBatchRoutes:
    """Message batches of one fake Anthropic server."""

    def __init__(self, wire: Wire, answer: Callable[[RecordedRequest], Any]) -> None:
        self.wire = wire
        self.answer_request = answer
        self.jobs = SimJobs("msgbatch_")
        self.base = ""  # the server's root URL, for results_url (from the Host header)

    @property
    def script(self) -> Any:
        """The script the next jobs follow (see `batch_script.BatchScript`)."""
        return self.jobs.script

    def handles(self, path: str) -> bool:
        return path.startswith(PATH)

    def handle(self, request: RecordedRequest) -> Reply:
        rest = request.path.removeprefix(PATH).strip("/").split("/") if request.path != PATH else []
        self.base = f"http://{request.headers.get('host', '127.0.0.1')}"
        with self.jobs.lock:
            if request.method == "POST" and not rest:
                return self._create(request)
            if request.method == "GET" and not rest:
                data = [self._object(job) for job in reversed(self.jobs.jobs.values())]
                return Reply({"data": data, "has_more": False, "first_id": None, "last_id": None})
            job = self.jobs.jobs.get(rest[0]) if rest else None
            if job is None:
                return self.wire.error(404, f"Message batch not found: {'/'.join(rest)}")
            if request.method == "GET" and len(rest) == 1:
                job.advance(lambda body: self._answer(job, body))
                if job.status == "finalizing":  # Anthropic has no such state: it ends at once
                    job.advance(lambda body: self._answer(job, body))
                return Reply(self._object(job))
            if request.method == "POST" and rest[1:] == ["cancel"]:
                if job.cancel():
                    job.extra["cancel_initiated_at"] = _rfc3339(job.times["cancelling"])
                return Reply(self._object(job))
            if request.method == "GET" and rest[1:] == ["results"]:
                return self._results(job)
        return self.wire.error(404, f"Not found: {request.method} {request.path}")

    def _create(self, request: RecordedRequest) -> Reply:
        body = request.json
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self.wire.error(400, "requests: at least one request is required")
        seen: set[str] = set()
        for n, item in enumerate(requests):
            cid = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(cid, str) or not _CUSTOM_ID.match(cid) or cid in seen:
                return self.wire.error(400, f"requests.{n}.custom_id: missing, invalid or repeated")
            if not isinstance(item.get("params"), dict):
                return self.wire.error(400, f"requests.{n}.params: Field required")
            seen.add(cid)
        job = self.jobs.create([(r["custom_id"], r["params"]) for r in requests], "in_progress")
        job.extra["version"] = request.headers.get("anthropic-version", "")
        job.extra["cancel_initiated_at"] = None
        return Reply(self._object(job))

    def _answer(self, job: SimJob, params: Any) -> Answered:
        if fails(params):
            return 500, self.wire.error_body(500, "Internal server error")
        headers = {"anthropic-version": job.extra["version"]}
        recorded = RecordedRequest(
            "POST", "/v1/messages", {}, headers, json.dumps(params).encode(), params, "req_batch"
        )
        reply = self.answer_request(recorded)
        return reply.status, reply.body

    def _results(self, job: SimJob) -> Reply:
        if job.status not in ("completed", "expired", "cancelled"):
            return self.wire.error(400, f"Batch {job.id} is still processing; no results yet.")
        lines = []
        for cid, _ in job.requests:
            if cid in job.answers:
                status, body = job.answers[cid]
                result = (
                    {"type": "succeeded", "message": body}
                    if status < 300
                    else {"type": "errored", "error": body}
                )
            else:
                result = {"type": _NOT_RUN.get(job.status, "expired")}
            lines.append(dumps({"custom_id": cid, "result": result}))
        return Reply("\n".join(lines) + "\n", content_type="application/binary")

    def _object(self, job: SimJob) -> dict[str, Any]:
        ended = job.status in ("completed", "expired", "cancelled", "failed")
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        counts["succeeded"] = len(job.answers) - job.failed
        counts["errored"] = job.failed
        left = len(job.requests) - len(job.answers)
        if not ended:
            counts["processing"] = left
        else:
            counts[_NOT_RUN.get(job.status, "expired")] += left
        status = "ended" if ended else "canceling" if job.status == "cancelling" else "in_progress"
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": _rfc3339(job.times.get(job.status)) if ended else None,
            "created_at": _rfc3339(job.created_at),
            "expires_at": _rfc3339(job.created_at + 86400),
            "archived_at": None,
            "cancel_initiated_at": job.extra["cancel_initiated_at"],
            "results_url": f"{self.base}{PATH}/{job.id}/results" if ended else None,
        }


def _rfc3339(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")
