"""Which Claude generation a model id names, read from the id alone.

The rules that differ per generation (sampling parameters, manual thinking, prefill)
follow the version number in the id, whatever surface it comes from: `claude-opus-4-7`,
`claude-opus-4-7-20260415`, Bedrock's `anthropic.claude-opus-4-7-v1:0`, Vertex's
`claude-opus-4-7@20260415`. Ids in the older order (`claude-3-5-haiku-…`) and unknown
ids are older models, which the rules leave alone.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: lines that only exist from Claude 4.7 on, whatever their own number
_NEW_LINES = ("fable", "mythos")
_ID = re.compile(r"claude-(opus|sonnet|haiku|fable|mythos)(?:-(\d{1,2})(?:[-.](\d{1,2}))?(?!\d))?")


class Generation(NamedTuple):
    line: str
    version: tuple[int, int]  # (0, 0) when the id carries none (`claude-mythos-preview`)


def generation(model: object) -> Generation | None:
    """The line and version of a Claude model id, or None when it names neither."""
    match = _ID.search(str(model or "").lower())
    if match is None:
        return None
    line, major, minor = match.groups()
    return Generation(line, (int(major or 0), int(minor or 0)))


def at_least(model: object, version: tuple[int, int]) -> bool:
    """Whether the model is Claude `version` or later (Fable and Mythos are always 4.7+)."""
    found = generation(model)
    if found is None:
        return False
    return found.line in _NEW_LINES or found.version >= version


def default_sampling_only(model: object) -> bool:
    """Claude 4.7 and later accept only the default temperature, top_p and top_k."""
    return at_least(model, (4, 7))
