"""A prompt template read into its text and its fields, each field's value looked up once.

`{name}`, `{obj.attr}`, `{items[0]}`, `{x!r}` and `{df:schema}` are fields; `{{` and
`}}` are literal braces. Only the names a template uses are looked up, so nothing else
of the namespace is read. A name that says it holds a secret (ending in `_KEY`,
`_TOKEN`, `_SECRET` or `PASSWORD`) and a `Secret` value are refused, not rendered.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..credentials import Secret
from ..errors import ConfigError, LLMPipeError

_NAME = re.compile(r"[A-Za-z_]\w*")
_formatter = string.Formatter()
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "PASSWORD")
BRACES = "write {{ and }} for literal braces"


@dataclass(frozen=True)
class Field:
    """One placeholder: as written, its value, its format and its conversion (r, s, a)."""

    text: str
    value: Any
    spec: str = ""
    conversion: str | None = None


def parse(template: str, namespace: Mapping[str, Any], hint: str = BRACES) -> list[str | Field]:
    """The template's literal text and fields, in order; ConfigError for any bad placeholder."""
    try:
        parsed = list(_formatter.parse(template))
    except ValueError as error:
        raise ConfigError(f"The prompt has an unmatched brace ({error}): {hint}.") from None
    pieces: list[str | Field] = []
    for literal, field, spec, conversion in parsed:
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        text = (
            "{"
            + field
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
        pieces.append(Field(text, lookup(field, text, namespace, hint), spec or "", conversion))
    return pieces


def lookup(field: str, text: str, namespace: Mapping[str, Any], hint: str) -> Any:
    """The value of one field; its secrets refused, its errors one sentence each."""
    name = _NAME.match(field)
    if name is None or (name.end() < len(field) and field[name.end()] not in ".["):
        raise ConfigError(f"The prompt has {{{field}}}, which is not a variable name: {hint}.")
    for word in re.findall(r"\w+", field):
        if word.upper().endswith(SECRET_SUFFIXES):
            raise ConfigError(
                f"{text} names a secret ({word}): secrets never go into a prompt, "
                "so take it out of the prompt."
            )
    if name.group() not in namespace:
        raise ConfigError(
            f"The prompt uses {{{field}}}, but no variable '{name.group()}' is defined: "
            f"define it first, or {hint}."
        )
    try:
        value, _ = _formatter.get_field(field, (), namespace)
    except LLMPipeError:
        raise
    except Exception as error:  # a missing attribute or index
        raise ConfigError(
            f"The prompt's placeholders could not be filled ({type(error).__name__}: {error}): "
            f"fix the placeholder, or {hint}."
        ) from None
    if isinstance(value, Secret):
        raise ConfigError(
            f"{text} is a Secret: secrets never go into a prompt, so take it out of the prompt."
        )
    return value
