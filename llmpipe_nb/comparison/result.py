"""`Comparison`: what `llm.compare` returns, a grid of answers that is also a table.

It shows itself as the grid (HTML in notebooks, a rich table in terminals, text
elsewhere), and reads as a DataFrame (`to_frame`), a per-model summary (`summary`) and a
bar chart of cost and latency per model (`plot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..structured import Schema
from ..views import duration, money
from ..views.compare import Grid, GridRow, grid_html, grid_rich, grid_text
from . import summary as _summary
from .cells import FAILED, Cell, Row
from .models import Column

if TYPE_CHECKING:
    import pandas as pd

#: the result table's columns around the parsed fields, and their dtypes
HEAD = {"prompt": "string", "row": "object", "model": "string", "content": "string"}
TAIL = {
    "latency_ms": "Float64",
    "ttft_ms": "Float64",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cost_usd": "Float64",
    "error": "object",
}


class Comparison:
    """The same prompts sent to several models: `cells[row][column]`, filled as answers arrive."""

    def __init__(
        self,
        comparison_id: str,
        columns: Sequence[Column],
        rows: Sequence[Row],
        schema: Schema | None = None,
        format: str = "markdown",
    ) -> None:
        self.id = comparison_id
        self.columns = tuple(columns)
        self.rows = tuple(rows)
        self.schema = schema
        self.format = format
        self.cells = [[Cell(r, c) for c in range(len(columns))] for r in range(len(rows))]

    @property
    def models(self) -> list[str]:
        """The column headers, in order."""
        return [c.label for c in self.columns]

    @property
    def tag(self) -> str:
        """The tag on every ledger row of this comparison: `llm.costs(tags=cmp.tag)`."""
        return f"compare:{self.id}"

    def flat(self) -> list[Cell]:
        """Every cell, row by row."""
        return [cell for row in self.cells for cell in row]

    def cell(self, row: int, model: int | str) -> Cell:
        """The cell of grid row `row` and the model at that position or with that header."""
        column = self.models.index(model) if isinstance(model, str) else model
        return self.cells[row][column]

    @property
    def version(self) -> int:
        """Moves whenever a cell changes (what a live display watches)."""
        return sum(cell.version for cell in self.flat())

    @property
    def done(self) -> bool:
        return all(cell.finished for cell in self.flat())

    # -- the grid -----------------------------------------------------------------------

    def grid(self) -> Grid:
        cells = self.flat()
        finished = sum(c.finished for c in cells)
        failed = sum(c.state in FAILED for c in cells)
        spent = sum(c.facts()["cost_usd"] or 0.0 for c in cells)
        progress = f"{finished} of {len(cells)} done · {money(spent)}"
        if failed:
            progress += f" · {failed} failed"
        rows = tuple(
            GridRow(
                row.text,
                None if row.key is None else str(row.key),
                tuple(c.view() for c in self.cells[i]),
            )
            for i, row in enumerate(self.rows)
        )
        return Grid(
            title=f"llm.compare · {self.id}",
            headers=tuple(self.models),
            rows=rows,
            totals=tuple(self._totals(i) for i in range(len(self.columns))),
            status="done" if finished == len(cells) else "running",
            progress=progress,
            format=self.format,
        )

    def _totals(self, column: int) -> str:
        cells = [row[column] for row in self.cells]
        facts = [c.facts() for c in cells if c.state == "done"]
        latencies = [f["latency_ms"] for f in facts if f["latency_ms"] is not None]
        parts = []
        if latencies:
            parts.append(f"mean {duration(sum(latencies) / len(latencies) * 1e6)}")
        parts.append(money(sum(f["cost_usd"] or 0.0 for f in facts)))
        failed = sum(c.state in FAILED for c in cells)
        if failed:
            parts.append(f"{failed} failed")
        return " · ".join(parts)

    def _repr_html_(self) -> str:
        return grid_html(self.grid())

    def __repr__(self) -> str:
        return grid_text(self.grid())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def __rich__(self) -> Any:
        return grid_rich(self.grid())

    # -- as tables ------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: prompt, row, model, content, the parsed fields (with `schema=`),
        latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd and error."""
        import pandas as pd

        fields = self.schema.columns if self.schema is not None else []
        records = []
        for i, row in enumerate(self.rows):
            for cell in self.cells[i]:
                parsed = cell.fields or {}
                record = cell.record()
                records.append(
                    {
                        "prompt": row.prompt,
                        "row": row.key,
                        "model": self.columns[cell.column].label,
                        "content": record.pop("content"),
                        **{name: parsed.get(name) for name in fields},
                        **record,
                    }
                )
        data: dict[str, Any] = {}
        for name in [*HEAD, *fields, *TAIL]:
            values = [r[name] for r in records]
            dtype = HEAD.get(name) or TAIL.get(name)
            data[name] = (
                pd.array(values, dtype=dtype)
                if dtype is not None
                else pd.Series(values, dtype="object").convert_dtypes().array
            )
        frame = pd.DataFrame(data)
        frame.attrs["comparison_id"] = self.id
        return frame

    def summary(self) -> pd.DataFrame:
        """Per model: answers, failures, mean and p95 latency, mean time to first token,
        total cost and mean output tokens."""
        return _summary.per_model(self.to_frame(), self.models)

    def plot(self, axes: Any = None) -> Any:
        """Bar charts of total cost and of latency (mean and p95) per model; returns the two Axes."""
        return _summary.plot(self.summary(), axes)
