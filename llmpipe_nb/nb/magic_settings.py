"""What the magics keep for the kernel's life (`%llm config` defaults, conversations, named
pipelines), and how a typed-in value is checked: every refusal says what is accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import registry
from ..errors import ConfigError, remember_secret
from ..plugs.validate_provider import check_request_options
from ..views import FORMATS

if TYPE_CHECKING:
    from ..builder import Builder
    from .cells import FailedCell


@dataclass
class Defaults:
    """What `%llm config` sets for the kernel's life."""

    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    format: str = "markdown"
    stream: bool = True
    #: True (the memory cache), False, or a store kept for the kernel's life: "memory",
    #: "sqlite" (at cache_path, else the user data folder) or "redis" (at cache_url)
    cache: bool | str | None = None
    cache_path: str | None = None
    cache_url: str | None = None
    update_interval: float = 0.1


@dataclass
class Chat:
    """A conversation kept across cells: its system message and the exchanges so far."""

    system: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Session:
    """The magics' state for one kernel: the defaults, the conversations, the named pipelines,
    and the last cell that failed (for `{Err}` and `%llm fix`)."""

    defaults: Defaults = field(default_factory=Defaults)
    chats: dict[str, Chat] = field(default_factory=dict)
    pipelines: dict[str, Builder] = field(default_factory=dict)
    last_error: FailedCell | None = None


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
_SWITCH = "true or false (or yes/no, on/off, 1/0)"
CACHE_STORES = ("memory", "sqlite", "redis")
#: what each setting accepts, in the words every refusal uses
ACCEPTED = {
    "provider": "a registered provider name",
    "model": "a model name",
    "temperature": "a number from 0 to 2",
    "max_tokens": "a positive whole number",
    "system": "a system message",
    "format": f"one of {', '.join(FORMATS)}",
    "stream": _SWITCH,
    "cache": "on, off, memory, sqlite or redis",
    "cache_path": "the path of the SQLite cache file",
    "cache_url": "a Redis URL (redis://, rediss:// or unix://)",
    "update_interval": "a number of seconds, 0 or more",
    "budget": "a positive whole number of tokens",
}


def number(name: str, raw: str) -> float:
    """`raw` as a float, or ValueError saying what `name` accepts."""
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number: use {ACCEPTED[name]}") from None


def whole_number(name: str, raw: str) -> int:
    """`raw` as an int, or ValueError saying what `name` accepts."""
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number: use {ACCEPTED[name]}") from None


def cache_choice(name: str, raw: str) -> bool | str:
    """A cache setting: a store name, or a switch (on: the memory cache; off: none)."""
    low = raw.lower()
    if low in CACHE_STORES:
        return low
    if low in _TRUE | _FALSE:
        return low in _TRUE
    raise ValueError(f"{raw!r} is not a cache: use {ACCEPTED['cache']}")


def setting(name: str, raw: str) -> Any:
    """A `%llm config` value converted to the setting's type, or ConfigError saying why not."""
    if raw == "":
        return getattr(Defaults(), name)
    value: Any = raw
    try:
        if name == "cache":
            value = cache_choice(name, raw)
        elif name == "stream":
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError(f"{raw!r} is not a switch: use {ACCEPTED[name]}")
            value = raw.lower() in _TRUE
        elif name in ("temperature", "update_interval"):
            value = number(name, raw)
        elif name == "max_tokens":
            value = whole_number(name, raw)
    except ValueError as error:
        raise ConfigError(f"%llm config {name}: {error}.") from None
    if name == "format" and value not in FORMATS:
        raise ConfigError(f"%llm config format must be {ACCEPTED['format']}, not {raw!r}.")
    if name == "update_interval" and value < 0:
        raise ConfigError(f"%llm config update_interval must be {ACCEPTED[name]}, not {raw!r}.")
    if name == "provider":
        registry.get(value)
    if name == "cache_url":
        parts = urlsplit(raw)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"%llm config cache_url must be {ACCEPTED[name]}, not {raw!r}.")
        if parts.password:
            remember_secret(parts.password)  # never shown in the defaults table
    if name.startswith("cache"):
        return value
    check_request_options({name: value})
    return value
