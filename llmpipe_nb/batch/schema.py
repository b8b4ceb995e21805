"""Structured output: a JSON schema, a dataclass or a TypedDict, asked for and parsed per row.

The schema goes to the provider as `response_format` (JSON schema mode), and each
answer is parsed and checked (top-level object, required properties, basic types and
enums) into one column per property. An answer that does not fit is marked on its row
with a ResponseFormatError; the other rows are unaffected.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from ..errors import ConfigError, ResponseFormatError
from ..tokens import CHARS_PER_TOKEN

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
#: characters of a JSON value whose size the schema does not bound: (typical, most)
_SIZES: dict[str, tuple[float, float | None]] = {
    "string": (40, None),  # a short phrase
    "integer": (3, 20),
    "number": (5, 24),
    "boolean": (5, 5),
    "null": (4, 4),
}
_TYPICAL_ITEMS = 3
#: what pretty-printing adds before a property or item: a line break and an indent
_LINE = 5


class Schema:
    """The expected shape of every answer: its JSON schema and its property names in order."""

    def __init__(self, spec: Any) -> None:
        if isinstance(spec, Mapping):
            schema = dict(spec)
            name = str(schema.get("title") or "row")
        elif isinstance(spec, type) and (dataclasses.is_dataclass(spec) or _is_typeddict(spec)):
            schema = _object_schema(spec)
            name = spec.__name__
        else:
            raise ConfigError(
                f"schema= takes a JSON schema dict, a dataclass or a TypedDict, not {spec!r}."
            )
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), Mapping):
            raise ConfigError(
                "schema= must describe a JSON object with 'properties': each property becomes a column."
            )
        self.schema = schema
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
        self.properties: dict[str, Any] = dict(schema["properties"])
        self.required = tuple(schema.get("required", ()))

    @property
    def columns(self) -> list[str]:
        return list(self.properties)

    def response_format(self) -> dict[str, Any]:
        """The `response_format` option that asks the provider for this schema."""
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": False},
        }

    def answer_tokens(self) -> tuple[int, int | None]:
        """Estimated tokens of an answer (typical, and the most the schema allows: None when
        a string or array has no maxLength or maxItems), from the size of its JSON."""
        typical, most = _chars(self.schema)
        return math.ceil(typical / CHARS_PER_TOKEN), (
            None if most is None else math.ceil(most / CHARS_PER_TOKEN)
        )

    def parse(self, text: str) -> dict[str, Any]:
        """The answer's properties; ResponseFormatError says what did not fit."""
        stripped = text.strip()
        fenced = _FENCE.match(stripped)
        if fenced:
            stripped = fenced.group(1)
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ResponseFormatError(
                f"The answer is not JSON ({error.msg} at character {error.pos}): "
                "ask for JSON more firmly in the prompt or use a model with JSON mode."
            ) from None
        if not isinstance(value, dict):
            raise ResponseFormatError(
                f"The answer is a JSON {type(value).__name__}, not the object the schema asks for."
            )
        missing = [k for k in self.required if k not in value]
        if missing:
            raise ResponseFormatError(
                f"The answer lacks the required propert{'ies' if len(missing) > 1 else 'y'} "
                f"{', '.join(missing)}."
            )
        for key, rule in self.properties.items():
            if key in value and isinstance(rule, Mapping):
                _check(key, value[key], rule)
        return {k: value.get(k) for k in self.properties}


def _check(key: str, value: Any, rule: Mapping[str, Any]) -> None:
    kinds = rule.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_CHECKS.get(k, lambda v: True)(value) for k in names):
            raise ResponseFormatError(
                f"Property {key!r} is {type(value).__name__} {value!r}, not {' or '.join(names)}."
            )
    enum = rule.get("enum")
    if enum is not None and value not in enum:
        raise ResponseFormatError(
            f"Property {key!r} is {value!r}, not one of {', '.join(map(repr, enum))}."
        )


def _chars(rule: Any) -> tuple[float, float | None]:
    """(typical, most) characters of the JSON of a value that follows `rule`: typical on one
    line (`{"a": 1, "b": 2}`), most as it could be pretty-printed."""
    if not isinstance(rule, Mapping):
        return _SIZES["string"]
    if rule.get("enum"):
        lengths = [len(json.dumps(v)) for v in rule["enum"]]
        return sum(lengths) / len(lengths), max(lengths)
    options = rule.get("anyOf") or rule.get("oneOf")
    kinds = rule.get("type")
    if options is None and isinstance(kinds, list):
        options = [{**rule, "type": k} for k in kinds]
    if options:
        each = [_chars(o) for o in options]
        bounded = [m for _, m in each if m is not None]
        return max(t for t, _ in each), max(bounded) if len(bounded) == len(each) else None
    if kinds == "object" or "properties" in rule:
        props = rule.get("properties")
        if not isinstance(props, Mapping) or not props:
            return 20, None
        typical = 2.0  # braces, and their line breaks when pretty-printed
        most_of: float | None = 4.0
        for name, sub in props.items():
            t, m = _chars(sub)
            key = len(json.dumps(name)) + 4  # "name": value,
            typical += key + t
            most_of = None if most_of is None or m is None else most_of + key + _LINE + m
        return typical, most_of
    if kinds == "array":
        t, m = _chars(rule.get("items", {}))
        limit = rule.get("maxItems")
        items = min(_TYPICAL_ITEMS, limit) if isinstance(limit, int) else _TYPICAL_ITEMS
        longest = None if m is None or not isinstance(limit, int) else 4 + limit * (m + 2 + _LINE)
        return 2 + items * (t + 2), longest
    if kinds == "string":
        limit = rule.get("maxLength")
        if isinstance(limit, int):
            return min(_SIZES["string"][0], limit) + 2, limit + 2
    if isinstance(kinds, str) and kinds in _SIZES:
        return _SIZES[kinds]
    return 10, None  # any JSON value


def _is_typeddict(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, dict) and hasattr(cls, "__required_keys__")


def _object_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)]
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
    else:
        names = list(hints)
        required = [n for n in names if n in cls.__required_keys__]  # type: ignore[attr-defined]
    return {
        "type": "object",
        "title": cls.__name__,
        "properties": {n: _type_schema(hints[n], f"{cls.__name__}.{n}") for n in names},
        "required": required,
    }


def _type_schema(hint: Any, where: str) -> dict[str, Any]:
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        kinds = sorted({_JSON_TYPES[type(a)] for a in args if type(a) in _JSON_TYPES})
        return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": list(args)}
    if origin is Union or origin is types.UnionType:
        options = [_type_schema(a, where) for a in args if a is not type(None)]
        nullable = len(options) < len(args)
        if len(options) == 1 and isinstance(options[0].get("type"), str):
            single = dict(options[0])
            single["type"] = [single["type"], "null"] if nullable else single["type"]
            return single
        return {"anyOf": options + ([{"type": "null"}] if nullable else [])}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        items = _type_schema(args[0], where) if args else {}
        return {"type": "array", "items": items}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or _is_typeddict(hint)):
        return _object_schema(hint)
    if hint is Any:
        return {}
    raise ConfigError(
        f"schema= cannot express the type of {where} ({hint!r}) in JSON: use str, int, float, "
        "bool, list, dict, Literal, Optional or a nested dataclass."
    )
