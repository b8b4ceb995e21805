"""Credentials: `Secret` holds a key without ever showing it, and the one masking rule.

Every display (reprs, HTML views, debug info, errors) asks `is_secret_name` and `masked`
whether a value may be shown, so a key can leak through none of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .errors import ConfigError, remember_secret


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
