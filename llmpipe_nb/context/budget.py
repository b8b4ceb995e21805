"""Fit a prompt's values into its token budget: the largest value shrinks first.

Each field starts at its richest rendering. While the prompt is over budget, the field
whose rendering takes the most tokens moves on to its next, smaller rendering (fewer
rows, fewer columns, then the schema only, for a DataFrame); a field with no smaller
rendering stays as it is. A rendering of several lines is set off in a ``` block. If even the most compact renderings do not fit, nothing is
sent: a ConfigError says how many tokens the prompt needs. Every text is redacted
(anything shaped like a key becomes `***`) before it is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, LLMPipeError, redact
from .images import Image
from .renderers import renderings
from .template import Field

#: how a rendering set off on lines of its own begins
FENCE_START = "\n```"


@dataclass
class Slot:
    """One field while it is being fitted: its renderings, the current one and its size."""

    field: Field
    renderings: Iterator[Any]
    current: str | Image = ""
    tokens: int = 0
    shrunk: int = 0
    more: bool = True


@dataclass
class Fitted:
    """The pieces of the prompt (text and images), its tokens, and what was shortened."""

    pieces: list[str | Image]
    tokens: int
    notes: list[str] = field(default_factory=list)


def fit(
    pieces: Sequence[str | Field],
    *,
    budget: int,
    fixed: int,
    count: Callable[[str], int],
    max_side: int,
) -> Fitted:
    """The pieces rendered to fit `budget` tokens, `fixed` of which are already spoken for."""
    literal = fixed + sum(count(p) for p in pieces if isinstance(p, str))
    if literal > budget:
        raise ConfigError(
            f"The prompt's own text takes about {literal:,} tokens (with the messages before "
            f"it), over the budget of {budget:,}: raise the budget, or shorten the prompt."
        )
    slots = [_start(p, count, max_side) for p in pieces if isinstance(p, Field)]
    total = literal + sum(s.tokens for s in slots)
    while total > budget:
        slot = max((s for s in slots if s.more), key=lambda s: s.tokens, default=None)
        if slot is None:
            raise ConfigError(
                f"The prompt needs about {total:,} tokens with every value at its most "
                f"compact, over the budget of {budget:,}: raise the budget, or name fewer "
                "or smaller values."
            )
        before = slot.tokens
        _advance(slot, count, max_side)
        total += slot.tokens - before
    by_field = iter(slots)
    out = [p if isinstance(p, str) else next(by_field).current for p in pieces]
    notes = [
        f"{s.field.text} was shortened to fit the budget of {budget:,} tokens"
        for s in slots
        if s.shrunk
    ]
    return Fitted(out, total, notes)


def _start(field: Field, count: Callable[[str], int], max_side: int) -> Slot:
    slot = Slot(field, renderings(field.value, field.spec, field.conversion))
    if not _advance(slot, count, max_side):
        raise ConfigError(f"{field.text} rendered as nothing: its renderer gave no text.")
    slot.shrunk = 0
    return slot


def _advance(slot: Slot, count: Callable[[str], int], max_side: int) -> bool:
    """Move `slot` to its next rendering; False (and no more) when it has none."""
    try:
        value = next(slot.renderings)
    except StopIteration:
        slot.more = False
        return False
    except LLMPipeError:
        raise
    except Exception as error:
        raise _failed(slot.field, error) from None
    if isinstance(value, Image):
        slot.current = value.fitted(max_side)
        slot.tokens = slot.current.tokens
        slot.more = False  # an image is scaled to the provider's limit, not further
    elif isinstance(value, str):
        slot.current = _fenced(redact(value))
        slot.tokens = count(slot.current)
    else:
        raise ConfigError(
            f"The renderer of {slot.field.text} gave a {type(value).__name__}: "
            "a renderer returns text, an Image, or an iterable of them."
        )
    slot.shrunk += 1
    return True


def _fenced(text: str) -> str:
    """A rendering of several lines set off in a ``` block (unless it is one already), on
    lines of its own."""
    if "\n" not in text:
        return text
    block = text if text.startswith("```") else f"```\n{text}\n```"
    return f"\n{block}\n"


def _failed(field: Field, error: Exception) -> ConfigError:
    return ConfigError(
        f"{field.text} could not be rendered ({type(error).__name__}: {error}): "
        "fix the value, or register a renderer for its type with llm.renderer()."
    )
