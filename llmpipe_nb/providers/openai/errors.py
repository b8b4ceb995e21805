"""OpenAI's error answers, and those of the servers that imitate them, as typed errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ProviderError

if TYPE_CHECKING:
    from .._http import HttpProvider


def map_error(
    provider: HttpProvider, status: int, headers: Mapping[str, str], body: Any
) -> ProviderError:
    """The typed error for an error answer, from OpenAI's envelope or a flat or list body."""
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error", body) if isinstance(body, Mapping) else body
    if isinstance(error, Mapping):
        message = error.get("message") or f"HTTP {status}"
        kind, code = error.get("type"), error.get("code")
    else:
        message = str(error).strip()[:500] if error else f"HTTP {status}"
        kind = code = None
    typed = provider.error(
        status,
        message,
        headers,
        body,
        error_type=kind if isinstance(kind, str) else code if isinstance(code, str) else None,
        code=code,
    )
    if "insufficient_quota" in (kind, code):
        typed.retryable = False  # a quota 429 needs billing, not waiting
    return typed


def stream_error(provider: HttpProvider, chunk: Mapping[str, Any]) -> ProviderError:
    """An `{"error": ...}` event inside a stream that had answered 200."""
    error = chunk["error"]
    code = error.get("code") if isinstance(error, Mapping) else None
    status = code if isinstance(code, int) and code >= 400 else 500
    return map_error(provider, status, {}, chunk)
