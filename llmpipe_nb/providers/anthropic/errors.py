"""Anthropic's error bodies, from an HTTP answer or an `error` event inside a stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ProviderError

if TYPE_CHECKING:
    from .provider import AnthropicProvider

#: stream error types -> the HTTP status they stand for outside a stream
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def map_error(
    provider: AnthropicProvider, status: int, headers: Mapping[str, str], body: Any
) -> ProviderError:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` as a typed error."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        message, kind = error.get("message") or f"HTTP {status}", error.get("type")
    else:
        message, kind = (str(body).strip()[:500] or f"HTTP {status}"), None
    request_id = body.get("request_id") if isinstance(body, Mapping) else None
    return provider.error(status, message, headers, body, error_type=kind, request_id=request_id)


def stream_error(provider: AnthropicProvider, data: Mapping[str, Any]) -> ProviderError:
    """An `error` event after the 200: typed by its error type, as the status would have been."""
    kind = (data.get("error") or {}).get("type")
    return map_error(provider, ERROR_STATUS.get(str(kind), 500), {}, data)
