"""Fill `{name}` in a prompt from the notebook's variables, exactly once.

Values are inserted as they are and never parsed again, so a value that contains
braces stays as it is. `{{` and `}}` give literal braces.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

_NAME = re.compile(r"[A-Za-z_]\w*")
_formatter = string.Formatter()
_HINT = "write {{ and }} for literal braces, or use --no-interpolate"


def fill(template: str, namespace: Mapping[str, Any]) -> str:
    """`template` with every `{name}` (also `{name.attr}`, `{name[0]}`, `{name!r}`) filled in."""
    try:
        fields = [field for _, field, _, _ in _formatter.parse(template) if field is not None]
    except ValueError as error:
        raise ConfigError(f"The prompt has an unmatched brace ({error}): {_HINT}.") from None
    for field in fields:
        name = _NAME.match(field)
        if name is None or (name.end() < len(field) and field[name.end()] not in ".["):
            raise ConfigError(f"The prompt has {{{field}}}, which is not a variable name: {_HINT}.")
        if name.group() not in namespace:
            raise ConfigError(
                f"The prompt uses {{{field}}}, but no variable '{name.group()}' is defined: "
                f"define it first, or {_HINT}."
            )
    try:
        return _formatter.vformat(template, (), namespace)
    except Exception as error:  # a missing attribute or index, a bad format spec
        raise ConfigError(
            f"The prompt's placeholders could not be filled ({type(error).__name__}: {error}): "
            f"fix the placeholder, or {_HINT}."
        ) from None
