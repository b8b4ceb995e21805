"""From the caller's data and prompt to one message list per row, checked before anything is sent.

`data` is a pandas DataFrame (a template's `{column}` names are filled per row), a
Series or a list (a template's `{}` or `{value}` is the item); `prompt` is a template
string or a function of the row (a dict for a DataFrame, the item otherwise) that
returns a string or a list of messages. A template field whose value is empty (None,
NaN, NA, NaT) would be sent as the text "nan": that row is not sent and carries a
ConfigError instead.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..messages import normalize_messages

Prompt = str | Callable[[Any], Any]
#: one row's messages, or the ConfigError of a row that is not sent (an empty field)
Rendered = tuple[dict[str, Any], ...] | ConfigError


@dataclass(frozen=True, slots=True)
class Rows:
    """The items of the input in order, their index labels, and whether items are records."""

    index: Any  # a pandas Index, or a range for a plain list
    items: Sequence[Any]
    columns: tuple[Hashable, ...] | None  # set for a DataFrame: items are dicts
    name: Hashable | None = None  # a Series' name, usable in templates

    def __len__(self) -> int:
        return len(self.items)


def to_rows(data: Any) -> Rows:
    """Read a DataFrame, Series or list; anything else is refused with what to pass instead."""
    kind = _pandas_kind(data)
    if kind == "DataFrame":
        if data.columns.has_duplicates:
            raise ConfigError(
                "The DataFrame has duplicate column names: rename them so each {column} is unique."
            )
        return Rows(data.index, data.to_dict("records"), tuple(data.columns))
    if kind == "Series":
        return Rows(data.index, data.tolist(), None, data.name)
    if isinstance(data, (list, tuple)):
        return Rows(range(len(data)), data, None)
    if type(data).__module__.startswith("dask"):
        raise ConfigError(
            "A dask collection runs on a cluster: call llm.map(data, prompt, ..., "
            "engine='dask'), with dry_run=True for the estimate."
        )
    raise ConfigError(
        f"llm.map takes a pandas DataFrame, a Series or a list, not {type(data).__name__}: "
        "convert it first."
    )


def _pandas_kind(data: Any) -> str | None:
    """The pandas class name of `data` (DataFrame or Series), else None; never imports pandas."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    if isinstance(data, pd.DataFrame):
        return "DataFrame"
    return "Series" if isinstance(data, pd.Series) else None


class Renderer:
    """Turns one row into messages; a template's field names are checked once, up front."""

    def __init__(self, prompt: Prompt, rows: Rows, system: str | None = None) -> None:
        if not (isinstance(prompt, str) or callable(prompt)):
            raise ConfigError(
                f"The prompt must be a template string or a function of the row, "
                f"not {type(prompt).__name__}."
            )
        if system is not None and not isinstance(system, str):
            raise ConfigError(f"system= must be a string, not {type(system).__name__}.")
        self.prompt = prompt
        self.system = system
        self.records = rows.columns is not None
        self.name = rows.name
        #: template field -> the item key it reads (None: the item itself)
        self.fields: dict[str, Hashable | None] = {}
        if isinstance(prompt, str):
            roots = _check_template(prompt, rows)
            keys = {str(c): c for c in rows.columns or ()}
            self.fields = {r: keys[r] if self.records else None for r in sorted(roots)}

    def empty_field(self, item: Any) -> str | None:
        """Why this row must not be sent: a template field whose value is empty, if any."""
        for field, key in self.fields.items():
            what = _empty(item if key is None else item[key])
            if what is not None:
                return f"{{{field}}} is empty ({what})"
        return None

    def __call__(self, item: Any) -> tuple[dict[str, Any], ...]:
        prompt = self.prompt
        if isinstance(prompt, str):
            if self.records:
                text: Any = prompt.format_map(item)
            else:
                named = (
                    {"value": item} if self.name is None else {"value": item, str(self.name): item}
                )
                text = prompt.format(item, **named)
        else:
            text = prompt(item)
        messages = normalize_messages(text)
        if self.system is not None:
            return ({"role": "system", "content": self.system}, *messages)
        return messages


def _empty(value: Any) -> str | None:
    """What kind of empty `value` is (None, NaN, NA, NaT), or None for a real value."""
    if value is None:
        return "None"
    if isinstance(value, float) and value != value:
        return "NaN"
    pd = sys.modules.get("pandas")
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return "NA" if value is pd.NA else "NaT"
    return None


def _check_template(template: str, rows: Rows) -> set[str]:
    """The template's field names (their roots), each checked against the data."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as error:
        raise ConfigError(
            f"The prompt template is not valid ({error}): write literal braces as {{{{ and }}}}."
        ) from None
    roots = {_root(f) for f in fields}
    if rows.columns is not None:
        known = {str(c) for c in rows.columns}
        allowed = known
        what = f"the data has no column {{}}: its columns are {', '.join(sorted(known))}"
    else:
        allowed = {"", "0", "value"} | ({str(rows.name)} if rows.name is not None else set())
        what = "each item is one value: use {{}} or {{value}} for it, not {}"
    if rows.columns is not None and "" in roots:
        raise ConfigError("The prompt uses {} but a DataFrame row has named columns: use {column}.")
    for root in sorted(roots - allowed):
        raise ConfigError(f"The prompt uses {{{root}}} but {what.format(repr(root))}.")
    return roots


def _root(field: str) -> str:
    for i, ch in enumerate(field):
        if ch in ".[":
            return field[:i]
    return field


def render_all(renderer: Renderer, items: Sequence[Any]) -> list[Rendered]:
    """Every row's messages, or the error of a row with an empty field (it is not sent);
    a row that cannot be rendered raises naming its position."""
    out: list[Rendered] = []
    for position, item in enumerate(items):
        empty = renderer.empty_field(item)
        if empty is not None:
            out.append(
                ConfigError(
                    f"Row {position}: {empty}, so it was not sent: fill the cell, drop the "
                    "row, or pass a prompt function that handles it."
                )
            )
            continue
        try:
            out.append(renderer(item))
        except ConfigError as error:
            raise ConfigError(f"Row {position}: {error.message}") from None
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as error:
            raise ConfigError(
                f"Row {position} could not be turned into a prompt "
                f"({type(error).__name__}: {error}): fix the data or the prompt."
            ) from None
    return out
