"""`Schema`: what `schema=` was given, as the JSON Schema to send and the reader of the answer.

A type whose values are not JSON objects (`list[Invoice]`, a Literal, an Enum, `int`) is
wrapped in an object with one property (`items` for a list, else `value`), since the
providers' structured modes want an object at the top, and unwrapped again when read.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..errors import ConfigError, SchemaValidationError
from .dialects import for_dialect
from .size import json_chars
from .types import SEQUENCES, is_record, json_schema_of, strip_annotated, type_name
from .validate import Mismatch, check, coerce, format_path, resolve_ref

_FENCE = re.compile(r"^```[\w-]*\s*(.*?)\s*```$", re.DOTALL)
_NAME = re.compile(r"[^A-Za-z0-9_-]+")
CHARS_PER_TOKEN = 4
#: where a structured request keeps what it asked for (`request.private`)
PRIVATE_KEY = "llmpipe.structured"


class Schema:
    """The expected shape of an answer: its name, its JSON Schema, and how to read it back."""

    def __init__(self, spec: Any) -> None:
        if isinstance(spec, Mapping):
            inner: dict[str, Any] = dict(spec)
            self.target: Any = None
            name = str(inner.get("title") or "output")
        elif _is_type(spec):
            inner = json_schema_of(spec)
            self.target = spec
            name = _name(spec)
        else:
            raise ConfigError(
                "schema= takes a pydantic model, a dataclass, a TypedDict, a type such as "
                f"list[Model] or Literal['a', 'b'], or a JSON Schema dict, not {spec!r}."
            )
        self.spec = spec
        self.name = _NAME.sub("_", name).strip("_")[:64] or "output"
        self.inner = inner
        self.wrap: str | None = None
        if inner.get("type") == "object" or "properties" in inner:
            self.json_schema = inner
        else:
            self.wrap = "items" if inner.get("type") == "array" else "value"
            body = {k: v for k, v in inner.items() if k != "$defs"}
            self.json_schema = {
                "type": "object",
                "title": self.name,
                "properties": {self.wrap: body},
                "required": [self.wrap],
                **({"$defs": inner["$defs"]} if "$defs" in inner else {}),
            }
        self._wire: dict[str, tuple[dict[str, Any], bool]] = {}

    @classmethod
    def of(cls, spec: Any) -> Schema:
        """The Schema of `spec`, built once per type (a dict is read each time)."""
        if isinstance(spec, Schema):
            return spec
        try:
            return _cached(spec)
        except TypeError:  # unhashable: a JSON Schema dict
            return cls(spec)

    def __repr__(self) -> str:
        return f"Schema({self.name})"

    # -- sending ------------------------------------------------------------------------

    def wire(self, dialect: str) -> tuple[dict[str, Any], bool]:
        """The schema in a provider's subset, and whether OpenAI's `strict` can be asked."""
        if dialect not in self._wire:
            self._wire[dialect] = for_dialect(self.json_schema, dialect)
        return self._wire[dialect]

    def response_format(self, dialect: str = "openai") -> dict[str, Any]:
        """OpenAI's JSON-schema `response_format`, which every provider maps to its own field."""
        schema, strict = self.wire(dialect)
        spec: dict[str, Any] = {"name": self.name, "schema": schema}
        if strict:
            spec["strict"] = True
        return {"type": "json_schema", "json_schema": spec}

    def instructions(self) -> str:
        """What to ask in the prompt where the server cannot constrain the answer."""
        schema = json.dumps(self.json_schema, ensure_ascii=False, separators=(",", ":"))
        return (
            "Answer with one JSON object and nothing else (no prose, no code fence). "
            f"It must follow this JSON Schema:\n{schema}"
        )

    def answer_tokens(self) -> tuple[int, int | None]:
        """Estimated tokens of an answer (typical, and the most the schema allows: None when
        a string or array has no maxLength or maxItems), from the size of its JSON."""
        typical, most = json_chars(self.json_schema)
        return -(-int(typical) // CHARS_PER_TOKEN), (
            None if most is None else -(-int(most) // CHARS_PER_TOKEN)
        )

    # -- reading ------------------------------------------------------------------------

    def read(self, text: str, provider: str | None = None) -> tuple[Any, Any]:
        """(the answer's JSON value, unwrapped; the typed value); SchemaValidationError
        naming the first field that does not fit."""
        data = self._json(text, provider)
        if self.wrap is not None and isinstance(data, dict) and self.wrap in data:
            data = data[self.wrap]
        rule = self.inner if self.wrap is None else self.json_schema["properties"][self.wrap]
        data = _drop_strict_nulls(data, rule, self.json_schema)
        try:
            if self.target is None:
                check(rule, data, (), self.json_schema)
                return data, data
            return data, coerce(self.target, data)
        except Mismatch as miss:
            where = format_path(miss.path)
            raise SchemaValidationError(
                f"The answer does not fit {self.name}: at {where}, {miss.reason}; "
                "pass repair=1 to send the error back to the model.",
                raw=text,
                path=where,
                reason=miss.reason,
                schema=self.name,
                provider=provider,
            ) from None

    def parse(self, text: str, provider: str | None = None) -> Any:
        """The typed value of an answer."""
        return self.read(text, provider)[1]

    def unwrap(self, value: Any) -> Any:
        """A (partial) answer object without the wrapper a non-object type was sent in."""
        if self.wrap is None or not isinstance(value, dict):
            return value
        return value.get(self.wrap)

    # -- columns (llm.map) --------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        properties = self.json_schema.get("properties") or {}
        return list(properties)

    def row(self, value: Any) -> dict[str, Any]:
        """One value per column, from an answer's JSON value."""
        if self.wrap is not None:
            return {self.wrap: value}
        return {k: value.get(k) if isinstance(value, dict) else None for k in self.columns}

    def column_kinds(self) -> dict[str, str]:
        """Column -> the JSON kind its values take: integer, number, boolean, string, enum,
        or object (objects, arrays and mixed values)."""
        properties = self.json_schema.get("properties") or {}
        return {name: _kind(rule, self.json_schema) for name, rule in properties.items()}

    def _json(self, text: str, provider: str | None) -> Any:
        stripped = text.strip()
        fenced = _FENCE.match(stripped)
        if fenced:
            stripped = fenced.group(1)
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as error:
            start = min((i for i in (stripped.find("{"), stripped.find("[")) if i >= 0), default=-1)
            if start > 0:  # prose before the JSON
                try:
                    return json.JSONDecoder().raw_decode(stripped, start)[0]
                except json.JSONDecodeError:
                    pass
            raise SchemaValidationError(
                f"The answer is not JSON ({error.msg} at character {error.pos}): ask for JSON "
                "more firmly, or pass repair=1 to send the error back to the model.",
                raw=text,
                path="the answer",
                reason=f"not JSON: {error.msg}",
                schema=self.name,
                provider=provider,
            ) from None


def parse_as(tp: Any, text: str) -> Any:
    """The typed value of the JSON `text` as `tp` (any type `schema=` takes, or a JSON
    Schema dict); SchemaValidationError says where it does not fit."""
    return Schema.of(tp).parse(text)


@lru_cache(maxsize=256)
def _cached(spec: Any) -> Schema:
    return Schema(spec)


def _is_type(spec: Any) -> bool:
    return isinstance(spec, type) or typing.get_origin(spec) is not None


def _name(spec: Any) -> str:
    spec, _ = strip_annotated(spec)
    origin, args = typing.get_origin(spec), typing.get_args(spec)
    if (origin in SEQUENCES) and args:
        return f"{_name(args[0])}_list"
    if origin is typing.Literal:
        return "choice"
    if is_record(spec) or isinstance(spec, type):
        return spec.__name__
    return type_name(spec)


def _allows_null(rule: Any, root: Any) -> bool:
    if not isinstance(rule, Mapping) or not rule:
        return True
    if "$ref" in rule:
        return _allows_null(resolve_ref(rule["$ref"], root), root)
    kinds = rule.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    options = rule.get("anyOf") or rule.get("oneOf") or ()
    return any(_allows_null(o, root) for o in options)


def _drop_strict_nulls(value: Any, rule: Any, root: Any) -> Any:
    """Nulls a strict schema made the model write for fields it may leave out, removed
    where the full schema does not allow null, so those fields take their defaults."""
    if isinstance(rule, Mapping) and "$ref" in rule:
        rule = resolve_ref(rule["$ref"], root)
    if not isinstance(rule, Mapping):
        return value
    if isinstance(value, dict) and isinstance(rule.get("properties"), Mapping):
        required = set(rule.get("required", ()))
        properties = rule["properties"]
        out = {}
        for key, item in value.items():
            prop = properties.get(key)
            if (
                item is None
                and key not in required
                and prop is not None
                and not _allows_null(prop, root)
            ):
                continue
            out[key] = _drop_strict_nulls(item, prop, root)
        return out
    if isinstance(value, list) and isinstance(rule.get("items"), Mapping):
        return [_drop_strict_nulls(item, rule["items"], root) for item in value]
    return value


def _kind(rule: Any, root: Any) -> str:
    if isinstance(rule, Mapping) and "$ref" in rule:
        rule = resolve_ref(rule["$ref"], root)
    if not isinstance(rule, Mapping):
        return "object"
    if rule.get("enum"):
        return "enum"
    kinds = rule.get("type")
    if isinstance(kinds, list):
        rest = [k for k in kinds if k != "null"]
        kinds = rest[0] if len(rest) == 1 else None
    options = [
        o for o in rule.get("anyOf", ()) if not (isinstance(o, Mapping) and o.get("type") == "null")
    ]
    if kinds is None and len(options) == 1:
        return _kind(options[0], root)
    return kinds if kinds in ("integer", "number", "boolean", "string") else "object"
