"""Plugs: the steps of a pipeline, and how a pipeline spec becomes a list of plug instances.

A plug is built once (its keyword options are checked against the annotations of its
`__init__`, so a typo fails when the pipeline is built, never mid-request) and then
called once per request. A pipeline spec may list a Plug class, an instance, a
`(PlugClass, {options})` pair, or a plain function `Request -> Request`.
"""

from __future__ import annotations

import collections.abc as cabc
import difflib
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, ClassVar, Literal, Union

from .credentials import masked_options
from .errors import ConfigError, PipelineError
from .request import Request


class Plug:
    """One step of a pipeline. Subclasses override `call`; I/O plugs also override `acall`.

    Options are the keyword arguments of `__init__`; their annotations are checked when
    the plug is built. Streaming plugs (the execute step) also define `stream`/`astream`,
    which yield StreamChunks and finally the new Request.
    """

    name: ClassVar[str] = ""
    #: options whose values must never be shown (masked in views and debug_info)
    secret_options: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def __new__(cls, *args: Any, **options: Any) -> Plug:
        check_options(cls, options)
        return super().__new__(cls)

    def call(self, request: Request) -> Request:
        raise NotImplementedError(f"{type(self).__name__} must define call(request).")

    async def acall(self, request: Request) -> Request:
        return self.call(request)

    @property
    def options(self) -> dict[str, Any]:
        """The plug's options as given, for inspection: `secret_options` and every
        credential-named option (api_key, token, password, ...) masked."""
        return masked_options(_option_values(self), self.secret_options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{self.name}({opts})"


def is_streaming(plug: Plug) -> bool:
    """Whether the plug produces a stream of chunks (the execute step of a stream pipeline)."""
    return callable(getattr(plug, "stream", None))


class FunctionPlug(Plug):
    """Wraps a plain function `Request -> Request` (sync or async) as a plug."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)

    @property
    def name(self) -> str:  # type: ignore[override]
        return getattr(self.fn, "__name__", "function")

    def call(self, request: Request) -> Request:
        if self.is_async:
            raise PipelineError(
                f"Plug {self.name} is an async function: run the pipeline with Pipeline.arun."
            )
        return self.fn(request)

    async def acall(self, request: Request) -> Request:
        result = self.fn(request)
        return await result if self.is_async else result

    @property
    def options(self) -> dict[str, Any]:
        return {}


def to_plug(spec: Any) -> Plug:
    """Turn one pipeline spec item into a built plug."""
    if isinstance(spec, Plug):
        return spec
    if isinstance(spec, type) and issubclass(spec, Plug):
        return spec()
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], type):
        cls, opts = spec
        if not issubclass(cls, Plug):
            raise ConfigError(f"{cls.__name__} is not a Plug: subclass llmpipe_nb.Plug.")
        if not isinstance(opts, cabc.Mapping):
            raise ConfigError(
                f"Options for plug {cls.__name__} must be a dict, not {type(opts).__name__}."
            )
        return cls(**opts)
    if callable(spec):
        return FunctionPlug(spec)
    raise ConfigError(
        f"Cannot use {spec!r} as a plug: give a Plug class, an instance, "
        "a (PlugClass, options) pair, or a function Request -> Request."
    )


class Plugs(tuple[Plug, ...]):
    """A built pipeline: plug instances only, so running it again skips the spec checks."""


def build_pipeline(specs: Iterable[Any]) -> tuple[Plug, ...]:
    """Build every plug of a pipeline spec; bad options raise ConfigError before any request runs."""
    if isinstance(specs, Plugs):
        return specs
    return Plugs(to_plug(s) for s in specs)


# -- option checking ---------------------------------------------------------------------


@cache
def _signature(cls: Any) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool]:
    init = cls.__init__
    if init is object.__init__:
        return {}, {}, False
    sig = inspect.signature(init)
    params = {n: p for n, p in sig.parameters.items() if n != "self"}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    params = {n: p for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # unresolvable annotations: check names only
        hints = {}
    return params, hints, var_kw


def check_options(cls: type, options: dict[str, Any]) -> None:
    """Raise ConfigError naming the plug and the option for an unknown or ill-typed option."""
    params, hints, var_kw = _signature(cls)
    for key, value in options.items():
        if key not in params:
            if var_kw:
                continue
            close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.75)
            guess = f"did you mean '{close[0]}'? It" if close else "it"
            known = ", ".join(params)
            raise ConfigError(
                f"Plug {cls.__name__} has no option '{key}': {guess} takes {known}."
                if params
                else f"Plug {cls.__name__} takes no options, but was given '{key}'."
            )
        hint = hints.get(key)
        if hint is not None and not _matches(value, hint):
            raise ConfigError(
                f"Plug {cls.__name__} option '{key}' must be {_describe(hint)}, not {value!r}."
            )


def check_seconds(
    plug: str, option: str, value: float | None, *, most: float, zero: bool = False
) -> None:
    """Raise ConfigError unless `value` is None or seconds in range (0 or more if `zero`,
    else more than 0; at most `most`): a larger value was most likely meant as milliseconds."""
    if value is None:
        return
    low = value >= 0 if zero else value > 0
    if not (low and math.isfinite(value)):
        bound = "from 0" if zero else "greater than 0 and at most"
        raise ConfigError(
            f"Plug {plug} option '{option}' must be a number of seconds {bound} "
            f"{'to ' if zero else ''}{most:g}, not {value!r}."
        )
    if value > most:
        raise ConfigError(
            f"Plug {plug} option '{option}' is {value:g} seconds, more than the {most:g} "
            f"allowed: times are in seconds, so for {value:g} ms write {option}={value / 1000:g}."
        )


def _option_values(plug: Plug) -> dict[str, Any]:
    params, _, _ = _signature(type(plug))  # type: ignore[arg-type]
    return {n: getattr(plug, n) for n in params if hasattr(plug, n)}


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return any(_matches(value, h) for h in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is not None:
        hint = origin
    if hint in (cabc.Callable, Callable):
        return callable(value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # forward refs and protocols we cannot check at run time


_WORDS: dict[Any, str] = {
    int: "a whole number",
    float: "a number",
    str: "a string",
    bool: "True or False",
    dict: "a dict",
    list: "a list",
    tuple: "a tuple",
    cabc.Mapping: "a dict",
    cabc.Sequence: "a list",
    cabc.Callable: "a function",
}


def _describe(hint: Any) -> str:
    """What a value of type `hint` is, in words a user knows: 'a whole number or None'."""
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if origin is Literal:
        values = [repr(a) for a in typing.get_args(hint)]
        return "one of " + (
            ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]
        )
    if hint is type(None):
        return "None"
    hint = origin or hint
    if hint in _WORDS:
        return _WORDS[hint]
    return f"a {getattr(hint, '__name__', str(hint))}"
