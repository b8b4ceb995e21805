"""A deterministic valid instance of a JSON Schema, for the offline mock and the test servers.

The same schema and seed always give the same value, so notebooks and tests that ask the
mock for structured output show a typed answer without a network. The value borrows from
the seed (the prompt): strings are its names (capitalised words after the first word, in
order; else its words), numbers are its numbers where they fit, and an enum value it
names is chosen, so the answer reads as if it came from it. A string `pattern` is not
followed: the mock's answer to such a schema may not fit it.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping
from typing import Any

from .validate import resolve_ref

_FORMATTED = {
    "date-time": "2026-01-15T09:30:00+00:00",
    "date": "2026-01-15",
    "time": "09:30:00",
    "email": "ada@example.com",
    "uri": "https://example.com",
}


def example_of(schema: Mapping[str, Any], seed: str = "") -> Any:
    """A value that `schema` accepts, the same for the same schema and seed."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    words = re.findall(r"[A-Za-z][\w'-]*", seed) or ["example"]
    words = [w for w in words[1:] if w[0].isupper()] or words
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", seed)]
    return _Example(schema, rng, words, numbers, seed.lower()).value(schema, 0)


class _Example:
    def __init__(
        self,
        root: Mapping[str, Any],
        rng: random.Random,
        words: list[str],
        numbers: list[float],
        text: str,
    ) -> None:
        self.root = root
        self.rng = rng
        self.words = words
        self.numbers = numbers
        self.text = text
        self.used = 0
        self.said = 0

    def _number_from_seed(self, low: float, high: float, whole: bool) -> float | None:
        """The seed's next number that fits, in order."""
        for _ in range(len(self.numbers)):
            n = self.numbers[self.used % len(self.numbers)]
            self.used += 1
            if low <= n <= high and (not whole or n.is_integer()):
                return n
        return None

    def _names(self, word: str) -> bool:
        """Whether the seed names `word` as a word of its own ("C" is not the c of "Convert")."""
        return re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", self.text) is not None

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, Mapping) or depth > 12:
            return None
        if "$ref" in schema:
            return self.value(resolve_ref(schema["$ref"], self.root) or {}, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            named = [v for v in schema["enum"] if isinstance(v, str) and self._names(v)]
            return named[0] if named else self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [
                    o
                    for o in schema[key]
                    if not (isinstance(o, Mapping) and o.get("type") == "null")
                ]
                return self.value(options[0] if options else {"type": "null"}, depth)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged |= dict(part)
            return self.value(merged, depth)
        kinds = schema.get("type")
        if isinstance(kinds, list):
            kinds = next((k for k in kinds if k != "null"), "null")
        if kinds is None:
            kinds = (
                "object" if "properties" in schema else "array" if "items" in schema else "string"
            )
        return getattr(self, f"_{kinds}", self._string)(schema, depth)

    def _object(self, schema: Mapping[str, Any], depth: int) -> Any:
        properties = schema.get("properties") or {}
        required = set(schema.get("required", properties))
        out = {}
        for name, prop in properties.items():
            if depth > 3 and name not in required:
                continue  # a recursive schema ends where nothing more is required
            out[name] = self.value(prop, depth + 1)
        return out

    def _array(self, schema: Mapping[str, Any], depth: int) -> Any:
        fixed = schema.get("prefixItems")
        if fixed:
            return [self.value(item, depth + 1) for item in fixed]
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 2)))
        count = max(low, min(high, 0 if depth > 3 else 2))
        return [self.value(schema.get("items", {}), depth + 1) for _ in range(count)]

    def _string(self, schema: Mapping[str, Any], depth: int) -> Any:
        if schema.get("format") in _FORMATTED:
            return _FORMATTED[schema["format"]]
        if schema.get("format") == "uuid":
            return "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}".format(
                *tuple(self.rng.getrandbits(b) for b in (32, 16, 12, 12, 48))
            )
        text = self.words[self.said % len(self.words)]
        self.said += 1
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[:high] if isinstance(high, int) else text

    def _integer(self, schema: Mapping[str, Any], depth: int) -> Any:
        low, high = _bounds(schema, 0)
        seen = self._number_from_seed(low, high, whole=True)
        if seen is not None:
            return int(seen)
        return self.rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))

    def _number(self, schema: Mapping[str, Any], depth: int) -> Any:
        low, high = _bounds(schema, 0.01)
        seen = self._number_from_seed(low, high, whole=False)
        if seen is not None:
            return seen
        return min(max(round(self.rng.uniform(low, high), 2), low), high)

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> Any:
        return self.rng.random() < 0.5

    def _null(self, schema: Mapping[str, Any], depth: int) -> Any:
        return None


def _bounds(schema: Mapping[str, Any], step: float) -> tuple[float, float]:
    """The range a number may take: inclusive bounds as given, exclusive ones moved inwards
    (by 1 for integers, `step` for other numbers)."""
    step = step or 1
    low = schema.get("minimum")
    if low is None and "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if high is None and "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - step
    low = 0.0 if low is None else float(low)
    return low, float(low + 100 if high is None else high)
