"""A provider's Batch API as the batch engine sees it: one provider batch's status, in
common words, and the adapter a provider with a Batch API implements.

The statuses are OpenAI's (`validating -> in_progress -> finalizing -> completed`, or
`failed`, `expired`, `cancelling -> cancelled`); other providers' are mapped onto them.
An adapter speaks its provider's wire format through the provider's own transport, so
keys, timeouts and error mapping are those of every other request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..config import ProviderConfig
from ..errors import BatchJobError, ProviderError, ResponseFormatError
from ..transport import HttpCall, HttpResponse

ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
TERMINAL = ("completed", "failed", "expired", "cancelled")
#: one row's answer: the provider's response to its request, or why there is none
Answer = HttpResponse | ProviderError


@dataclass(frozen=True)
class RemoteBatch:
    """One provider batch as last seen: status, request counts, times (Unix seconds), why
    it failed, and where its results are (`files`: file ids, API version, ...)."""

    batch_id: str
    status: str
    total: int = 0
    succeeded: int = 0
    failed: int = 0  # errored, expired and cancelled rows
    created_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    input_tokens: int | None = None  # what the provider counted so far, where it says
    output_tokens: int | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RemoteBatch:
        return cls(**json.loads(text))


class BatchAPI:
    """The adapter of one provider's Batch API. `max_requests` and `max_bytes` bound one
    batch (the engine splits bigger jobs); `poll_interval` is the first wait between polls."""

    max_requests: ClassVar[int] = 50_000
    max_bytes: ClassVar[int] = 200 * 1024 * 1024
    poll_interval: ClassVar[float] = 10.0

    def line_size(self, custom_id: str, call: HttpCall) -> int:
        """Bytes this request takes in a batch (checked against `max_bytes`)."""
        return len(json.dumps({"custom_id": custom_id, "body": call.json}).encode()) + 64

    def submit(
        self,
        provider: Any,
        config: ProviderConfig,
        calls: Sequence[tuple[str, HttpCall]],
        label: Mapping[str, str],
    ) -> RemoteBatch:
        """Create one batch of `calls` (custom id, the call a normal request would make)."""
        raise NotImplementedError

    def status(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        raise NotImplementedError

    def cancel(self, provider: Any, config: ProviderConfig, batch: RemoteBatch) -> RemoteBatch:
        raise NotImplementedError

    def results(
        self, provider: Any, config: ProviderConfig, batch: RemoteBatch
    ) -> Iterator[tuple[str, Answer]]:
        """(custom id, answer) for every row the finished batch has a result for."""
        raise NotImplementedError


def unanswered(batch_id: str, status: str, reason: str | None = None) -> BatchJobError:
    """The error of a row the batch ended without running."""
    why = {
        "expired": "expired (the provider's 24-hour window ran out) before it ran this row",
        "cancelled": "was cancelled before it ran this row",
    }.get(status, f"failed ({reason or 'no reason given'}) without running this row")
    return BatchJobError(
        f"Not answered: batch {batch_id} {why}; submit the rows that are missing again "
        "(with the cache on, the answered ones are not sent twice).",
        batch_id=batch_id,
        status=status,
    )


def unix_time(value: Any) -> float | None:
    """A timestamp as Unix seconds: from Unix seconds, or an RFC 3339 string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def jsonl(text: str, provider: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a results file, one per non-empty line."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise ResponseFormatError(
                f"Line {number} of the batch results from {provider} is not JSON; "
                "download them again with job.result().",
                provider=provider,
            ) from None
        if isinstance(value, dict):
            yield value
