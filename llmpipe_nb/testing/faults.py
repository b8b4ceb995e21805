"""Faults a fake server applies to the next requests, so tests can make the wire misbehave.

A `Fault` is plain data; the helpers below build the common ones. Fields combine:
`Fault(delay_s=0.2, chunk_delay_s=0.01, chunk_count=50)` is a late, slow, long stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Fault",
    "chunks",
    "delay",
    "drop_connection",
    "end_stream",
    "http_error",
    "malformed_json",
    "no_usage",
    "reply",
    "slow_chunks",
    "stream_error",
    "structured_answer",
]


@dataclass(frozen=True)
class Fault:
    """What to do differently for one request.

    status/body/headers replace the reply (a body of None gets the provider's own
    error envelope); delay_s waits before the reply; drop_after cuts the connection
    after that many stream frames (or mid-body for a plain reply); end_after ends a
    stream properly after that many frames but before its end marker; malformed sends
    broken JSON; error_after ends a stream with the provider's in-stream error event
    after that many frames; chunk_delay_s sleeps between frames; chunk_count sets how
    many text pieces the reply streams; structured_text answers a request for structured
    output with that text (JSON that does not fit, or not JSON) in the provider's format;
    no_usage leaves the token counts out of the reply or stream, as some servers and
    proxies do.
    """

    status: int | None = None
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_after: int | None = None
    end_after: int | None = None
    malformed: bool = False
    error_after: int | None = None
    chunk_delay_s: float = 0.0
    chunk_count: int | None = None
    structured_text: str | None = None
    no_usage: bool = False


def http_error(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> Fault:
    """Answer with this status; the body defaults to the provider's error envelope."""
    return Fault(status=status, body=body, headers=dict(headers or {}))


def reply(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Fault:
    """Answer with exactly this JSON body (a canned response)."""
    return Fault(status=status, body=body, headers=dict(headers or {}))


def delay(seconds: float) -> Fault:
    """Wait before sending anything, to trip a client's read timeout."""
    return Fault(delay_s=seconds)


def drop_connection(after_chunks: int = 1) -> Fault:
    """Close the socket mid-response, after this many stream frames."""
    return Fault(drop_after=after_chunks)


def end_stream(after_chunks: int = 1) -> Fault:
    """Finish the response properly after this many frames, but without the end marker."""
    return Fault(end_after=after_chunks)


def malformed_json() -> Fault:
    """Send JSON that does not parse."""
    return Fault(malformed=True)


def stream_error(after_chunks: int = 1) -> Fault:
    """Send the provider's in-stream error event after this many frames (status stays 200)."""
    return Fault(error_after=after_chunks)


def slow_chunks(seconds: float) -> Fault:
    """Sleep between stream frames, to trip an idle-between-chunks timeout."""
    return Fault(chunk_delay_s=seconds)


def chunks(count: int) -> Fault:
    """Stream the reply text in exactly this many pieces."""
    return Fault(chunk_count=count)


def structured_answer(text: str) -> Fault:
    """Answer a structured-output request with this text instead of a valid instance."""
    return Fault(structured_text=text)


def no_usage() -> Fault:
    """Leave every token count out of the answer (plain or streamed)."""
    return Fault(no_usage=True)
