"""A tool the model may call: its name, description, JSON Schema and the Python behind it.

`Tool.of(fn)` reads a function's signature: the docstring's first paragraph is the
description, each parameter's type hint becomes a property through the same schema code
as structured outputs (`structured.json_schema_of`), and a parameter with a default is
optional. The arguments the model sends are checked against that schema and read back
into the hinted types before the function sees them.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from ..structured import Mismatch, check, coerce, json_schema_of

#: what every provider accepts as a function name (Gemini's and OpenAI's rule, the strictest)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


@dataclasses.dataclass(frozen=True, eq=False)
class Tool:
    """A callable the model may ask for; `fn` may be sync or async."""

    name: str
    description: str
    schema: Mapping[str, Any]
    fn: Callable[..., Any]
    requires_approval: bool = False
    #: the parameter types, to read the arguments back as them (None: pass the JSON as is)
    hints: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise ConfigError(
                f"Tool name {self.name!r} would be refused by the providers: use letters, "
                "digits, '_', '.' or '-', starting with a letter or '_', at most 64 characters."
            )
        if not callable(self.fn):
            raise ConfigError(f"Tool {self.name!r} needs a callable fn, not {self.fn!r}.")
        if not isinstance(self.schema, Mapping) or self.schema.get("type", "object") != "object":
            raise ConfigError(
                f"Tool {self.name!r} needs a JSON Schema of type 'object' for its arguments."
            )

    @classmethod
    def of(
        cls, fn: Callable[..., Any], *, name: str | None = None, requires_approval: bool = False
    ) -> Tool:
        """A tool from a function's name, docstring and type hints."""
        if isinstance(fn, Tool):
            return fn
        label = name or getattr(fn, "__name__", None) or type(fn).__name__
        try:
            signature = inspect.signature(fn)
            hints = typing.get_type_hints(fn, include_extras=True)
        except (TypeError, ValueError, NameError) as error:
            raise ConfigError(f"Tool {label!r}: its signature cannot be read ({error}).") from None
        properties: dict[str, Any] = {}
        required: list[str] = []
        types: dict[str, Any] = {}
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.name not in hints:
                raise ConfigError(
                    f"Tool {label!r}: argument {param.name!r} has no type hint; add one "
                    "(str, int, a Literal, a dataclass, ...) so the model knows what to send."
                )
            types[param.name] = hints[param.name]
            try:
                prop = json_schema_of(hints[param.name])
            except ConfigError as error:
                raise ConfigError(f"Tool {label!r}, argument {param.name!r}: {error}") from None
            if param.default is param.empty:
                required.append(param.name)
            elif _json_default(param.default):
                prop = {**prop, "default": param.default}
            properties[param.name] = prop
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return cls(label, _description(fn), schema, fn, requires_approval, types)

    @property
    def spec(self) -> dict[str, Any]:
        """The flat `{"name", "description", "parameters"}` every provider's prepare plug reads."""
        return {"name": self.name, "description": self.description, "parameters": dict(self.schema)}

    def arguments(self, sent: Any) -> dict[str, Any]:
        """The model's arguments, checked and read back as the hinted types; Mismatch if they don't fit."""
        if isinstance(sent, str):
            raise Mismatch((), "the arguments are not valid JSON")
        check(self.schema, sent)
        if not self.hints:
            return dict(sent)
        return {
            key: coerce(self.hints[key], value, (key,)) if key in self.hints else value
            for key, value in sent.items()
        }


def _description(fn: Any) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n")[0].strip()


def _json_default(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def as_tools(given: Any) -> tuple[Tool, ...]:
    """Functions, Tools and toolsets (anything with `.tools()`) as Tools; ConfigError on a duplicate name."""
    if given is None:
        return ()
    items: Iterable[Any] = given if isinstance(given, (list, tuple)) else [given]
    tools: list[Tool] = []
    for item in items:
        if isinstance(item, Tool):
            tools.append(item)
        elif hasattr(item, "tools") and callable(item.tools):
            tools.extend(as_tools(item.tools()))
        elif isinstance(item, Mapping):
            raise ConfigError(
                "A tool given as a dict cannot be run: pass the function, or Tool(name, "
                "description, schema, fn), or pass dicts without the tool loop."
            )
        elif callable(item):
            tools.append(Tool.of(item))
        else:
            raise ConfigError(f"{item!r} is not a tool: pass a function or a Tool.")
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise ConfigError(
                f"Two tools are named {tool.name!r}: give one another name with "
                "Tool.of(fn, name=...)."
            )
        seen.add(tool.name)
    return tuple(tools)


def runnable(given: Any) -> bool:
    """Whether `tools=` holds something the loop runs (a function, a Tool, a toolset), not wire dicts."""
    items = given if isinstance(given, (list, tuple)) else [given]
    return given is not None and any(not isinstance(item, Mapping) for item in items)
