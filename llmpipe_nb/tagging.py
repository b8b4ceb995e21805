"""Tags that label ledger rows: `with llm.tag("experiment-3"): ...`.

A context variable carries the tags, so they follow the code that runs inside the
block, asyncio tasks created there included, and never leak into other threads or
tasks. The ledger merges them with the builder's `with_tags(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import ConfigError

_active: ContextVar[tuple[str, ...]] = ContextVar("llmpipe_tags", default=())


def check_tags(tags: Iterable[object]) -> tuple[str, ...]:
    """The tags as a tuple, or ConfigError naming the first one that is not a non-empty string."""
    checked: list[str] = []
    for t in tags:
        if not isinstance(t, str) or not t:
            raise ConfigError(f"Tags must be non-empty strings, such as 'experiment-1', not {t!r}.")
        checked.append(t)
    return tuple(checked)


@contextmanager
def tag(*tags: str) -> Iterator[tuple[str, ...]]:
    """Label every request finished inside the block with `tags` (blocks nest and add up)."""
    token = _active.set(merge(_active.get(), check_tags(tags)))
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def active_tags() -> tuple[str, ...]:
    """The tags of the enclosing `tag()` blocks, outermost first."""
    return _active.get()


def merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """Both tuples in order, without repeats."""
    if not (first or second):
        return ()
    return tuple(dict.fromkeys((*first, *second)))
