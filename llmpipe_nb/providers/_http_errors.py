"""How an HTTP failure becomes a typed ProviderError: by status for an answer that is an
error, by kind for a connection that failed, with the provider's retry hints read."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from ..errors import (
    ContextLengthError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
)
from .base import error_for_status

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input token count",
    "exceeds the maximum number of tokens",
)


def status_error(
    provider: str,
    status: int,
    message: str,
    headers: Mapping[str, str],
    body: Any,
    *,
    error_type: str | None = None,
    code: Any = None,
    request_id: str | None = None,
) -> ProviderError:
    """A typed error: class by status, context-length errors recognised, retry hints read."""
    request_id = headers.get("x-request-id") or headers.get("request-id") or request_id
    kw: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "error_type": error_type,
        "request_id": request_id,
        "retry_after": parse_retry_after(headers),
        "body": body,
    }
    text = f"{error_type} {code} {message}".lower()
    if 400 <= status < 500 and status != 429 and any(hint in text for hint in _CONTEXT_HINTS):
        error: ProviderError = ContextLengthError(
            f"The prompt does not fit the model's context window, {provider} said "
            f'"{message.rstrip(".")}": shorten the prompt or lower max_tokens.',
            **kw,
        )
    else:
        error = error_for_status(status, message, **kw)
    should_retry = headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        error.retryable = should_retry == "true"
    return error


def connection_error(
    name: str,
    where: str | None,
    exc: Exception,
    *,
    streaming: bool,
    connect_timeout: float,
    read_timeout: float,
    idle_timeout: float,
) -> ProviderError:
    """A connection failure, a timeout or a broken stream, typed so retries can tell."""
    import httpx2

    kw: dict[str, Any] = {"provider": name}
    if isinstance(exc, httpx2.ConnectTimeout):
        return ProviderTimeoutError(
            f"Connecting to {name} at {where} took longer than {connect_timeout:g} s: "
            "check the address or raise the timeout.",
            **kw,
        )
    if isinstance(exc, httpx2.ReadTimeout) and streaming:
        return ProviderTimeoutError(
            f"The stream from {name} sent nothing for {idle_timeout:g} s between chunks: "
            "retry, or raise the timeout.",
            **kw,
        )
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeoutError(
            f"{name} did not answer within {read_timeout:g} s: retry, or raise the timeout.",
            **kw,
        )
    if isinstance(exc, httpx2.ConnectError):
        return ProviderConnectionError(
            f"Could not connect to {name} at {where}: check that the server runs and base_url is right.",
            **kw,
        )
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return ProviderConnectionError(
            f"The base_url of {name} is not an http:// or https:// URL: fix {where}.",
            retryable=False,
            **kw,
        )
    return ProviderConnectionError(
        f"The connection to {name} broke off before the whole answer arrived, the HTTP "
        f'client saying "{exc}": retry the request, or check the network and base_url.',
        **kw,
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
