"""Filter-language conditions as pandas boolean masks, each value checked against its column.

A value is checked against its column's dtype before pandas sees it (a number for a
numeric column, quoted text for a text one, a quoted date for a datetime one, true or
false for a boolean one), so a mismatch is a QueryError saying what the column holds
rather than a silently empty result. Only Series methods run: comparisons, `isin`,
`isna` and `str.contains` with `regex=False`. pandas is imported here on first use only.
"""

from __future__ import annotations

import difflib
import functools
import operator
from collections.abc import Callable
from typing import Any

from .dataframe_query import Both, Compare, Contains, Either, Member, Node, Not, Null, QueryError

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: what a column of each kind holds, and how to write a value for it
_HOLDS = {
    "number": ("numbers", "write a number without quotes"),
    "bool": ("true/false values", "write true or false"),
    "text": ("text", "quote the value, e.g. '10'"),
    "datetime": ("dates", "write the date quoted, e.g. '2026-01-31'"),
    "timedelta": ("durations", "write the duration quoted, e.g. '2 days'"),
}


def mask(frame: Any, node: Node) -> Any:
    """A boolean Series over `frame`'s rows: True where the condition holds."""
    if isinstance(node, Both):
        return functools.reduce(operator.and_, (mask(frame, part) for part in node.parts))
    if isinstance(node, Either):
        return functools.reduce(operator.or_, (mask(frame, part) for part in node.parts))
    if isinstance(node, Not):
        return ~mask(frame, node.inner)
    series = frame[column_of(frame, node.column)]
    try:
        return _leaf(series, node)
    except QueryError:
        raise
    except (TypeError, ValueError, AttributeError) as error:
        raise QueryError(
            f"cannot apply this condition to column {node.column!r} ({series.dtype}): {error}"
        ) from None


def _leaf(series: Any, node: Node) -> Any:
    if isinstance(node, Null):
        return series.notna() if node.negated else series.isna()
    if isinstance(node, Contains):
        if kind_of(series) not in ("text", "other"):
            raise QueryError(
                f"contains works on text columns; {node.column!r} holds "
                f"{_HOLDS[kind_of(series)][0]} ({series.dtype})"
            )
        found = series.str.contains(node.text, regex=False, na=False)
        return found.astype(bool) & series.notna()
    if isinstance(node, Member):
        values = [_checked(series, node.column, value) for value in node.values]
        inside = series.isin(values).astype(bool)
        return (~inside if node.negated else inside) & series.notna()
    assert isinstance(node, Compare)
    value = _checked(series, node.column, node.value)
    result = _COMPARE[node.op](series, value)
    return result.fillna(False).astype(bool) & series.notna()


def kind_of(series: Any) -> str:
    """number, bool, text, datetime, timedelta, or other (mixed objects and the rest).

    An object column of strings only (pandas 2's usual text column) counts as text.
    """
    import pandas as pd
    from pandas.api import types

    values = series
    if isinstance(series.dtype, pd.CategoricalDtype):
        values = series.dtype.categories
    dtype = values.dtype
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_numeric_dtype(dtype):
        return "number"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if types.is_object_dtype(dtype):
        return "text" if types.infer_dtype(values, skipna=True) == "string" else "other"
    return "text" if types.is_string_dtype(dtype) else "other"


def _checked(series: Any, column: str, value: Any) -> Any:
    """`value` as the column's type; QueryError when it cannot be one."""
    import pandas as pd

    kind = kind_of(series)
    fits = {
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "text": isinstance(value, str),
        "datetime": isinstance(value, str),
        "timedelta": isinstance(value, str),
    }.get(kind, True)
    if not fits:
        holds, fix = _HOLDS[kind]
        raise QueryError(
            f"column {column!r} holds {holds} ({series.dtype}), so {value!r} cannot be "
            f"compared with it: {fix}"
        )
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise QueryError(f"{value!r} is not a date or time (e.g. '2026-01-31')") from None
        zone = getattr(series.dtype, "tz", None)
        if zone is not None and stamp.tzinfo is None:
            return stamp.tz_localize(zone)
        return stamp.tz_convert(None) if zone is None and stamp.tzinfo is not None else stamp
    if kind == "timedelta":
        try:
            return pd.Timedelta(value)
        except (ValueError, TypeError):
            raise QueryError(f"{value!r} is not a duration (e.g. '2 days')") from None
    return value


def column_of(frame: Any, name: Any) -> Any:
    """The frame's column label that `name` spells; QueryError naming the columns there are."""
    labels = {str(label): label for label in frame.columns}
    if isinstance(name, str) and name in labels:
        if len(labels) < len(frame.columns) and [str(c) for c in frame.columns].count(name) > 1:
            raise QueryError(f"several columns are named {name!r}, so none of them can be used")
        return labels[name]
    close = difflib.get_close_matches(str(name), list(labels), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise QueryError(f"there is no column {name!r}{hint}; the columns are: {listed(labels)}")


def listed(names: Any, most: int = 60) -> str:
    """Names joined by commas, the first `most` of them."""
    names = [str(name) for name in names]
    more = f", ... ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more
