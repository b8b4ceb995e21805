"""Gemini's credentials: the key, or Google OAuth2 through google-auth when configured.

The key goes in `x-goog-api-key`; OAuth2 is chosen with
`llm.configure("gemini", extra={"auth": "oauth2"})` (Vertex AI, which reuses this plug,
uses OAuth2 whenever no key is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import providers
from ...config import ProviderConfig
from ...errors import MissingKeyError
from ...plug import Plug
from ...request import Request

if TYPE_CHECKING:
    from .provider import GeminiProvider

OAUTH_SCOPES = ("https://www.googleapis.com/auth/generative-language",)


class GeminiOauth2(Plug):
    """Without a key, authenticate with Google OAuth2 credentials (google-auth), when the
    provider uses them for this configuration."""

    def call(self, request: Request) -> Request:
        config: ProviderConfig = request.config
        if config.api_key is not None:
            return request
        provider: GeminiProvider = providers.get(request.provider)  # type: ignore[assignment]
        if not provider.uses_oauth2(config):
            raise MissingKeyError(request.provider, provider.key_env[0])
        provider.load_credentials()
        return request


class AuthTransport:
    """google-auth's transport interface over httpx2, so token refresh needs no other HTTP library."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> AuthResponse:
        import httpx2

        return AuthResponse(
            httpx2.request(method, url, content=body, headers=headers, timeout=timeout or 30)
        )


class AuthResponse:
    def __init__(self, response: Any) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.data = response.content
