"""The JSON Schema each provider accepts for structured output, made from the full one.

Providers constrain decoding with a subset of JSON Schema. `for_dialect` rewrites a
schema into a provider's subset the way the OpenAI SDK does for strict mode: objects
closed (`additionalProperties: false`), and for OpenAI every property required, the
optional ones made nullable; a keyword outside the subset is moved into the
description, so the model still reads it, and the full schema is still checked when
the answer comes back. A schema the strict subset cannot hold (an open `dict[str, X]`)
is sent without `strict`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_COMMON = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "anyOf",
        "$ref",
        "$defs",
        "description",
        "title",
    }
)
#: dialect -> (keywords kept, objects closed, every property required)
DIALECTS: dict[str, tuple[frozenset[str] | None, bool, bool]] = {
    # platform.openai.com/docs/guides/structured-outputs: supported schemas
    "openai": (
        _COMMON
        | {
            "const",
            "pattern",
            "format",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
            "minItems",
            "maxItems",
        },
        True,
        True,
    ),
    # docs.claude.com structured outputs: JSON Schema limitations
    "anthropic": (
        _COMMON | {"const", "allOf", "default", "format", "pattern", "minItems"},
        True,
        False,
    ),
    # generationConfig.responseJsonSchema: the keywords Gemini documents
    "gemini": (
        _COMMON
        | {
            "format",
            "prefixItems",
            "minItems",
            "maxItems",
            "minimum",
            "maximum",
            "oneOf",
            "propertyOrdering",
        },
        False,
        False,
    ),
    # servers that compile any JSON Schema into a grammar (Ollama, vLLM, llama.cpp, the mock)
    "json": (None, False, False),
}
_NESTED = ("properties", "$defs", "definitions")
_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def for_dialect(schema: Mapping[str, Any], dialect: str) -> tuple[dict[str, Any], bool]:
    """(the schema in `dialect`'s subset, whether OpenAI's `strict` can be asked for)."""
    keep, closed, all_required = DIALECTS.get(dialect, DIALECTS["json"])
    if keep is None:
        return dict(schema), False
    state = {"strict": all_required}
    return _rewrite(schema, keep, closed, all_required, state, dialect), state["strict"]


def _rewrite(
    node: Any,
    keep: frozenset[str],
    closed: bool,
    all_required: bool,
    state: dict[str, bool],
    dialect: str,
) -> Any:
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    moved: list[str] = []
    for key, value in node.items():
        if key == "const" and "const" not in keep:
            out["enum"] = [value]
        elif key == "oneOf" and "oneOf" not in keep:
            out["anyOf"] = [_rewrite(v, keep, closed, all_required, state, dialect) for v in value]
        elif key in _NESTED and isinstance(value, Mapping):
            out[key] = {
                k: _rewrite(v, keep, closed, all_required, state, dialect) for k, v in value.items()
            }
        elif key in _LISTS and isinstance(value, list):
            out[key] = [_rewrite(v, keep, closed, all_required, state, dialect) for v in value]
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _rewrite(value, keep, closed, all_required, state, dialect)
        elif key in keep:
            out[key] = value
        elif key != "default" or value is not None:
            moved.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    if moved:
        out["description"] = " ".join(
            filter(None, [out.get("description"), f"({'; '.join(moved)})"])
        )
    if out.get("type") == "object" or "properties" in out:
        _close(out, closed, all_required, state, dialect)
    return out


def _close(
    out: dict[str, Any], closed: bool, all_required: bool, state: dict[str, bool], dialect: str
) -> None:
    extra = out.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        state["strict"] = False  # an open map: strict mode cannot hold it
    elif closed:
        out["additionalProperties"] = False
    properties = out.get("properties") or {}
    if dialect == "gemini" and properties:
        out["propertyOrdering"] = list(properties)
    if not all_required or not properties:
        return
    required = set(out.get("required", ()))
    for name, prop in properties.items():
        if name not in required:
            properties[name] = _nullable(prop)
    out["required"] = list(properties)


def _nullable(prop: Any) -> Any:
    """A property that may be left out becomes one that may be null (strict mode)."""
    if not isinstance(prop, Mapping):
        return prop
    kinds = prop.get("type")
    if isinstance(kinds, str) and "enum" not in prop:
        return {**prop, "type": [kinds, "null"]} if kinds != "null" else prop
    if isinstance(kinds, list):
        if "null" in kinds:
            return prop
        out = {**prop, "type": [*kinds, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if "anyOf" in prop:
        if any(isinstance(o, Mapping) and o.get("type") == "null" for o in prop["anyOf"]):
            return prop
        return {**prop, "anyOf": [*prop["anyOf"], {"type": "null"}]}
    if isinstance(kinds, str):  # an enum of one type
        return {**prop, "type": [kinds, "null"], "enum": [*prop["enum"], None]}
    rest = {k: v for k, v in prop.items() if k not in ("description", "title")}
    head = {k: prop[k] for k in ("description", "title") if k in prop}
    return {**head, "anyOf": [rest, {"type": "null"}]}
