"""Provider configuration: explicit arguments beat `configure()`, which beats the environment.

API keys live in `Secret` (`credentials.py`), whose str, repr and HTML never show the
value; the value is read only where a request is sent. Provider names are checked
against the registry the providers register into.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import inf
from typing import Any

from . import registry
from .credentials import (
    Secret,
    as_secret,
    is_secret_name,
    mask_header,
    masked,
    masked_options,
    secret_key,
)
from .errors import ConfigError, MissingKeyError, UnknownProviderError

SETTINGS = ("api_key", "base_url", "timeout", "headers", "default_model", "extra", "transport")
#: the HTTP clients a provider can be reached with: httpx2 (the default) or aiohttp, for
#: async calls, with `pip install 'llmpipe_nb[fast]'`
TRANSPORTS = ("httpx2", "aiohttp")
TRANSPORT_ENV = "LLMPIPE_TRANSPORT"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Where and how to reach one provider. Hashable, so HTTP clients can be pooled by it."""

    provider: str
    api_key: Secret | None = None
    base_url: str | None = None
    timeout: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    default_model: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())
    transport: str = "httpx2"

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return (
            f"ProviderConfig(provider={self.provider!r}, api_key={key}, "
            f"base_url={self.base_url!r}, timeout={self.timeout!r}, transport={self.transport!r})"
        )

    def masked(self) -> dict[str, Any]:
        """A dict for display, with the key and sensitive headers masked."""
        return {
            "provider": self.provider,
            "api_key": None if self.api_key is None else "***",
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {k: mask_header(k, v) for k, v in self.headers},
            "default_model": self.default_model,
            "transport": self.transport,
        }


_configured: dict[str, dict[str, Any]] = {}
_version = 0  # bumped on every change, so resolved configurations can be cached safely


def version() -> int:
    return _version


def configure(provider: str, **settings: Any) -> None:
    """Set defaults for a provider for this process: api_key, base_url, timeout, headers,
    default_model, extra, transport ("httpx2" or "aiohttp").

    `llm.configure("openai", api_key=None)` removes a setting again. An unknown provider
    or a bad value raises here, not at the first request.
    """
    if provider not in registry.names():
        raise UnknownProviderError(str(provider), registry.names())
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        raise ConfigError(
            f"configure() has no setting {names}: use {', '.join(SETTINGS)}, "
            "and give options such as model or temperature to the request instead."
        )
    checked = {k: check_setting(provider, k, v) for k, v in settings.items() if v is not None}
    global _version
    _version += 1
    current = _configured.setdefault(provider, {})
    for key in settings:
        if key in checked:
            current[key] = checked[key]
        else:
            current.pop(key, None)


def check_setting(provider: str, name: str, value: Any) -> Any:
    """The setting as kept (a key as a Secret), or ConfigError naming what it must be."""
    if name == "api_key":
        if not isinstance(value, (str, Secret)) or not value:
            raise ConfigError(
                f"api_key for '{provider}' must be a non-empty string, not {type(value).__name__}."
            )
        return as_secret(value)
    if name == "timeout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < inf:
            raise ConfigError(
                f"timeout for '{provider}' must be a positive number of seconds, not {value!r}."
            )
    elif name in ("base_url", "default_model"):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{name} for '{provider}' must be a non-empty string, not {value!r}.")
    elif name == "headers":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(
                f"headers for '{provider}' must be a dict of strings to strings, "
                "such as {'X-Team': 'research'}."
            )
    elif name == "extra" and not isinstance(value, Mapping):
        raise ConfigError(f"extra for '{provider}' must be a dict, not {type(value).__name__}.")
    elif name == "transport" and value not in TRANSPORTS:
        raise ConfigError(
            f"transport for '{provider}' must be one of {', '.join(map(repr, TRANSPORTS))}, "
            f"not {value!r}."
        )
    return value


def reset_configuration(provider: str | None = None) -> None:
    """Forget `configure()` settings (for one provider, or all)."""
    global _version
    _version += 1
    if provider is None:
        _configured.clear()
    else:
        _configured.pop(provider, None)


def configured(provider: str) -> Mapping[str, Any]:
    return _configured.get(provider, {})


def resolve(
    provider: str,
    *,
    key_env: tuple[str, ...] = (),
    base_url_env: str | None = None,
    default_base_url: str | None = None,
    requires_key: bool = False,
    explicit: Mapping[str, Any] | None = None,
) -> ProviderConfig:
    """Merge explicit settings, `configure()` and the environment; raise MissingKeyError if needed."""
    explicit = {
        k: check_setting(provider, k, v) for k, v in (explicit or {}).items() if v is not None
    }
    conf = _configured.get(provider, {})

    def pick(name: str) -> Any:
        value = explicit.get(name)
        return conf.get(name) if value is None else value

    key = pick("api_key")
    if key is None:
        for var in key_env:
            if os.environ.get(var):
                key = Secret(os.environ[var])
                break
    if key is None and requires_key:
        raise MissingKeyError(provider, key_env[0] if key_env else f"{provider.upper()}_API_KEY")
    base_url = pick("base_url") or (os.environ.get(base_url_env) if base_url_env else None)
    base_url = base_url or default_base_url
    timeout = pick("timeout")
    headers = pick("headers") or {}
    extra = pick("extra") or {}
    transport = pick("transport") or _transport_from_env()
    return ProviderConfig(
        provider=provider,
        api_key=key,
        base_url=base_url.rstrip("/") if isinstance(base_url, str) else base_url,
        timeout=float(timeout) if timeout is not None else None,
        headers=tuple(sorted((str(k), str(v)) for k, v in headers.items())),
        default_model=pick("default_model"),
        extra=tuple(sorted(extra.items())),
        transport=transport,
    )


def _transport_from_env() -> str:
    value = os.environ.get(TRANSPORT_ENV, "").strip() or "httpx2"
    if value not in TRANSPORTS:
        raise ConfigError(
            f"{TRANSPORT_ENV}={value!r} is not a transport: set it to "
            f"{' or '.join(TRANSPORTS)}, or unset it."
        )
    return value


__all__ = [
    "SETTINGS",
    "TRANSPORTS",
    "TRANSPORT_ENV",
    "ProviderConfig",
    "Secret",
    "as_secret",
    "check_setting",
    "configure",
    "configured",
    "is_secret_name",
    "mask_header",
    "masked",
    "masked_options",
    "reset_configuration",
    "resolve",
    "secret_key",
    "version",
]
