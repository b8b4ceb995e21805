"""`llm.tools.dataframe(df, name="sales")`: tools that let the model look at one DataFrame.

The model gets `<name>_schema`, `_head`, `_describe`, `_value_counts`, `_filter` and
`_aggregate`, so it can answer questions about the data without the data being pasted
into the prompt. Filters are written in a small query language that is parsed, never
evaluated (`dataframe_query.py`); results are compact and clipped to a token budget
(`dataframe_render.py`). The frame is held, not copied, and only read.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .dataframe_mask import column_of, kind_of, mask
from .dataframe_query import GRAMMAR, QueryError, parse
from .dataframe_render import row_cap, scalar, table
from .tool import Tool

FUNCTIONS = ("sum", "mean", "min", "max", "count", "nunique", "median")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,49}$")
_NUMERIC = {"sum": ("number", "bool", "timedelta")} | dict.fromkeys(
    ("mean", "median"), ("number", "bool", "datetime", "timedelta")
)


class DataFrameTools(tuple[Tool, ...]):
    """The tools of one frame: a tuple of Tools, usable alone or inside a list of tools."""

    def tools(self) -> tuple[Tool, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"<DataFrame tools: {', '.join(tool.name for tool in self)}>"


def dataframe(df: Any, name: str = "df", *, max_result_tokens: int = 1000) -> DataFrameTools:
    """Tools for the model to read `df` (schema, head, describe, value_counts, filter, aggregate).

    Each tool's name starts with `name` (`sales_filter`), so several frames can be given at
    once; each result is clipped to about `max_result_tokens` tokens.
    """
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(df, pandas.DataFrame):
        raise ConfigError(
            f"llm.tools.dataframe needs a pandas DataFrame, not {type(df).__name__}: pass the "
            "frame itself, or turn a Series into one with series.to_frame()."
        )
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"name={name!r} cannot start tool names: use letters, digits and '_', starting "
            "with a letter or '_', at most 50 characters (e.g. name='sales')."
        )
    if (
        not isinstance(max_result_tokens, int)
        or isinstance(max_result_tokens, bool)
        or max_result_tokens < 100
    ):
        raise ConfigError(
            f"max_result_tokens must be a whole number of at least 100, not {max_result_tokens!r}."
        )
    frame = _Frame(df, name, max_result_tokens)
    return DataFrameTools(
        Tool(f"{name}_{op}", description, schema, _guarded(getattr(frame, op)))
        for op, (description, schema) in _specs(name).items()
    )


def _guarded(method: Callable[..., str]) -> Callable[..., str]:
    """Errors from pandas become QueryErrors: their message goes back to the model."""

    @functools.wraps(method)
    def run(**arguments: Any) -> str:
        try:
            return method(**arguments)
        except QueryError:
            raise
        except (TypeError, ValueError, KeyError, IndexError) as error:
            raise QueryError(str(error)) from None

    return run


class _Frame:
    """The tools' behaviour on one frame; every method only reads it."""

    def __init__(self, frame: Any, name: str, budget: int) -> None:
        import pandas as pd

        self.frame, self.name, self.budget = frame, name, budget
        self.indexed = not isinstance(frame.index, pd.RangeIndex)

    def schema(self, name_contains: str | None = None) -> str:
        frame = self.frame
        rows = [
            (str(col), str(dtype), int(count))
            for col, dtype, count in zip(
                frame.columns, frame.dtypes, frame.isna().sum(), strict=True
            )
            if not name_contains or name_contains.lower() in str(col).lower()
        ]
        index = f"; index {_index_name(frame.index) or '(unnamed)'} ({frame.index.dtype})"
        title = f"{self.name}: {len(frame)} rows, {len(frame.columns)} columns"
        title += index if self.indexed else ""
        if name_contains:
            title += f"; {len(rows)} with {name_contains!r} in their name"
        return table(title, ["column", "dtype", "nulls"], rows, len(rows), self.budget, "columns")

    def head(self, n: int = 5, columns: list[str] | None = None) -> str:
        shown = min(n, len(self.frame))
        title = f"{self.name}: the first {shown} of {len(self.frame)} rows"
        return self._rows(title, self.frame, columns, n, shown)

    def describe(self, columns: list[str] | None = None) -> str:
        part = self._columns(self.frame, columns)
        stats = part.describe(include="all").T
        rows = (
            [str(col), *values]
            for col, values in zip(stats.index, stats.values.tolist(), strict=True)
        )
        title = f"{self.name}: summary of {len(stats)} columns over {len(self.frame)} rows"
        header = ["column", *map(str, stats.columns)]
        return table(title, header, rows, len(stats), self.budget, "columns")

    def value_counts(self, column: str, n: int = 10, where: str | None = None) -> str:
        part = self._where(where)
        series = part[column_of(self.frame, column)]
        counts = series.value_counts(dropna=False)
        counts = counts[counts > 0]  # a categorical column lists its unused categories too
        nulls = int(series.isna().sum())
        title = (
            f"{self.name}.{column}: {series.nunique()} distinct values and {nulls} nulls in "
            f"{len(part)} rows{_of(where)}; the most frequent first"
        )
        rows = (
            [value, int(count)]
            for value, count in counts.head(min(n, row_cap(self.budget))).items()
        )
        return table(title, [column, "count"], rows, len(counts), self.budget, "values", f"n={n}")

    def filter(
        self,
        query: str,
        columns: list[str] | None = None,
        sort_by: str | None = None,
        descending: bool = False,
        limit: int = 50,
    ) -> str:
        part = self.frame.loc[mask(self.frame, parse(query))]
        if sort_by:
            by = column_of(self.frame, sort_by)
            part = part.sort_values(by, ascending=not descending, na_position="last", kind="stable")
        title = f"{self.name}: {len(part)} of {len(self.frame)} rows match {query}"
        return self._rows(title, part, columns, limit, len(part))

    def aggregate(
        self,
        func: str,
        column: str | None = None,
        by: list[str] | None = None,
        where: str | None = None,
        order: str | None = None,
        limit: int = 50,
    ) -> str:
        part = self._where(where)
        keys = [column_of(self.frame, key) for key in by or []]
        if column:
            label, col = f"{func}({column})", column_of(self.frame, column)
            kinds = _NUMERIC.get(func)
            if kinds and kind_of(part[col]) not in kinds:
                raise QueryError(
                    f"{func} needs a numeric column; {column!r} holds {part[col].dtype} "
                    "(min, max, count and nunique work on any column)"
                )
        elif func == "count":
            label, col = "count(rows)", None
        else:
            raise QueryError(f"{func} needs a column; only count works without one")
        over = f"over {len(part)} rows{_of(where)}"
        if not keys:
            value = len(part) if col is None else getattr(part[col], func)()
            return f"{self.name}: {label} {over} = {scalar(value)}"
        grouped = part.groupby(keys, dropna=False, observed=True, sort=True)
        result = grouped.size() if col is None else grouped[col].agg(func)
        if order:
            result = result.sort_values(ascending=order == "asc", na_position="last", kind="stable")
        title = f"{self.name}: {label} by {', '.join(map(str, keys))} {over}; {len(result)} groups"
        rows = (
            [*(key if isinstance(key, tuple) else (key,)), value]
            for key, value in result.head(min(limit, row_cap(self.budget))).items()
        )
        header = [*map(str, keys), label]
        return table(title, header, rows, len(result), self.budget, "groups", f"limit={limit}")

    def _where(self, query: str | None) -> Any:
        return self.frame if not query else self.frame.loc[mask(self.frame, parse(query))]

    def _columns(self, part: Any, columns: list[str] | None) -> Any:
        return part[[column_of(self.frame, c) for c in columns]] if columns else part

    def _rows(
        self, title: str, part: Any, columns: list[str] | None, limit: int, total: int
    ) -> str:
        part = self._columns(part, columns)
        header = [_index_name(part.index) or "index"] if self.indexed else []
        header += map(str, part.columns)
        rows = part.head(min(limit, row_cap(self.budget))).itertuples(index=self.indexed, name=None)
        return table(title, header, rows, total, self.budget, "rows", f"limit={limit}")


