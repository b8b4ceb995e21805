"""OpenAI's Batch API (and OpenAI-compatible servers that have `/v1/batches`).

The rows go up as a JSONL file (`POST /files`, purpose `batch`), one
`{"custom_id", "method", "url", "body"}` line per request, whose body is exactly what
the chat endpoint would have been sent; `POST /batches` starts the job with a 24-hour
window; `GET /batches/{id}` polls it. The answers come back as two JSONL files: the
output file (answered requests) and the error file (requests the API refused, and
rows the batch never ran, with a `batch_expired` or `batch_cancelled` code).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import ProviderConfig
from ...errors import BatchJobError, ResponseFormatError
from ...transport import HttpCall, HttpResponse
from .._batches import Answer, BatchAPI, RemoteBatch, jsonl, unanswered, unix_time

#: the API's own words for rows a batch ended without running
_NOT_RUN = {"batch_expired": "expired", "batch_cancelled": "cancelled"}
_ENDED_AT = ("completed_at", "failed_at", "expired_at", "cancelled_at")


class OpenAIBatches(BatchAPI):
    """`/v1/batches` over the Files API; up to 50,000 requests and 200 MB a batch."""

    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def line(self, custom_id: str, call: HttpCall) -> bytes:
        row = {"custom_id": custom_id, "method": call.method, "url": _url(call), "body": call.json}
        return json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode()

    def line_size(self, custom_id: str, call: HttpCall) -> int:
        return len(self.line(custom_id, call)) + 1

    def submit(
        self,
        provider: Any,
        config: ProviderConfig,
        calls: Sequence[tuple[str, HttpCall]],
        label: Mapping[str, str],
    ) -> RemoteBatch:
        transport = provider.client(config)
        content = b"".join(self.line(cid, call) + b"\n" for cid, call in calls)
        uploaded = transport.upload(
            "/files", {"purpose": "batch"}, ("batch.jsonl", content, "application/jsonl")
        )
        file_id = _field(uploaded.body, "id", provider.name)
        body = {
            "input_file_id": file_id,
            "endpoint": _url(calls[0][1]),
            "completion_window": "24h",
            "metadata": dict(label),
        }
        created = transport.send(HttpCall("POST", "/batches", json=body))
        return self.read(created.body, provider.name)

    def status(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        answer = provider.client(config).send(HttpCall("GET", f"/batches/{batch.batch_id}"))
        return self.read(answer.body, provider.name)

    def cancel(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        path = f"/batches/{batch.batch_id}/cancel"
        answer = provider.client(config).send(HttpCall("POST", path))
        return self.read(answer.body, provider.name)

    def results(
        self, provider: Any, config: ProviderConfig, batch: RemoteBatch
    ) -> Iterator[tuple[str, Answer]]:
        transport = provider.client(config)
        for key in ("output_file_id", "error_file_id"):
            file_id = batch.files.get(key)
            if file_id:
                text = transport.fetch_text(f"/files/{file_id}/content")
                for row in jsonl(text, provider.name):
                    yield str(row.get("custom_id")), self.answer(provider, batch, row)

    def answer(self, provider: Any, batch: RemoteBatch, row: Mapping[str, Any]) -> Answer:
        """One line of the output or error file as the response or the typed error."""
        response = row.get("response")
        if isinstance(response, Mapping) and isinstance(response.get("status_code"), int):
            status, body = response["status_code"], response.get("body")
            headers = {"x-request-id": str(response.get("request_id") or "")}
            if status < 300:
                return HttpResponse(status, headers, body)
            return provider.map_error(status, headers, body)
        error = row.get("error")
        if not isinstance(error, Mapping):
            error = {}
        code = str(error.get("code") or "")
        if code in _NOT_RUN:
            return unanswered(batch.batch_id, _NOT_RUN[code])
        return BatchJobError(
            f"The batch could not run this row ({code or 'no code'}: "
            f"{error.get('message') or 'no message'}).",
            provider=provider.name,
            batch_id=batch.batch_id,
            status="failed",
            error_type=code or None,
        )

    def read(self, body: Any, name: str) -> RemoteBatch:
        """A batch object as a RemoteBatch."""
        batch_id = _field(body, "id", name)
        counts = body.get("request_counts") or {}
        ended = [unix_time(body.get(key)) for key in _ENDED_AT]
        errors = (body.get("errors") or {}).get("data") or ()
        usage = body.get("usage") if isinstance(body.get("usage"), Mapping) else {}
        return RemoteBatch(
            batch_id,
            str(body.get("status")),
            total=int(counts.get("total") or 0),
            succeeded=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            created_at=unix_time(body.get("created_at")),
            finished_at=next((t for t in ended if t is not None), None),
            error="; ".join(_error_text(e) for e in errors if isinstance(e, Mapping)) or None,
            files={k: str(body[k]) for k in ("output_file_id", "error_file_id") if body.get(k)},
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
        )


def _url(call: HttpCall) -> str:
    """The endpoint of a call as the batch names it (base URLs end in /v1)."""
    return "/v1" + call.path


def _field(body: Any, key: str, name: str) -> str:
    if not isinstance(body, Mapping) or not body.get(key):
        raise ResponseFormatError(
            f"{name} answered the batch call without {key!r}; check that base_url points at "
            "an API with /v1/batches.",
            provider=name,
        )
    return str(body[key])


def _error_text(error: Mapping[str, Any]) -> str:
    line = f" (line {error['line']})" if error.get("line") is not None else ""
    return f"{error.get('code') or 'error'}: {error.get('message') or ''}{line}".strip()
