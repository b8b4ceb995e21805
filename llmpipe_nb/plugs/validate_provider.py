"""ValidateProvider: refuse a request that names an unknown provider or carries bad options."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import registry
from ..errors import ConfigError
from ..plug import Plug
from ..request import Request

if TYPE_CHECKING:
    from ..providers.base import Provider

CONFIG_OPTIONS = frozenset({"api_key", "base_url", "timeout", "headers"})
#: options every provider takes: the model, where to reach it (FetchConfig takes those out),
#: the per-call cache control (the Cache plug takes it out), and structured output
#: (the StructuredOutput plug turns those into the provider's own fields)
COMMON_OPTIONS = CONFIG_OPTIONS | {"model", "cache", "schema", "repair", "schema_form"}
#: options every provider takes for one kind: how to pool token-level embeddings
#: (the CheckEmbeddings plug reads it; nothing is sent)
KIND_OPTIONS: dict[str, frozenset[str]] = {"embeddings": frozenset({"pooling"})}


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
    "tools": (
        lambda v: (
            isinstance(v, (list, tuple)) or callable(v) or callable(getattr(v, "tools", None))
        ),
        "a list of functions, Tools, toolsets or tool definitions",
    ),
    "response_format": (lambda v: isinstance(v, Mapping), "a dict such as {'type': 'json_object'}"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "extra_body": (lambda v: isinstance(v, Mapping), "a dict of extra JSON fields"),
    "repair": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "a whole number >= 0",
    ),
    "pooling": (lambda v: v in ("mean", "last", "cls"), "'mean', 'last' or 'cls'"),
}


def check_request_options(
    options: Mapping[str, Any], provider: Provider | None = None, kind: str = "chat"
) -> None:
    """Raise ConfigError for an option `provider` would not send for `kind`, or a bad value."""
    if provider is not None and provider.request_options is not None:
        allowed = provider.request_options.get(kind, frozenset()) | KIND_OPTIONS.get(
            kind, frozenset()
        )
        unknown = next((k for k in options if k not in allowed and k not in COMMON_OPTIONS), None)
        if unknown is not None:
            raise ConfigError(_unknown_option(unknown, provider.name, kind, allowed))
    for key, value in options.items():
        rule = _CHECKS.get(key)
        if rule is not None and value is not None and not rule[0](value):
            raise ConfigError(f"Option '{key}' must be {rule[1]}, not {value!r}.")


def _unknown_option(key: str, provider: str, kind: str, allowed: frozenset[str]) -> str:
    known = sorted(allowed | COMMON_OPTIONS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    hint = f"did you mean '{close[0]}'?" if close else f"its options are {', '.join(known)}."
    extras = (
        f" A field {provider} knows but llmpipe_nb does not goes in extra_body={{'{key}': ...}}."
        if "extra_body" in allowed
        else ""
    )
    return f"Provider '{provider}' has no option '{key}' for {kind}: {hint}{extras}"


class ValidateProvider(Plug):
    """Checks the provider is registered and supports the request's kind, and the options' values."""

    def call(self, request: Request) -> Request:
        provider = registry.get(request.provider)
        if request.kind not in provider.plugs:
            raise ConfigError(
                f"Provider '{request.provider}' does not support '{request.kind}': "
                f"it supports {', '.join(provider.kinds)}."
            )
        check_request_options(request.options, provider, request.kind)
        return request
