"""A structured answer as a small field/value table: the typed object first, the JSON under it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from ..errors import redact
from ._html import clip, esc, shown, table


def fields(value: Any) -> list[tuple[str, Any]]:
    """(field, value) pairs of a parsed answer: a model's or dataclass's fields, a dict's
    items, a list's items by index, or the value alone."""
    model_fields = getattr(type(value), "model_fields", None)
    if isinstance(model_fields, Mapping):  # a pydantic model
        return [(name, getattr(value, name, None)) for name in model_fields]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    return [("value", value)]


def _cell(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return clip(redact(value), 200) if isinstance(value, str) else shown("", value, 200)


def parsed_html(value: Any, *, limit: int = 30) -> str:
    """The parsed answer as an escaped field/value table (the first `limit` fields)."""
    pairs = fields(value)
    rows = [[f"<code>{esc(name)}</code>", esc(_cell(item))] for name, item in pairs[:limit]]
    more = f'<div class="lp-note">… {len(pairs) - limit} more</div>' if len(pairs) > limit else ""
    title = f'<div class="lp-note">{esc(type(value).__name__)}</div>'
    return title + table(["field", "value"], rows) + more


def parsed_text(value: Any, *, limit: int = 30) -> str:
    """The text twin: one `field: value` line per field."""
    pairs = fields(value)
    width = max((len(name) for name, _ in pairs[:limit]), default=0)
    lines = [f"{type(value).__name__}"]
    lines += [f"  {name.ljust(width)}  {_cell(item)}" for name, item in pairs[:limit]]
    if len(pairs) > limit:
        lines.append(f"  … {len(pairs) - limit} more")
    return redact("\n".join(lines))