def _index_name(index: Any) -> str:
    """The index's name, or its levels' names joined (a MultiIndex has no single name)."""
    return ", ".join(str(name) for name in index.names if name is not None)


def _of(where: str | None) -> str:
    return f" where {where}" if where else ""


def _columns_arg(what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": what}


def _count(what: str, default: int, most: int) -> dict[str, Any]:
    text = f"{what} (default {default}, at most {most})."
    return {"type": "integer", "minimum": 1, "maximum": most, "description": text}


def _specs(name: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each tool's description and argument schema, in the order they are offered."""
    where_text = f"Optional filter: only the rows that match it, in {name}_filter's query language."
    where = {"type": "string", "description": where_text}
    shown = _columns_arg("The columns to show (default: all).")

    def obj(properties: dict[str, Any], *required: str) -> dict[str, Any]:
        schema = {"type": "object", "properties": properties}
        return schema | ({"required": list(required)} if required else {})

    return {
        "filter": (
            f"The rows of the table {name} that match a query: {GRAMMAR}. Quote text, and "
            "column names that are not plain words: region == 'East' and ('unit price' > 10 "
            "or discount is null).",
            obj(
                {
                    "query": {"type": "string", "description": "The condition rows must meet."},
                    "columns": shown,
                    "sort_by": {"type": "string", "description": "A column to sort by."},
                    "descending": {"type": "boolean", "description": "Sort largest first."},
                    "limit": _count("The most rows to return", 50, 1000),
                },
                "query",
            ),
        ),
        "schema": (
            f"The columns of the table {name} (name, dtype, null count) and its row count: "
            "call it first to learn the column names.",
            obj(
                {
                    "name_contains": {
                        "type": "string",
                        "description": "Only the columns whose name holds this text, in any "
                        "case (default: all).",
                    }
                }
            ),
        ),
        "head": (
            f"The first rows of the table {name}.",
            obj({"n": _count("How many rows", 5, 100), "columns": shown}),
        ),
        "describe": (
            f"Summary statistics of the table {name}, one line per column (count, mean, std, "
            "min, quartiles, max; unique, top and freq for text).",
            obj({"columns": _columns_arg("The columns to summarise (default: all).")}),
        ),
        "value_counts": (
            f"The most frequent values of one column of the table {name}, with their counts.",
            obj(
                {
                    "column": {"type": "string", "description": "The column."},
                    "n": _count("How many values", 10, 100),
                    "where": where,
                },
                "column",
            ),
        ),
        "aggregate": (
            f"One number from the table {name}, or one per group: func of column over the "
            "rows (count without a column counts rows), grouped by zero or more columns.",
            obj(
                {
                    "func": {"type": "string", "enum": list(FUNCTIONS)},
                    "column": {"type": "string", "description": "The column to aggregate."},
                    "by": _columns_arg("The columns to group by (default: none, one result)."),
                    "where": where,
                    "order": {
                        "type": "string",
                        "enum": ["desc", "asc"],
                        "description": "Sort the groups by the result.",
                    },
                    "limit": _count("The most groups to return", 50, 1000),
                },
                "func",
            ),
        ),
    }
