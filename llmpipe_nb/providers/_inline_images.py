"""Images given by URL, turned into base64 bytes for APIs that take only bytes (Ollama).

An http(s) URL is fetched with a client of its own, never the provider's, so the
provider's headers and key cannot reach the image's host; the client is closed on every
path. The answer is read in pieces and refused once it passes `max_bytes`. A `data:` URL
is decoded. Every failure is a ConfigError (nothing was sent to the provider) that names
the URL without its query, which may hold a signature, and says how to pass the bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._version import __version__
from ..errors import ConfigError
from ._messages import PASS_BYTES, image_source

if TYPE_CHECKING:
    import httpx2

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0  # seconds, when the provider has no timeout of its own
#: what a server may call an image's body, besides image/*
_BINARY_TYPES = ("", "application/octet-stream", "binary/octet-stream")

Fetched = Mapping[str, tuple[str, str | None]]  # url -> (base64 data, media type)


def check_max_bytes(value: Any) -> int:
    """`max_image_bytes` as a positive int, or ConfigError."""
    if value is None:
        return DEFAULT_MAX_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"max_image_bytes must be a positive whole number of bytes, not {value!r}."
        )
    return value


def remote_urls(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The http(s) URLs of the image parts that carry no bytes, each once, in order."""
    urls: dict[str, None] = {}
    for message in messages:
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            url = _url_of(part)
            if url and urlsplit(url).scheme.lower() in ("http", "https"):
                urls[url] = None
    return list(urls)


def inline(messages: Iterable[Mapping[str, Any]], fetched: Fetched) -> tuple[dict[str, Any], ...]:
    """The messages with each fetched URL's image part replaced by an `image` part with its bytes."""
    result = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(_url_of(p) in fetched for p in content):
            content = [_inlined(p, fetched) for p in content]
            message = {**message, "content": content}
        result.append(dict(message))
    return tuple(result)


def image_data(part: Mapping[str, Any], provider: str) -> str:
    """The base64 bytes of an image part: given, or decoded from a `data:` URL.

    Any other URL here was not fetched (a scheme that cannot be), so it is refused.
    """
    _, data, url = image_source(part)
    if data:
        return data
    raise ConfigError(
        f"The image URL {shown(url or '')} cannot be fetched and {provider} takes images only "
        f"as bytes: give an http(s) or data: URL, {PASS_BYTES}."
    )


def fetch(urls: list[str], *, timeout: float, max_bytes: int) -> dict[str, tuple[str, str | None]]:
    """Fetch each URL's image; ConfigError for the first that fails."""
    if not urls:
        return {}
    import httpx2  # imported where used, as everywhere outside _http

    fetched = {}
    with httpx2.Client(**_client_options(timeout)) as client:
        for url in urls:
            try:
                with client.stream("GET", url) as response:
                    _check(response, url, max_bytes)
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body += piece
                        _check_size(len(body), url, max_bytes)
            except httpx2.HTTPError as exc:
                raise _unreachable(url, exc, timeout) from None
            fetched[url] = _encoded(body, response)
    return fetched


async def afetch(
    urls: list[str], *, timeout: float, max_bytes: int
) -> dict[str, tuple[str, str | None]]:
    """Async twin of `fetch`."""
    if not urls:
        return {}
    import httpx2

    fetched = {}
    async with httpx2.AsyncClient(**_client_options(timeout)) as client:
        for url in urls:
            try:
                async with client.stream("GET", url) as response:
                    _check(response, url, max_bytes)
                    body = bytearray()
                    async for piece in response.aiter_bytes():
                        body += piece
                        _check_size(len(body), url, max_bytes)
            except httpx2.HTTPError as exc:
                raise _unreachable(url, exc, timeout) from None
            fetched[url] = _encoded(body, response)
    return fetched


def shown(url: str) -> str:
    """The URL as errors show it: no credentials, no query or fragment, at most 80 characters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    text = f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path
    return text if len(text) <= 80 else text[:79] + "…"


# -- pieces ---------------------------------------------------------------------------------


def _url_of(part: Any) -> str | None:
    if not isinstance(part, Mapping) or part.get("type") not in ("image_url", "image"):
        return None
    _, data, url = image_source(part)
    return None if data else url


def _inlined(part: Mapping[str, Any], fetched: Fetched) -> Any:
    url = _url_of(part)
    if url is None or url not in fetched:
        return part
    data, media_type = fetched[url]
    return {"type": "image", "data": data, "media_type": media_type or part.get("media_type")}


def _client_options(timeout: float) -> dict[str, Any]:
    import httpx2

    return {
        "timeout": httpx2.Timeout(timeout),
        "follow_redirects": True,
        "headers": {"User-Agent": f"llmpipe_nb/{__version__}"},
    }


def _check(response: httpx2.Response, url: str, max_bytes: int) -> None:
    """Refuse an error status, a body announced too large, or a body that is not an image."""
    if response.status_code >= 400:
        raise ConfigError(
            f"The image at {shown(url)} could not be fetched (HTTP {response.status_code}): "
            f"check the URL, {PASS_BYTES}."
        )
    length = response.headers.get("content-length", "")
    if length.isdigit():
        _check_size(int(length), url, max_bytes)
    media_type = _media_type(response)
    if not (media_type or "").startswith("image/") and (media_type or "") not in _BINARY_TYPES:
        raise ConfigError(
            f"The URL {shown(url)} answered with {media_type}, not an image: "
            f"check the URL, {PASS_BYTES}."
        )


def _check_size(size: int, url: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise ConfigError(
            f"The image at {shown(url)} is larger than max_image_bytes ({max_bytes:,} bytes): "
            f"pass a larger max_image_bytes=, {PASS_BYTES}."
        )


def _media_type(response: httpx2.Response) -> str | None:
    value = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return value or None


def _encoded(body: bytearray, response: httpx2.Response) -> tuple[str, str | None]:
    media_type = _media_type(response)
    kept = media_type if media_type and media_type.startswith("image/") else None
    return base64.b64encode(bytes(body)).decode(), kept


def _unreachable(url: str, exc: httpx2.HTTPError, timeout: float) -> ConfigError:
    import httpx2

    if isinstance(exc, httpx2.TimeoutException):
        return ConfigError(
            f"The image at {shown(url)} did not arrive within {timeout:g} s: "
            f"retry with a larger timeout=, {PASS_BYTES}."
        )
    if isinstance(exc, httpx2.ConnectError):
        return ConfigError(
            f"Could not connect to fetch the image at {shown(url)}: check the URL, {PASS_BYTES}."
        )
    return ConfigError(
        f"The connection broke off while fetching the image at {shown(url)}: retry, {PASS_BYTES}."
    )
