"""The OpenAI fake's Files and Batches endpoints: `POST /v1/files` (multipart, purpose
`batch`), `GET /v1/files/{id}` and `/content`, `POST /v1/batches`, `GET /v1/batches`,
`GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`.

A job validates its input file at its first poll (one JSON line per request, a unique
`custom_id`, `POST` to the batch's endpoint, one model), then answers its rows through
the fake's own chat endpoint over the next polls (see `batch_script`). Answered rows
go to the output file, refused ones to the error file with their HTTP status, and rows
an expired or cancelled job never ran to the error file with `batch_expired` or
`batch_cancelled`. Batch objects carry every field the API sends, nulls included.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from llmpipe_nb.testing.batch_script import Answered, SimJob, SimJobs, fails
from llmpipe_nb.testing.wire import RecordedRequest, Reply, Wire, dumps

__all__ = ["OpenAIBatchRoutes"]

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")
_NOT_RUN = {
    "expired": (
        "batch_expired",
        "This request could not be executed before the completion window expired.",
    ),
    "cancelled": (
        "batch_cancelled",
        "This request was not executed because the batch was cancelled.",
    ),
}


class OpenAIBatchRoutes:
    """Files and batches of one fake OpenAI server."""

    def __init__(self, wire: Wire, answer: Callable[[RecordedRequest], Reply | Any]) -> None:
        self.wire = wire
        self.answer_request = answer
        self.jobs = SimJobs("batch_")
        self.files: dict[str, dict[str, Any]] = {}
        self._file_ids = itertools.count(1)

    @property
    def script(self) -> Any:
        """The script the next jobs follow (see `batch_script.BatchScript`)."""
        return self.jobs.script

    def handles(self, path: str) -> bool:
        return path.startswith(("/files", "/batches"))

    def handle(self, request: RecordedRequest, path: str) -> Reply:
        parts = path.strip("/").split("/")
        with self.jobs.lock:
            if parts[0] == "files":
                return self._files(request, parts[1:])
            return self._batches(request, parts[1:])

    # -- files -------------------------------------------------------------------------

    def _files(self, request: RecordedRequest, rest: list[str]) -> Reply:
        if request.method == "POST" and not rest:
            return self._upload(request)
        if request.method == "GET" and rest and rest[0] in self.files:
            entry = self.files[rest[0]]
            if rest[1:] == ["content"]:
                return Reply(entry["content"], content_type="application/octet-stream")
            if not rest[1:]:
                return Reply(entry["object"])
        return self.wire.error(404, f"No such File object: {'/'.join(rest)}")

    def _upload(self, request: RecordedRequest) -> Reply:
        form = _multipart(request)
        upload = form.get("file")
        if form.get("purpose") != b"batch" or not isinstance(upload, tuple):
            return self.wire.error(
                400, "A file upload needs a 'file' part and purpose 'batch' (for this fake)."
            )
        name, content = upload
        return Reply(self._store(content, name, "batch"))

    def _store(self, content: bytes, name: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{next(self._file_ids):06d}"
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "expires_at": None,
            "filename": name,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }
        self.files[file_id] = {"object": obj, "content": content}
        return obj

    # -- batches -----------------------------------------------------------------------

    def _batches(self, request: RecordedRequest, rest: list[str]) -> Reply:
        if request.method == "POST" and not rest:
            return self._create(request.json)
        if request.method == "GET" and not rest:
            data = [self._object(job) for job in reversed(self.jobs.jobs.values())]
            return Reply({"object": "list", "data": data, "has_more": False})
        job = self.jobs.jobs.get(rest[0]) if rest else None
        if job is None:
            return self.wire.error(404, f"No batch found with id '{'/'.join(rest)}'.")
        if request.method == "GET" and len(rest) == 1:
            if job.status == "validating" and job.extra["problems"]:
                job.status, job.times["failed"] = "failed", int(time.time())
            job.advance(lambda body: self._answer(job, body))
            if job.status in ("completed", "expired", "cancelled") and "output" not in job.extra:
                self._write_files(job)
            return Reply(self._object(job))
        if request.method == "POST" and rest[1:] == ["cancel"]:
            if not job.cancel():
                return self.wire.error(400, f"Cannot cancel a batch with status '{job.status}'.")
            return Reply(self._object(job))
        return self.wire.error(404, f"Unknown request URL: {request.method} {request.path}.")

    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return self.wire.error(400, "The request body must be a JSON object.")
        file = self.files.get(str(body.get("input_file_id")))
        if file is None:
            return self.wire.error(400, f"Invalid 'input_file_id': {body.get('input_file_id')!r}.")
        if body.get("endpoint") not in ENDPOINTS or body.get("completion_window") != "24h":
            return self.wire.error(400, "Invalid 'endpoint' or 'completion_window' (use 24h).")
        job = self.jobs.create([], "validating")
        job.extra.update(
            endpoint=body["endpoint"],
            input_file_id=file["object"]["id"],
            metadata=body.get("metadata"),
            errors=None,
        )
        job.extra["problems"], job.requests = _read_input(file["content"], body["endpoint"])
        return Reply(self._object(job))

    def _answer(self, job: SimJob, body: Any) -> Answered:
        if fails(body):
            return 500, self.wire.error_body(500, "The server had an error processing the row.")
        path = job.extra["endpoint"]
        reply = self.answer_request(
            RecordedRequest("POST", path, {}, {}, json.dumps(body).encode(), body, "req_batch")
        )
        return reply.status, reply.body

    def _write_files(self, job: SimJob) -> None:
        """The output and error files, once the job has ended."""
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for n, (cid, _) in enumerate(job.requests, 1):
            line: dict[str, Any] = {"id": f"batch_req_{job.id}_{n}", "custom_id": cid}
            if cid in job.answers:
                status, body = job.answers[cid]
                line |= {
                    "response": {"status_code": status, "request_id": f"req_{n}", "body": body},
                    "error": None,
                }
                (output if status < 300 else errors).append(line)
            elif job.status in _NOT_RUN:
                code, message = _NOT_RUN[job.status]
                errors.append(
                    line | {"response": None, "error": {"code": code, "message": message}}
                )
        for key, lines in (("output", output), ("error", errors)):
            content = "".join(dumps(line) + "\n" for line in lines).encode()
            job.extra[key] = self._store(content, f"{job.id}_{key}.jsonl", "batch_output")["id"]

    def _object(self, job: SimJob) -> dict[str, Any]:
        if job.status == "failed" and job.extra["errors"] is None:
            scripted = [_problem("token_limit_exceeded", job.script.failure, None)]
            job.extra["errors"] = {"object": "list", "data": job.extra["problems"] or scripted}
        usage = _usage(job)
        times = job.times
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": job.extra["endpoint"],
            "model": _model(job),
            "errors": job.extra["errors"],
            "input_file_id": job.extra["input_file_id"],
            "completion_window": "24h",
            "status": job.status,
            "output_file_id": job.extra.get("output"),
            "error_file_id": job.extra.get("error"),
            "created_at": job.created_at,
            "in_progress_at": times.get("in_progress"),
            "expires_at": job.created_at + 86400,
            "finalizing_at": times.get("finalizing"),
            "completed_at": times.get("completed"),
            "failed_at": times.get("failed"),
            "expired_at": times.get("expired"),
            "cancelling_at": times.get("cancelling"),
            "cancelled_at": times.get("cancelled"),
            "request_counts": {
                "total": len(job.requests),
                "completed": len(job.answers) - job.failed,
                "failed": job.failed + job.not_run,
            },
            "usage": usage,
            "metadata": job.extra["metadata"],
        }


def _read_input(content: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """(validation problems, (custom id, body) per line) of an input file."""
    problems: list[dict[str, Any]] = []
    requests: list[tuple[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()
    for number, raw in enumerate(content.decode().splitlines(), 1):
        try:
            line = json.loads(raw)
        except ValueError:
            problems.append(_problem("invalid_json_line", "The line is not valid JSON.", number))
            continue
        cid = line.get("custom_id") if isinstance(line, dict) else None
        body = line.get("body") if isinstance(line, dict) else None
        if not isinstance(cid, str) or cid in seen:
            problems.append(
                _problem("duplicate_custom_id", "custom_id missing or repeated.", number)
            )
        elif line.get("method") != "POST" or line.get("url") != endpoint:
            problems.append(_problem("mismatched_endpoint", f"The url must be {endpoint}.", number))
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            problems.append(_problem("invalid_body", "The body must name a model.", number))
        else:
            seen.add(cid)
            models.add(body["model"])
            requests.append((cid, body))
    if len(models) > 1:
        problems.append(_problem("mixed_models", "All requests must use the same model.", None))
    return problems, requests


def _problem(code: str, message: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _model(job: SimJob) -> str | None:
    return next((body.get("model") for _, body in job.requests), None)


def _usage(job: SimJob) -> dict[str, Any]:
    sums = {"prompt_tokens": 0, "completion_tokens": 0}
    for status, body in job.answers.values():
        usage = body.get("usage") if status < 300 and isinstance(body, dict) else None
        for key in sums:
            sums[key] += int((usage or {}).get(key) or 0)
    return {
        "input_tokens": sums["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": sums["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": sums["prompt_tokens"] + sums["completion_tokens"],
    }


def _multipart(request: RecordedRequest) -> dict[str, Any]:
    """A multipart/form-data body: text fields as bytes, the file as (filename, bytes)."""
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    form: dict[str, Any] = {}
    if not message.is_multipart():
        return form
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        form[str(name)] = (filename, payload) if filename else payload
    return form
