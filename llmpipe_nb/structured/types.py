"""Python types as JSON Schema: the one translation every structured feature uses.

`json_schema_of` takes a pydantic v2 model (asked for its own schema, so pydantic is
never imported here), a dataclass, a TypedDict, an Enum, a Literal, Optional and Union,
lists, tuples, sets and `dict[str, X]`, the JSON scalars, dates and UUIDs, and
`Annotated[X, "description"]`. Nested classes are written inline; a class that contains
itself is written once under `$defs` and referenced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any, Literal, Union

from ..errors import ConfigError

SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
#: types sent as strings in a standard format, and read back from them
FORMATS: dict[Any, str] = {
    dt.datetime: "date-time",
    dt.date: "date",
    dt.time: "time",
    uuid.UUID: "uuid",
}
SEQUENCES = (list, tuple, set, frozenset)
_HINT = (
    "use str, int, float, bool, a Literal, an Enum, Optional, list, dict[str, ...], "
    "a dataclass, a TypedDict or a pydantic model"
)


def is_pydantic_model(tp: Any) -> bool:
    """A pydantic v2 model class, recognised by its methods (pydantic is not imported)."""
    return isinstance(tp, type) and callable(getattr(tp, "model_json_schema", None))


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def is_record(tp: Any) -> bool:
    """A class whose instances are JSON objects: a dataclass, a TypedDict or a pydantic model."""
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or is_typeddict(tp) or is_pydantic_model(tp)
    )


def strip_annotated(tp: Any) -> tuple[Any, str | None]:
    """`Annotated[X, "text", ...]` -> (X, "text"); anything else -> (tp, None)."""
    if typing.get_origin(tp) is typing.Annotated:
        inner, *extras = typing.get_args(tp)
        text = next((e for e in extras if isinstance(e, str)), None)
        return inner, text
    return tp, None


def type_name(tp: Any) -> str:
    """A short readable name: `Invoice`, `list[Invoice]`, `Literal['a', 'b']`."""
    tp, _ = strip_annotated(tp)
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in typing.get_args(tp)) + "]"
    if origin is Union or origin is types.UnionType:
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return str(tp)


def json_schema_of(tp: Any) -> dict[str, Any]:
    """The JSON Schema of `tp`; ConfigError naming the field whose type JSON cannot express."""
    return _Writer(tp).write()


class _Writer:
    """One translation: the root, the classes on the way down, and the recursive ones."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.defs: dict[str, Any] = {}
        self.stack: list[Any] = []
        self.recursive: set[Any] = set()

    def write(self) -> dict[str, Any]:
        schema = self.schema(self.root, type_name(self.root))
        if self.defs:
            schema = {**schema, "$defs": {**schema.get("$defs", {}), **self.defs}}
        return schema

    def ref(self, cls: type) -> str:
        return "#" if cls is self.root else f"#/$defs/{cls.__name__}"

    def schema(self, tp: Any, where: str) -> dict[str, Any]:
        tp, text = strip_annotated(tp)
        out = self._schema(tp, where)
        return {**out, "description": text} if text else out

    def _schema(self, tp: Any, where: str) -> dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if tp in SCALARS:
            return {"type": SCALARS[tp]}
        if tp in FORMATS:
            return {"type": "string", "format": FORMATS[tp]}
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Literal:
            kinds = sorted({SCALARS[type(a)] for a in args if type(a) in SCALARS})
            return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": list(args)}
        if origin is Union or origin is types.UnionType:
            return self._union(args, where)
        if origin in SEQUENCES or tp in SEQUENCES:
            return self._array(origin or tp, args, where)
        if origin in (dict, Mapping) or tp is dict:
            if args and args[0] is not str:
                raise ConfigError(
                    f"{where} is a dict keyed by {type_name(args[0])}: JSON keys are strings, use dict[str, ...]."
                )
            inner = self.schema(args[1], f"{where}[...]") if args else {}
            return {"type": "object", "additionalProperties": inner}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [member.value for member in tp]
            kinds = sorted({SCALARS[type(v)] for v in values if type(v) in SCALARS})
            return {
                "title": tp.__name__,
                "type": kinds[0] if len(kinds) == 1 else kinds,
                "enum": values,
            }
        if is_record(tp):
            return self._record(tp)
        raise ConfigError(
            f"schema= cannot express the type of {where} ({type_name(tp)}) in JSON: {_HINT}."
        )

    def _union(self, args: tuple[Any, ...], where: str) -> dict[str, Any]:
        options = [self.schema(a, where) for a in args if a is not type(None)]
        nullable = len(options) < len(args)
        if (
            len(options) == 1
            and isinstance(options[0].get("type"), str)
            and "$ref" not in options[0]
        ):
            single = dict(options[0])
            if nullable:
                single["type"] = [single["type"], "null"]
                if "enum" in single:
                    single["enum"] = [*single["enum"], None]
            return single
        return {"anyOf": options + ([{"type": "null"}] if nullable else [])}

    def _array(self, origin: Any, args: tuple[Any, ...], where: str) -> dict[str, Any]:
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [self.schema(a, f"{where}[{i}]") for i, a in enumerate(args)]
            n = len(items)
            return {"type": "array", "prefixItems": items, "minItems": n, "maxItems": n}
        item = self.schema(args[0], f"{where}[]") if args else {}
        out: dict[str, Any] = {"type": "array", "items": item}
        if origin in (set, frozenset):
            out["uniqueItems"] = True
        return out

    def _record(self, cls: type) -> dict[str, Any]:
        if cls in self.stack:
            self.recursive.add(cls)
            return {"$ref": self.ref(cls)}
        self.stack.append(cls)
        try:
            schema = _pydantic(cls) if is_pydantic_model(cls) else self._fields(cls)
        finally:
            self.stack.pop()
        if cls in self.recursive and cls is not self.root:
            self.defs[cls.__name__] = schema
            return {"$ref": self.ref(cls)}
        return schema

    def _fields(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                prop = self.schema(hints[f.name], f"{cls.__name__}.{f.name}")
                if f.metadata.get("description"):
                    prop = {**prop, "description": str(f.metadata["description"])}
                if f.default is not dataclasses.MISSING and _is_json(f.default):
                    prop = {**prop, "default": f.default}
                elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
                properties[f.name] = prop
        else:
            for name, hint in hints.items():
                hint = _unwrap_required(hint)
                properties[name] = self.schema(hint, f"{cls.__name__}.{name}")
                if name in cls.__required_keys__:  # type: ignore[attr-defined]
                    required.append(name)
        schema: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": properties}
        doc = _own_doc(cls)
        if doc:
            schema["description"] = doc
        schema["required"] = required
        return schema


def _pydantic(cls: Any) -> dict[str, Any]:
    try:
        return dict(cls.model_json_schema())
    except Exception as error:  # pydantic's own refusal (an arbitrary type, a bad default)
        raise ConfigError(
            f"pydantic cannot write a JSON schema for {cls.__name__}: {error}"
        ) from None


def _unwrap_required(hint: Any) -> Any:
    """`Required[X]` / `NotRequired[X]` of a TypedDict field -> X (its key sets say which)."""
    name = getattr(typing.get_origin(hint), "_name", None)
    if name in ("Required", "NotRequired", "ReadOnly"):
        return typing.get_args(hint)[0]
    return hint


def _own_doc(cls: type) -> str | None:
    """The class docstring the user wrote (not the signature a dataclass makes up)."""
    doc = cls.__dict__.get("__doc__")
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")):
        return None
    return " ".join(doc.split())


def _is_json(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
