"""`HttpProvider`: a provider reached over HTTP, its credential headers, and how its error
answers become typed errors (class by status, context-length errors recognised, retry
hints read)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...config import ProviderConfig
from ...errors import ContextLengthError, ProviderError
from ...transport import HttpCall, Transport
from ..base import Provider, error_for_status
from .pool import pooled_transport

if TYPE_CHECKING:
    import httpx2

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


class HttpProvider(Provider):
    """A provider reached over HTTP: pooled transport, credential headers, error building."""

    #: the header that carries the key, and the text before it
    auth_header: ClassVar[str] = "Authorization"
    auth_prefix: ClassVar[str] = "Bearer "

    def pipeline(self, kind: str) -> list[Any]:
        """The seed's pipeline, with the answer checked before it is priced: embeddings
        must be one vector per input, and token counts the server left out are counted."""
        from ...plugs import CheckEmbeddings, CountUsage, TrackCost

        specs = super().pipeline(kind)
        if TrackCost in specs:
            checks = [CheckEmbeddings, CountUsage] if kind == "embeddings" else [CountUsage]
            at = specs.index(TrackCost)
            specs[at:at] = checks
        return specs

    def client(self, config: ProviderConfig) -> Transport:
        return pooled_transport(self, config)

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        """The credential headers; called at send time only."""
        if config.api_key is None:
            return {}
        return {self.auth_header: self.auth_prefix + config.api_key.get_secret_value()}

    def url(self, config: ProviderConfig, call: HttpCall) -> str:
        """Where a call goes: the base URL and the call's path (a provider with more than
        one host, or with the address in the path, says otherwise)."""
        return str(config.base_url) + call.path

    def sign(self, request: httpx2.Request, config: ProviderConfig) -> None:
        """The last touch on a built request, once its URL, headers and body are final: a
        request signature goes here. Called at send time, for every attempt."""

    def error(
        self,
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
            "provider": self.name,
            "status_code": status,
            "error_type": error_type,
            "request_id": request_id,
            "retry_after": parse_retry_after(headers),
            "body": body,
        }
        text = f"{error_type} {code} {message}".lower()
        if 400 <= status < 500 and status != 429 and any(hint in text for hint in _CONTEXT_HINTS):
            error: ProviderError = ContextLengthError(
                f"The prompt does not fit the model's context window, {self.name} said "
                f'"{message.rstrip(".")}": shorten the prompt or lower max_tokens.',
                **kw,
            )
        else:
            error = error_for_status(status, message, **kw)
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            error.retryable = should_retry == "true"
        return error


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
