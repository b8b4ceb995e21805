"""Values as prompt text: one small function per type, chosen by what the value is.

A renderer takes the value and the format written after the colon (`{df:schema}`, ""
when there is none) and returns its rendering (text, or an `Image`), or an iterable of
renderings from the richest to the most compact: when the prompt is over its token
budget, the largest value moves on to its next rendering. Built in: DataFrames and
Series (`frames`), numpy arrays (`arrays`), figures and images (`images`), and here
text, sequences, mappings and exceptions; anything else is its `str()`, clipped.
`renderer(MyType)` registers your own; the newest registration for the most specific
type of the value wins. A type may be named `"module:Class"`, so that registering it
imports nothing: a value can only be of that type once its module is loaded.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ..credentials import is_secret_name
from ..errors import ConfigError

Renderer = Callable[[Any, str], Any]
CONVERSIONS: dict[str, Callable[[Any], str]] = {"r": repr, "s": str, "a": ascii}
#: (type or "module:Class", renderer), oldest first
_entries: list[tuple[type | str, Renderer]] = []
#: characters kept of a long text at each rendering, from the richest (None: all of it)
TEXT_LIMITS = (None, 16_000, 4_000, 1_000, 250)
#: items kept of a list, set or dict at each rendering, and characters kept of each item
ITEM_LIMITS = ((None, None), (200, 2_000), (50, 400), (10, 100), (3, 60))
#: frames kept of a traceback at each rendering (None: all; 0: the message only)
FRAME_LIMITS = (None, 5, 1, 0)
_CELL_FILE = re.compile(r'File "(?:[^"]*/ipykernel_\d+/\d+\.py|<ipython-input-[^>]*>)"')
#: where an installed package's file lives: shown from the package's name on
_INSTALLED = re.compile(r'File "[^"]*[/\\](?:site|dist)-packages[/\\]')


def renderer(*types: type | str) -> Callable[[Renderer], Renderer]:
    """Decorator: render values of `types` with the function, `fn(value, spec)`."""
    if not types or not all(isinstance(t, (type, str)) for t in types):
        raise ConfigError("renderer() takes one or more types (or 'module:Class' names).")

    def register(fn: Renderer) -> Renderer:
        if not callable(fn):
            raise ConfigError(f"A renderer must be a function (value, spec), not {fn!r}.")
        _entries.extend((t, fn) for t in types)
        return fn

    return register


def find(value: Any) -> Renderer:
    """The renderer registered for the most specific type of `value`, else `render_other`."""
    table: dict[type, Renderer] = {}
    for key, fn in _entries:
        cls = _resolve(key) if isinstance(key, str) else key
        if cls is not None:
            table[cls] = fn
    for cls in type(value).__mro__:
        found = table.get(cls)
        if found is not None:
            return found
    return render_other


def _resolve(name: str) -> type | None:
    module_name, _, qualname = name.partition(":")
    target: Any = sys.modules.get(module_name)
    for attr in qualname.split("."):
        target = getattr(target, attr, None)
    return target if isinstance(target, type) else None


def renderings(value: Any, spec: str, conversion: str | None) -> Iterator[Any]:
    """Every rendering of `value`, richest first; `!r`, `!s`, `!a` render the text it gives."""
    if conversion:
        text = CONVERSIONS[conversion](value)
        yield from clipped(_formatted(text, spec))
        return
    out = find(value)(value, spec)
    if isinstance(out, Iterable) and not isinstance(out, (str, bytes)):
        yield from out
    else:
        yield out


def shorter(texts: Iterable[str]) -> Iterator[str]:
    """Only the texts shorter than every one before (a rendering must shrink to help)."""
    last: int | None = None
    for text in texts:
        if last is None or len(text) < last:
            last = len(text)
            yield text


def clip(text: str, limit: int | None) -> str:
    """`text` cut to about `limit` characters: its start and end around a count of what is left out."""
    if limit is None or len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    return f"{text[:head]}… [{len(text) - limit:,} more characters] …{text[-tail:]}"


def clipped(text: str) -> Iterator[str]:
    return shorter(clip(text, limit) for limit in TEXT_LIMITS)


def _formatted(value: Any, spec: str) -> str:
    if not spec:
        return value if isinstance(value, str) else str(value)
    try:
        return format(value, spec)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"The format ':{spec}' does not apply to a {type(value).__name__} ({error}): "
            "fix or remove it."
        ) from None


def no_spec(kind: str, spec: str) -> None:
    if spec:
        raise ConfigError(f"A {kind} takes no format such as ':{spec}': remove it.")


# -- the built-in renderers -----------------------------------------------------------------


def render_other(value: Any, spec: str) -> Iterator[str]:
    """Anything without a renderer: its `str()` (its repr, unless it has a text of its own)."""
    return clipped(_formatted(value, spec))


@renderer(str)
def render_text(value: str, spec: str) -> Iterator[str]:
    """A string as it is, clipped when long."""
    return clipped(_formatted(value, spec))


@renderer(list, tuple, set, frozenset)
def render_items(value: Any, spec: str) -> Iterator[str]:
    """A list, tuple or set: its items, fewer and shorter at each rendering."""
    no_spec(type(value).__name__, spec)
    items = value if isinstance(value, (list, tuple)) else list(value)
    left, right = (
        ("(", ")")
        if isinstance(value, tuple)
        else ("{", "}")
        if not isinstance(value, list)
        else ("[", "]")
    )
    return shorter(
        _joined(left, right, (repr(v) for v in items), len(items), keep, width, "items")
        for keep, width in ITEM_LIMITS
    )


@renderer(dict, Mapping)
def render_mapping(value: Mapping[Any, Any], spec: str) -> Iterator[str]:
    """A dict: its items, fewer and shorter at each rendering; credential-named values as ***."""
    no_spec(type(value).__name__, spec)

    def items() -> Iterator[str]:
        for k, v in value.items():
            shown = "'***'" if isinstance(k, str) and is_secret_name(k) else repr(v)
            yield f"{k!r}: {shown}"

    return shorter(
        _joined("{", "}", items(), len(value), keep, width, "keys") for keep, width in ITEM_LIMITS
    )


def _joined(
    left: str,
    right: str,
    items: Iterator[str],
    total: int,
    keep: int | None,
    width: int | None,
    noun: str,
) -> str:
    shown = []
    for i, item in enumerate(items):
        if keep is not None and i >= keep:
            break
        shown.append(clip(item, width))
    if len(shown) < total:
        shown.append(f"… {total - len(shown):,} more {noun}")
    return left + ", ".join(shown) + right


@renderer(BaseException)
def render_exception(value: BaseException, spec: str) -> Iterator[str]:
    """An exception: its traceback (the notebook's own frames left out), then fewer frames."""
    no_spec("exception", spec)
    tb = _user_frames(value.__traceback__)
    message = "".join(traceback.format_exception_only(type(value), value)).strip()

    def text(limit: int | None) -> str:
        if limit == 0 or tb is None:
            return message
        lines = traceback.TracebackException(type(value), value, tb, limit=limit and -limit)
        body = "".join(lines.format())
        note = "" if limit is None else f"(only the last {limit} frame{'s' * (limit > 1)})\n"
        return note + _INSTALLED.sub('File "', _CELL_FILE.sub("Cell", body)).rstrip()

    return shorter(clip(text(limit), TEXT_LIMITS[1]) for limit in FRAME_LIMITS)


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback without the leading frames of IPython's machinery (which ran the cell)."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith(
        ("IPython.", "ipykernel.")
    ):
        tb = tb.tb_next
    return tb
