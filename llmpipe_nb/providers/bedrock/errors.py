"""Bedrock's errors as typed errors: the exception name Bedrock puts in `x-amzn-ErrorType`
(or in a stream's `:exception-type`), the message in the body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import AuthenticationError, ContextLengthError, ProviderError

if TYPE_CHECKING:
    from .provider import BedrockProvider

#: exception names inside a stream (lower camel case) -> the HTTP status they stand for
STREAM_STATUS = {
    "throttlingException": 429,
    "validationException": 400,
    "modelStreamErrorException": 424,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
    "modelTimeoutException": 408,
}
_TOO_LONG = ("too long", "too many input tokens", "context window", "maximum context")


def exception_name(headers: Mapping[str, str], body: Any) -> str | None:
    """`ThrottlingException` from `ThrottlingException:http://internal.amazon.com/...`."""
    raw = headers.get("x-amzn-errortype") or (
        body.get("__type") if isinstance(body, Mapping) else None
    )
    if not raw:
        return None
    return str(raw).split(":", 1)[0].rsplit("#", 1)[-1]


def map_error(
    provider: BedrockProvider, status: int, headers: Mapping[str, str], body: Any
) -> ProviderError:
    """A typed error: throttling a RateLimitError, a validation error a BadRequestError (a
    ContextLengthError when it says the input is too long), access denied an
    AuthenticationError that says how to get model access, a model not ready or a service
    unavailable a retryable error."""
    name = exception_name(headers, body)
    message = ""
    if isinstance(body, Mapping):
        message = str(body.get("message") or body.get("Message") or "")
    message = message or (str(body).strip()[:500] if body else "") or f"HTTP {status}"
    kw: dict[str, Any] = {
        "provider": provider.name,
        "status_code": status,
        "error_type": name,
        "request_id": headers.get("x-amzn-requestid"),
        "body": body,
    }
    if name == "AccessDeniedException":
        return AuthenticationError(
            f"{message} (request access to this model in the Bedrock console's Model access "
            "page for this region, and check that the IAM policy allows bedrock:InvokeModel)",
            **kw,
        )
    if name == "ValidationException" and any(hint in message.lower() for hint in _TOO_LONG):
        return ContextLengthError(
            f"{message} (the prompt does not fit the model's context window: shorten it)", **kw
        )
    error = provider.error(status, message, headers, body, error_type=name)
    error.request_id = kw["request_id"]
    return error  # by status: throttling and a model not ready (429), 408 and 5xx retryable


def stream_error(provider: BedrockProvider, name: str, data: Mapping[str, Any]) -> ProviderError:
    """An exception message inside a stream that had answered 200."""
    status = STREAM_STATUS.get(name, 500)
    wire_name = name[:1].upper() + name[1:]
    return map_error(provider, status, {"x-amzn-errortype": wire_name}, data)
