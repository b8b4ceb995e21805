"""ValidateProvider: refuse a request that names an unknown provider or carries bad options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import providers
from ..errors import ConfigError
from ..plug import Plug
from ..request import Request

CONFIG_OPTIONS = frozenset({"api_key", "base_url", "timeout", "headers"})


def _number(lo: float, hi: float | None) -> Any:
    def check(v: Any) -> bool:
        return (
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and v >= lo
            and (hi is None or v <= hi)
        )

    return check


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _stop(v: Any) -> bool:
    return isinstance(v, str) or (
        isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v)
    )


_CHECKS: dict[str, tuple[Any, str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
    "temperature": (_number(0, 2), "a number from 0 to 2"),
    "top_p": (_number(0, 1), "a number from 0 to 1"),
    "max_tokens": (_positive_int, "a positive whole number"),
    "max_completion_tokens": (_positive_int, "a positive whole number"),
    "n": (_positive_int, "a positive whole number"),
    "stop": (_stop, "a string or a list of strings"),
    "tools": (lambda v: isinstance(v, (list, tuple)), "a list of tool definitions"),
    "response_format": (lambda v: isinstance(v, Mapping), "a dict such as {'type': 'json_object'}"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
}


def check_request_options(options: Mapping[str, Any]) -> None:
    """Raise ConfigError for the first known option with a bad value."""
    for key, value in options.items():
        rule = _CHECKS.get(key)
        if rule is not None and value is not None and not rule[0](value):
            raise ConfigError(f"Option '{key}' must be {rule[1]}, not {value!r}.")


class ValidateProvider(Plug):
    """Checks the provider is registered and supports the request's kind, and the options' values."""

    def call(self, request: Request) -> Request:
        provider = providers.get(request.provider)
        if request.kind not in provider.plugs:
            raise ConfigError(
                f"Provider '{request.provider}' does not support '{request.kind}': "
                f"it supports {', '.join(provider.kinds)}."
            )
        check_request_options(request.options)
        return request
