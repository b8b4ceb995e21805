"""Azure OpenAI's credentials: an `api-key`, or a Microsoft Entra ID bearer token.

The token comes, in this order, from a token provider the user configured
(`llm.configure("azure", extra={"token_provider": fn})`, any callable returning a token,
as the openai SDK's `azure_ad_token_provider`), from `AZURE_OPENAI_AD_TOKEN`, or from
azure-identity's credential chain when `extra={"auth": "entra"}` (the `azure` extra). It is
asked for at send time, so a provider that refreshes its token is always current.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ...config import ProviderConfig
from ...errors import ConfigError, MissingDependencyError, MissingKeyError

KEY_ENV = "AZURE_OPENAI_API_KEY"
TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"
#: the scope Azure OpenAI tokens are issued for
SCOPE = "https://cognitiveservices.azure.com/.default"

_lock = threading.Lock()
_identity: Callable[[], str] | None = None


def token_provider(config: ProviderConfig) -> Callable[[], str] | None:
    """The configured token provider, azure-identity's when asked for, else None."""
    extra = dict(config.extra)
    provider = extra.get("token_provider")
    if provider is not None:
        if not callable(provider):
            raise ConfigError(
                "extra['token_provider'] for 'azure' must be a function that returns an "
                f"Entra ID token, not {type(provider).__name__}."
            )
        return provider
    if extra.get("auth") == "entra":
        return _azure_identity()
    return None


def check(config: ProviderConfig, provider: str) -> None:
    """Raise before sending when there is no credential at all."""
    if config.api_key is None and token_provider(config) is None and not os.environ.get(TOKEN_ENV):
        raise MissingKeyError(provider, KEY_ENV)


def headers(config: ProviderConfig) -> dict[str, str]:
    """The credential header for one call: the key, else a bearer token."""
    if config.api_key is not None:
        return {"api-key": config.api_key.get_secret_value()}
    provider = token_provider(config)
    token = provider() if provider is not None else os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _azure_identity() -> Callable[[], str]:
    """azure-identity's default credential chain as a token provider, made once."""
    global _identity
    with _lock:
        if _identity is None:
            try:
                from azure.identity import DefaultAzureCredential, get_bearer_token_provider
            except ImportError:
                raise MissingDependencyError("azure-identity", "azure") from None
            credential: Any = DefaultAzureCredential()
            _identity = get_bearer_token_provider(credential, SCOPE)
        return _identity
