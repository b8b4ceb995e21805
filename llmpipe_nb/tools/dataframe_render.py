"""DataFrame tool results as compact text the model reads, clipped to a token budget.

A result is a title line, then a table as JSON arrays, one per line: the header, then
one row each (strings quoted, nulls as null, dates in ISO form), which costs fewer
tokens than records and keeps a null apart from an empty string. Rows are added while
the estimated tokens (`tokens.estimate_tokens`) stay within the budget; when some are
left out, a last line says how many and why.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..tokens import CHARS_PER_TOKEN, estimate_tokens

#: a cell's text is cut to this many characters, so one long value cannot fill the budget
MAX_CELL = 200
#: tokens kept for the closing line that says what was left out
_NOTE_TOKENS = 40


def plain(value: Any) -> Any:
    """A cell as a JSON value: None for any null, ISO text for times, cut text."""
    dimensions: int = getattr(value, "ndim", 0)  # an array in a cell; numpy scalars have 0
    if isinstance(value, (list, tuple, set, dict)) or dimensions:
        return _cut(str(value))
    if value is None or _is_null(value):
        return None
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, int):  # bool too
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _cut(value if isinstance(value, str) else str(value))


def _is_null(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cut(text: str) -> str:
    return (
        text if len(text) <= MAX_CELL else f"{text[:MAX_CELL]}... (+{len(text) - MAX_CELL} chars)"
    )


def line(values: Sequence[Any]) -> str:
    """One table line: the values as a compact JSON array."""
    return json.dumps(
        [plain(value) for value in values], ensure_ascii=False, separators=(",", ":"), default=str
    )


def scalar(value: Any) -> str:
    """One value as JSON text."""
    return json.dumps(plain(value), ensure_ascii=False, default=str)


def row_cap(budget: int) -> int:
    """The most rows worth rendering for a budget: every line costs at least two tokens."""
    return budget // 2 + 1


def table(
    title: str,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    total: int,
    budget: int,
    unit: str = "rows",
    limit: str = "the limit",
) -> str:
    """The title, header and as many of `total` rows as fit `budget` tokens, and what was left out.

    `rows` may stop before `total` (at a limit the model chose, named by `limit`): those left out are counted too.
    """
    head = f"{title}\n{line(header)}"
    used = estimate_tokens(head)
    if used > budget - _NOTE_TOKENS:
        keep = max((budget - _NOTE_TOKENS) * CHARS_PER_TOKEN, 0)
        return (
            f"{head[:keep]}\n[clipped to fit {budget} tokens: the header alone is longer; "
            f"ask for fewer columns; all {total} {unit} left out]"
        )
    lines = [head]
    shown = 0
    clipped = False
    for row in rows:
        text = line(row)
        cost = estimate_tokens(text) + 1
        if used + cost > budget - _NOTE_TOKENS:
            clipped = True
            break
        lines.append(text)
        used += cost
        shown += 1
    left = total - shown
    if clipped:
        lines.append(f"[clipped to fit {budget} tokens: {left} of {total} {unit} left out]")
    elif left > 0:
        lines.append(f"[{left} of {total} {unit} left out by {limit}]")
    return "\n".join(lines)
