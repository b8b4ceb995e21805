"""Anthropic's Message Batches API.

`POST /v1/messages/batches` takes `requests: [{custom_id, params}]`, where `params` is
exactly the body `POST /v1/messages` would have been sent, under the same
`anthropic-version`. A batch is `in_progress`, then `canceling` if asked, then `ended`;
its `request_counts` say how many rows `succeeded`, `errored`, were `canceled` or
`expired`. The results are JSONL, one `{custom_id, result: {type, ...}}` per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...config import ProviderConfig
from ...errors import ResponseFormatError
from ...transport import HttpCall, HttpResponse
from .._batches import Answer, BatchAPI, RemoteBatch, jsonl, unanswered, unix_time
from . import rules
from .errors import ERROR_STATUS

PATH = "/v1/messages/batches"


class AnthropicBatches(BatchAPI):
    """Message Batches: up to 100,000 requests and 256 MB a batch."""

    max_requests = 100_000
    max_bytes = 256 * 1024 * 1024

    def submit(
        self,
        provider: Any,
        config: ProviderConfig,
        calls: Sequence[tuple[str, HttpCall]],
        label: Mapping[str, str],
    ) -> RemoteBatch:
        headers = dict(calls[0][1].headers)
        body = {"requests": [{"custom_id": cid, "params": call.json} for cid, call in calls]}
        created = provider.client(config).send(HttpCall("POST", PATH, json=body, headers=headers))
        return self.read(created.body, provider.name, headers)

    def status(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        headers = _headers(batch)
        call = HttpCall("GET", f"{PATH}/{batch.batch_id}", headers=headers)
        return self.read(provider.client(config).send(call).body, provider.name, headers)

    def cancel(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        headers = _headers(batch)
        call = HttpCall("POST", f"{PATH}/{batch.batch_id}/cancel", headers=headers)
        return self.read(provider.client(config).send(call).body, provider.name, headers)

    def results(
        self, provider: Any, config: ProviderConfig, batch: RemoteBatch
    ) -> Iterator[tuple[str, Answer]]:
        # the documented path on the configured host: the key goes nowhere else
        path = f"{PATH}/{batch.batch_id}/results"
        text = provider.client(config).fetch_text(path, _headers(batch))
        for row in jsonl(text, provider.name):
            yield str(row.get("custom_id")), self.answer(provider, batch, row.get("result"))

    def answer(self, provider: Any, batch: RemoteBatch, result: Any) -> Answer:
        """One result line as the response or the typed error."""
        kind = result.get("type") if isinstance(result, Mapping) else None
        if kind == "succeeded":
            return HttpResponse(200, {}, result.get("message"))
        if kind == "errored":
            body = result.get("error")
            body = body if isinstance(body, Mapping) else {}
            inner = body.get("error")
            inner = inner if isinstance(inner, Mapping) else body
            status = ERROR_STATUS.get(str(inner.get("type")), 500)
            return provider.map_error(status, {}, body if "error" in body else {"error": body})
        if kind in ("canceled", "expired"):
            return unanswered(batch.batch_id, "cancelled" if kind == "canceled" else "expired")
        return ResponseFormatError(
            f"{provider.name} sent a batch result of unknown type {kind!r}.",
            provider=provider.name,
        )

    def read(self, body: Any, name: str, headers: Mapping[str, str]) -> RemoteBatch:
        """A message batch object as a RemoteBatch."""
        if not isinstance(body, Mapping) or not body.get("id"):
            raise ResponseFormatError(
                f"{name} answered the batch call without an id; check that base_url points "
                "at its API.",
                provider=name,
            )
        counts = body.get("request_counts") or {}
        number = {k: int(counts.get(k) or 0) for k in _COUNTS}
        return RemoteBatch(
            str(body["id"]),
            _status(body, number),
            total=sum(number.values()),
            succeeded=number["succeeded"],
            failed=number["errored"] + number["canceled"] + number["expired"],
            created_at=unix_time(body.get("created_at")),
            finished_at=unix_time(body.get("ended_at")),
            files={"anthropic-version": headers.get("anthropic-version", rules.DEFAULT_VERSION)},
        )


_COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")


def _status(body: Mapping[str, Any], number: Mapping[str, int]) -> str:
    status = body.get("processing_status")
    if status == "canceling":
        return "cancelling"
    if status != "ended":
        return "in_progress"
    if body.get("cancel_initiated_at"):
        return "cancelled"
    return "expired" if number["expired"] else "completed"


def _headers(batch: RemoteBatch) -> dict[str, str]:
    return {"anthropic-version": batch.files.get("anthropic-version", rules.DEFAULT_VERSION)}
