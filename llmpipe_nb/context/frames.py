"""DataFrames and Series as prompt text: a compact summary that shrinks to fit the budget.

`{df}` is a summary: the shape, one line per column (dtype, nulls, and statistics: mean,
spread and quartiles of numbers, the range of dates, the most frequent other values),
then a few first, last and random rows. As the budget tightens it drops the random rows,
then most rows, then columns, then the statistics (the schema only), and says what it
left out. `{df:schema}`, `{df:csv}`, `{df:markdown}` and `{df:head(20)}` (also `tail(n)`
and `sample(n)`) choose one view. Above `SAMPLE_ROWS` rows, quartiles, distinct counts
and top values come from a random sample of that many rows (the text says so), so a
million rows render in well under 200 ms; counts, nulls, means and extremes are exact.
pandas and numpy are imported only when such a value is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import ConfigError
from .renderers import clip, renderer, shorter

SAMPLE_ROWS = 100_000
#: the columns described at most (a wider frame says how many more it has)
MAX_COLUMNS = 40
#: rows of `{df:csv}` and `{df:markdown}` at their richest, then fewer
TABLE_ROWS = (1_000, 200, 50, 10, 3, 0)
#: characters kept of one cell of a shown row
CELL_CHARS = 60
SPECS = "schema, csv, markdown, head(N), tail(N), sample(N)"
_ROWS = re.compile(r"(head|tail|sample)\((\d+)\)")


@dataclass(frozen=True)
class Plan:
    """What one rendering of the summary shows."""

    head: int
    tail: int
    sample: int
    columns: int
    stats: bool
    #: say that rows were left out (the summary does; the schema is meant without rows)
    rows_noted: bool = True


SUMMARY = (
    Plan(5, 5, 5, MAX_COLUMNS, True),
    Plan(3, 2, 0, MAX_COLUMNS, True),
    Plan(0, 0, 0, MAX_COLUMNS, True),
    Plan(0, 0, 0, 20, True),
    Plan(0, 0, 0, 10, True),
    Plan(0, 0, 0, 10, False),
    Plan(0, 0, 0, 0, False),
)
SCHEMA = (
    Plan(0, 0, 0, 200, False, rows_noted=False),
    Plan(0, 0, 0, MAX_COLUMNS, False, rows_noted=False),
    Plan(0, 0, 0, 10, False, rows_noted=False),
    Plan(0, 0, 0, 0, False, rows_noted=False),
)


@renderer("pandas:DataFrame", "pandas:Series")
def render_frame(value: Any, spec: str) -> Iterator[str]:
    """A DataFrame or Series: the summary, or the view its format names."""
    table = Table(value)
    spec = spec.strip()
    rows = _ROWS.fullmatch(spec)
    if spec in ("", "schema"):
        return shorter(table.summary(p) for p in (SUMMARY if not spec else SCHEMA))
    if spec in ("csv", "markdown"):
        return shorter(table.rows("head", n, spec) for n in TABLE_ROWS)
    if rows is not None:
        n = int(rows.group(2))
        counts = [n, *(k for k in (n // 2, n // 4, 10, 3, 1, 0) if k < n)]
        return shorter(table.rows(rows.group(1), k, "csv", asked=n) for k in counts)
    raise ConfigError(f"':{spec}' is not a format for a {table.kind}: use one of {SPECS}.")


class Table:
    """One frame's facts, each computed once, when a rendering first needs it."""

    def __init__(self, value: Any) -> None:
        import pandas as pd

        self.is_series = isinstance(value, pd.Series)
        self.kind = "Series" if self.is_series else "DataFrame"
        if self.is_series:
            value = value.to_frame(name="value" if value.name is None else value.name)
        self.frame = value
        self.n_rows, self.n_cols = value.shape
        self._columns: dict[int, tuple[str, str, str, str]] = {}

    @cached_property
    def sample_positions(self) -> Any:
        """The rows the sampled statistics read (all of them, on a small frame)."""
        import numpy as np

        if self.n_rows <= SAMPLE_ROWS:
            return None
        rng = np.random.default_rng(0)
        return np.sort(rng.choice(self.n_rows, SAMPLE_ROWS, replace=False))

    def header(self) -> str:
        if self.is_series:
            name = self.frame.columns[0]
            return f"Series {name!r}: {self.n_rows:,} rows, dtype {self.frame.dtypes.iloc[0]}"
        index = self.frame.index
        kind = type(index).__name__
        span = f", {_short(index[0])} to {_short(index[-1])}" if self.n_rows else ""
        columns = f"{self.n_cols:,} column{'s' * (self.n_cols != 1)}"
        return f"DataFrame: {self.n_rows:,} rows, {columns}\nindex: {kind}{span}"

    def summary(self, plan: Plan) -> str:
        lines = [self.header()]
        shown = min(plan.columns, self.n_cols)
        if shown:
            what = "dtype, nulls, statistics" if plan.stats else "dtype, nulls"
            lines.append(f"columns ({what}):")
            lines += [self.column(i, plan.stats) for i in range(shown)]
        if shown < self.n_cols:
            lines.append(f"… {self.n_cols - shown:,} more columns not described")
        if plan.stats and shown and self.sample_positions is not None:
            lines.append(
                f"(quartiles, distinct counts and top values from a random sample of "
                f"{SAMPLE_ROWS:,} rows)"
            )
        shows: tuple[tuple[str, int], ...] = (
            ("head", plan.head),
            ("tail", plan.tail),
            ("sample", plan.sample),
        )
        if plan.head and self.n_rows <= plan.head + plan.tail + plan.sample:
            shows = (("all", self.n_rows),)
        for where, n in shows:
            if n and self.n_rows:
                lines.append(self.rows(where, n, "csv", columns=shown))
        if plan.rows_noted and self.n_rows > plan.head + plan.tail:
            if not (plan.head or plan.tail):
                lines.append("(rows left out)")
            elif not plan.sample:
                lines.append("(random rows left out)")
        return "\n".join(lines)

    def column(self, i: int, stats: bool) -> str:
        """One column's line: `- name: dtype, N nulls[, statistics]`."""
        if i not in self._columns:
            self._columns[i] = self._facts(i)
        name, dtype, nulls, described = self._columns[i]
        line = f"- {name}: {dtype}, {nulls} nulls"
        return f"{line}, {described}" if stats and described else line

    def _facts(self, i: int) -> tuple[str, str, str, str]:
        import pandas as pd

        s = self.frame.iloc[:, i]
        nulls = int(s.isna().sum())
        dtype = s.dtype
        described = ""
        if nulls == len(s):
            pass
        elif pd.api.types.is_bool_dtype(dtype):
            described = f"true {s.mean():.1%}"
        elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            described = self._numbers(s)
        elif pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
            described = f"{_short(s.min())} to {_short(s.max())}"
        else:
            described = self._values(s)
        return clip(str(s.name), CELL_CHARS), str(dtype), f"{nulls:,}", described

    def _sampled(self, s: Any) -> Any:
        return s if self.sample_positions is None else s.take(self.sample_positions)

    def _numbers(self, s: Any) -> str:
        """Mean, spread and extremes (exact), quartiles (from the sample on a large frame)."""
        import numpy as np

        values = s.to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        source = values
        if self.sample_positions is not None:
            sampled = self._sampled(s).to_numpy(dtype=float, na_value=np.nan)
            sampled = sampled[~np.isnan(sampled)]
            source = sampled if len(sampled) else values
        quartiles = np.percentile(source, (25, 50, 75))
        return (
            f"mean {_num(values.mean())}, std {_num(values.std())}, min {_num(values.min())}, "
            f"quartiles {'/'.join(_num(q) for q in quartiles)}, max {_num(values.max())}"
        )

    def _values(self, s: Any) -> str:
        """How many distinct values, and the three most frequent with their shares."""
        try:
            counts = self._sampled(s).value_counts(dropna=True)
        except TypeError:  # unhashable values (lists, dicts)
            return ""
        total = int(counts.sum())
        top = ", ".join(f"{_short(v)} {c / total:.0%}" for v, c in counts.head(3).items())
        return f"{len(counts):,} distinct" + (f", top: {top}" if total else "")

    def rows(
        self,
        where: str,
        n: int,
        fmt: str,
        columns: int | None = None,
        asked: int | None = None,
    ) -> str:
        """`n` first, last or random rows as CSV or Markdown, saying how many are left out.

        In the summary (`columns` given) the header already says how many rows there are.
        """
        import numpy as np

        frame = self.frame if columns is None else self.frame.iloc[:, :columns]
        n = min(n, self.n_rows)
        if where in ("head", "all"):
            part = frame.iloc[:n]
        elif where == "tail":
            part = frame.iloc[self.n_rows - n :]
        else:
            positions = np.random.default_rng(0).choice(self.n_rows, n, replace=False)
            part = frame.iloc[np.sort(positions)]
        part = part.map(lambda v: clip(v, CELL_CHARS) if isinstance(v, str) else v)
        table = _markdown(part) if fmt == "markdown" else _csv(part)
        label = {"all": "all", "head": "first", "tail": "last", "sample": "random"}[where]
        title = f"{label} {n:,} row{'s' * (n != 1)}"
        if columns is not None:
            return f"{title}:\n{table}"
        wanted = self.n_rows if asked is None else min(asked, self.n_rows)
        note = ""
        if wanted > n:
            note = f"\n… {wanted - n:,} more rows"
            if asked is not None:
                note += f" of the {wanted:,} asked for, left out"
        return f"{title} of {self.n_rows:,}:\n{table}{note}"


def _csv(frame: Any) -> str:
    return frame.to_csv(float_format="%.6g", lineterminator="\n").rstrip("\n")


def _markdown(frame: Any) -> str:
    """A Markdown table (pipes inside cells escaped), index first."""

    def cell(v: Any) -> str:
        return _short(v).replace("|", "\\|").replace("\n", " ")

    names = [str(frame.index.name or ""), *(str(c) for c in frame.columns)]
    lines = ["| " + " | ".join(cell(n) for n in names) + " |", "|" + "---|" * len(names)]
    for index, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        lines.append("| " + " | ".join(cell(v) for v in (index, *row)) + " |")
    return "\n".join(lines)


def _num(value: Any) -> str:
    return f"{float(value):.6g}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return _num(value)
    return clip(str(value), CELL_CHARS)
