"""Reading a JSON value back as the type that asked for it, or saying where it does not fit.

`coerce(tp, value)` builds the typed value (dataclasses, TypedDicts, Enums, Literals,
Optional, containers, dates; a pydantic model validates itself); `check(schema, value)`
checks a value against a JSON Schema dict. Both raise `Mismatch` with the path of the
first field that does not fit and what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union

from .types import FORMATS, SCALARS, SEQUENCES, is_pydantic_model, is_typeddict, strip_annotated

Path = tuple[str | int, ...]


class Mismatch(Exception):
    """A value that does not fit: where (a path of keys and indexes) and why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{format_path(path)}: {reason}")


def format_path(path: Sequence[str | int]) -> str:
    """`("items", 0, "total")` -> `items[0].total`; the empty path is the whole answer."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "the answer"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


# -- typed ---------------------------------------------------------------------------------


def coerce(tp: Any, value: Any, path: Path = ()) -> Any:
    """`value` (decoded JSON) as an instance of `tp`; Mismatch where it does not fit."""
    tp, _ = strip_annotated(tp)
    if tp is Any or tp is object:
        return value
    if tp is None or tp is type(None):
        if value is not None:
            raise Mismatch(path, f"{_shown(value)} is not null")
        return None
    if tp in SCALARS:
        return _scalar(tp, value, path)
    if tp in FORMATS:
        return _formatted(tp, value, path)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        for option in args:
            if value == option and type(value) is type(option):
                return option
        raise Mismatch(path, f"{_shown(value)} is not one of {', '.join(map(repr, args))}")
    if origin is Union or origin is types.UnionType:
        return _union(args, value, path)
    if origin in SEQUENCES or tp in SEQUENCES:
        return _sequence(origin or tp, args, value, path)
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, dict):
            raise Mismatch(path, f"expected an object, got {_json_kind(value)}")
        inner = args[1] if args else Any
        return {k: coerce(inner, v, (*path, k)) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise Mismatch(path, f"{_shown(value)} is not one of {allowed}") from None
    if is_pydantic_model(tp):
        return _pydantic(tp, value, path)
    if dataclasses.is_dataclass(tp) or is_typeddict(tp):
        return _record(tp, value, path)
    raise Mismatch(path, f"cannot read a {tp!r}")


def _scalar(tp: type, value: Any, path: Path) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, str):
        return value
    return _wrong(SCALARS[tp], value, path)


def _wrong(expected: str, value: Any, path: Path) -> Any:
    raise Mismatch(
        path,
        f"expected {'an' if expected[0] in 'aeiou' else 'a'} {expected}, got {_json_kind(value)} {_shown(value)}",
    )


def _formatted(tp: Any, value: Any, path: Path) -> Any:
    if not isinstance(value, str):
        return _wrong(f"{FORMATS[tp]} string", value, path)
    try:
        return (
            tp(value) if tp.__name__ == "UUID" else tp.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        raise Mismatch(path, f"{_shown(value)} is not a {FORMATS[tp]}") from None


def _union(args: tuple[Any, ...], value: Any, path: Path) -> Any:
    if value is None and type(None) in args:
        return None
    misses: list[Mismatch] = []
    for option in args:
        if option is type(None):
            continue
        try:
            return coerce(option, value, path)
        except Mismatch as miss:
            misses.append(miss)
    deepest = max(misses, key=lambda m: len(m.path))
    if len(deepest.path) > len(path):  # it went into an object: that option was meant
        raise deepest
    raise Mismatch(path, f"{_shown(value)} fits none of the allowed types")


def _sequence(origin: Any, args: tuple[Any, ...], value: Any, path: Path) -> Any:
    if not isinstance(value, list):
        return _wrong("array", value, path)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise Mismatch(path, f"expected {len(args)} items, got {len(value)}")
        return tuple(
            coerce(a, v, (*path, i)) for i, (a, v) in enumerate(zip(args, value, strict=False))
        )
    item = args[0] if args else Any
    items = [coerce(item, v, (*path, i)) for i, v in enumerate(value)]
    return items if origin is list else origin(items)


def _record(cls: type, value: Any, path: Path) -> Any:
    if not isinstance(value, dict):
        raise Mismatch(path, f"expected an object, got {_json_kind(value)} {_shown(value)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    values: dict[str, Any] = {}
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            has_default = not (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
            raw = value.get(f.name)
            if f.name not in value or (
                raw is None and has_default and not _allows_none(hints[f.name])
            ):
                if not has_default:
                    raise Mismatch((*path, f.name), "this required field is missing")
                continue  # left out, or null under a strict schema: the default
            values[f.name] = coerce(hints[f.name], raw, (*path, f.name))
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise Mismatch(path, str(error)) from None
    required = cls.__required_keys__  # type: ignore[attr-defined]
    for name, hint in hints.items():
        hint = (
            typing.get_args(hint)[0]
            if getattr(typing.get_origin(hint), "_name", None)
            in ("Required", "NotRequired", "ReadOnly")
            else hint
        )
        if name in value and not (
            value[name] is None and name not in required and not _allows_none(hint)
        ):
            values[name] = coerce(hint, value[name], (*path, name))
        elif name in required:
            raise Mismatch((*path, name), "this required field is missing")
    return values


def _allows_none(tp: Any) -> bool:
    tp, _ = strip_annotated(tp)
    if tp is Any or tp is None or tp is type(None):
        return True
    origin = typing.get_origin(tp)
    return (origin is Union or origin is types.UnionType) and type(None) in typing.get_args(tp)


def _pydantic(cls: Any, value: Any, path: Path) -> Any:
    try:
        return cls.model_validate(value)
    except Exception as error:  # pydantic's ValidationError, read without importing pydantic
        errors = getattr(error, "errors", None)
        if not callable(errors):
            raise
        first = errors()[0]
        loc = tuple(p for p in first.get("loc", ()) if isinstance(p, (str, int)))
        reason = str(first.get("msg", error))
        if "input" in first and first.get("type") != "missing":
            reason += f" (got {_shown(first['input'])})"
        raise Mismatch((*path, *loc), reason) from None


# -- JSON Schema ---------------------------------------------------------------------------

_KINDS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def check(schema: Any, value: Any, path: Path = (), root: Any = None) -> None:
    """Mismatch where `value` breaks `schema` (types, enums, required and closed objects,
    items, anyOf/oneOf/allOf, $ref, and the usual bounds, lengths and patterns)."""
    if not isinstance(schema, Mapping):
        return
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = resolve_ref(ref, root)
        if target is None:
            raise Mismatch(path, f"the schema's reference {ref} leads nowhere")
        check(target, value, path, root)
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_KINDS.get(k, lambda v: True)(value) for k in names):
            raise Mismatch(
                path, f"expected {' or '.join(names)}, got {_json_kind(value)} {_shown(value)}"
            )
    if "enum" in schema and value not in schema["enum"]:
        raise Mismatch(
            path, f"{_shown(value)} is not one of {', '.join(map(repr, schema['enum']))}"
        )
    if "const" in schema and value != schema["const"]:
        raise Mismatch(path, f"{_shown(value)} is not {schema['const']!r}")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            _any(schema[key], value, path, root)
    for part in schema.get("allOf", ()):
        check(part, value, path, root)
    if isinstance(value, dict):
        _object(schema, value, path, root)
    elif isinstance(value, list):
        _items(schema, value, path, root)
    elif isinstance(value, str):
        _text(schema, value, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(schema, value, path)


def resolve_ref(ref: str, root: Any) -> Any:
    """The part of `root` a local `$ref` (`#`, `#/$defs/Name`) points at, or None."""
    node = root
    for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else ():
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _any(options: Any, value: Any, path: Path, root: Any) -> None:
    misses = []
    for option in options:
        try:
            check(option, value, path, root)
            return
        except Mismatch as miss:
            misses.append(miss)
    deepest = max(misses, key=lambda m: len(m.path), default=None)
    if deepest is not None and len(deepest.path) > len(path):
        raise deepest
    raise Mismatch(path, f"{_shown(value)} fits none of the allowed shapes")


def _object(schema: Mapping[str, Any], value: dict[str, Any], path: Path, root: Any) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            raise Mismatch((*path, name), "this required field is missing")
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            check(properties[name], item, (*path, name), root)
        elif extra is False:
            raise Mismatch((*path, name), "this field is not in the schema")
        elif isinstance(extra, Mapping):
            check(extra, item, (*path, name), root)


def _items(schema: Mapping[str, Any], value: list[Any], path: Path, root: Any) -> None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and len(value) < low:
        raise Mismatch(path, f"expected at least {low} items, got {len(value)}")
    if isinstance(high, int) and len(value) > high:
        raise Mismatch(path, f"expected at most {high} items, got {len(value)}")
    fixed = schema.get("prefixItems") or ()
    for index, item in enumerate(value):
        rule = fixed[index] if index < len(fixed) else schema.get("items")
        check(rule, item, (*path, index), root)


def _text(schema: Mapping[str, Any], value: str, path: Path) -> None:
    low, high, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
    if isinstance(low, int) and len(value) < low:
        raise Mismatch(path, f"{_shown(value)} is shorter than {low} characters")
    if isinstance(high, int) and len(value) > high:
        raise Mismatch(path, f"{_shown(value)} is longer than {high} characters")
    if isinstance(pattern, str) and re.search(pattern, value) is None:
        raise Mismatch(path, f"{_shown(value)} does not match the pattern {pattern!r}")


def _number(schema: Mapping[str, Any], value: float, path: Path) -> None:
    if not math.isfinite(value):
        raise Mismatch(path, f"{value!r} is not a finite number")
    for key, fails, words in (
        ("minimum", lambda v, b: v < b, "less than"),
        ("maximum", lambda v, b: v > b, "greater than"),
        ("exclusiveMinimum", lambda v, b: v <= b, "not greater than"),
        ("exclusiveMaximum", lambda v, b: v >= b, "not less than"),
    ):
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and fails(value, bound):
            raise Mismatch(path, f"{value!r} is {words} {bound!r}")
