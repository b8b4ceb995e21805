"""Provider configuration: explicit arguments beat `configure()`, which beats the environment.

API keys live in `Secret`, whose str, repr and HTML never show the value; the value is
read only where a request is sent.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from math import inf
from typing import Any

from .errors import ConfigError, MissingKeyError, UnknownProviderError, remember_secret

SETTINGS = ("api_key", "base_url", "timeout", "headers", "default_model", "extra")


class Secret:
    """A credential that never shows itself: str, repr and HTML print `***`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigError("An API key must be a non-empty string.")
        self._value = value
        remember_secret(value)

    def get_secret_value(self) -> str:
        """The real value: call this only where the request is sent."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def _repr_html_(self) -> str:
        return "<code>***</code>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def as_secret(value: Any) -> Secret | None:
    """Wrap a raw key (or pass a Secret through); None stays None."""
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def secret_key(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """`options` with a raw `api_key` wrapped in a Secret, the moment it comes in."""
    key = options.get("api_key")
    if key is None or isinstance(key, Secret):
        return options
    return {**options, "api_key": Secret(key)}


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

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return (
            f"ProviderConfig(provider={self.provider!r}, api_key={key}, "
            f"base_url={self.base_url!r}, timeout={self.timeout!r})"
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
        }


_SENSITIVE_HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key", "cookie")
_SECRET_WORDS = ("api_key", "apikey", "secret", "password", "authorization", "credential")


def mask_header(name: str, value: str) -> str:
    """Mask credential-bearing headers for display."""
    lower = name.lower()
    secret = lower in _SENSITIVE_HEADERS or "key" in lower or is_secret_name(lower)
    return "***" if secret else value


def is_secret_name(name: str) -> bool:
    """Whether an option or field called `name` holds a credential: the one rule every display uses."""
    n = name.lower().replace("-", "_")
    return (
        n in ("key", "token")
        or n.endswith("_key")
        or n.endswith("_token")
        or any(w in n for w in _SECRET_WORDS)
    )


def masked(name: str, value: Any) -> Any:
    """`value` as it may be shown under `name`: credentials as '***', inside dicts too."""
    if value is None:
        return None
    if isinstance(value, Secret) or is_secret_name(name):
        return "***"
    if isinstance(value, Mapping):
        if name.lower() == "headers":
            return {str(k): mask_header(str(k), str(v)) for k, v in value.items()}
        return {k: masked(str(k), v) for k, v in value.items()}
    return value


def masked_options(options: Mapping[str, Any], secret: Collection[str] = ()) -> dict[str, Any]:
    """Options for display (reprs, debug info): credential-named ones and `secret` ones masked."""
    return {k: "***" if k in secret and v is not None else masked(k, v) for k, v in options.items()}


_configured: dict[str, dict[str, Any]] = {}
_version = 0  # bumped on every change, so resolved configurations can be cached safely


def version() -> int:
    return _version


def configure(provider: str, **settings: Any) -> None:
    """Set defaults for a provider for this process: api_key, base_url, timeout, headers, default_model.

    `llm.configure("openai", api_key=None)` removes a setting again. An unknown provider
    or a bad value raises here, not at the first request.
    """
    from . import providers

    if provider not in providers.names():
        raise UnknownProviderError(str(provider), providers.names())
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
    return ProviderConfig(
        provider=provider,
        api_key=key,
        base_url=base_url.rstrip("/") if isinstance(base_url, str) else base_url,
        timeout=float(timeout) if timeout is not None else None,
        headers=tuple(sorted((str(k), str(v)) for k, v in headers.items())),
        default_model=pick("default_model"),
        extra=tuple(sorted(extra.items())),
    )
