"""What an answer becomes, whichever HTTP client read it: a 2xx body as an `HttpResponse`
(its JSON decoded), anything else as the provider's typed error. Each transport hands
over the status, headers and bytes it read, so both treat an answer the same way."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import lifecycle
from ...errors import ProviderError, ResponseFormatError, redact
from ...transport import HttpResponse

if TYPE_CHECKING:
    from .provider import HttpProvider


def answer(
    name: str, status: int, headers: dict[str, str], content: bytes, started: float
) -> HttpResponse:
    """A 2xx answer: its JSON body decoded (None when empty), the time since `started`."""
    elapsed = (time.perf_counter() - started) * 1000
    if not content:
        return HttpResponse(status, headers, None, elapsed)
    try:
        body = json.loads(content)
    except ValueError:
        raise ResponseFormatError(
            f"The answer of {name} is not valid JSON: check that base_url points at its API.",
            provider=name,
            status_code=status,
            request_id=headers.get("x-request-id") or headers.get("request-id"),
        ) from None
    return HttpResponse(status, headers, body, elapsed)


def status_error(
    provider: HttpProvider,
    status: int,
    headers: Mapping[str, str],
    text: str,
    path: str,
    sent: bytes | None,
) -> ProviderError:
    """The provider's typed error for a non-2xx answer; an echoed key is masked in the body
    it keeps. A not-found answer for a retired model (named in `sent`, the JSON body sent)
    becomes a ModelRetiredError."""
    text = redact(text)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    error = provider.map_error(status, dict(headers), body)
    if sent is None:  # a multipart upload names no model
        return error
    return lifecycle.retired_error(error, path, sent)
