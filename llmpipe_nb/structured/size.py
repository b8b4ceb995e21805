"""How long an answer that follows a JSON Schema is, in characters: the basis of the cost
estimate of a structured batch before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .validate import resolve_ref

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


def json_chars(rule: Any, root: Any = None, depth: int = 0) -> tuple[float, float | None]:
    """(typical, most) characters of the JSON of a value that follows `rule`: typical on one
    line (`{"a": 1, "b": 2}`), most as it could be pretty-printed (None: unbounded)."""
    root = rule if root is None else root
    if not isinstance(rule, Mapping):
        return _SIZES["string"]
    ref = rule.get("$ref")
    if isinstance(ref, str):
        target = resolve_ref(ref, root)
        return (20, None) if target is None or depth > 8 else json_chars(target, root, depth + 1)
    if rule.get("enum"):
        lengths = [len(json.dumps(v)) for v in rule["enum"]]
        return sum(lengths) / len(lengths), max(lengths)
    options = rule.get("anyOf") or rule.get("oneOf")
    kinds = rule.get("type")
    if options is None and isinstance(kinds, list):
        options = [{**rule, "type": k} for k in kinds]
    if options:
        each = [json_chars(o, root, depth) for o in options]
        bounded = [m for _, m in each if m is not None]
        return max(t for t, _ in each), max(bounded) if len(bounded) == len(each) else None
    if kinds == "object" or "properties" in rule:
        props = rule.get("properties")
        if not isinstance(props, Mapping) or not props:
            return 20, None
        typical = 2.0  # braces, and their line breaks when pretty-printed
        most_of: float | None = 4.0
        for name, sub in props.items():
            t, m = json_chars(sub, root, depth)
            key = len(json.dumps(name)) + 4  # "name": value,
            typical += key + t
            most_of = None if most_of is None or m is None else most_of + key + _LINE + m
        return typical, most_of
    if kinds == "array":
        t, m = json_chars(rule.get("items", {}), root, depth)
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
