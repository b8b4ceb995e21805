"""The result table: one row per input row, aligned with the input's index.

Each finished request becomes a plain tuple (`outcome`), which is what travels back
from a Dask worker too; `to_frame` turns the tuples into the DataFrame, parsing
structured answers into one typed column per field when a schema was given (whole
numbers as Int64, numbers as Float64, enums as categories, objects and lists as they are).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from ..errors import LLMPipeError, PipelineError, ResponseFormatError
from ..request import Request
from ..structured import Schema

COLUMNS = (
    "content",
    "finish_reason",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "cache_hit",
    "error",
    "latency_ms",
)
DTYPES = {
    "content": "string",
    "finish_reason": "string",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cost_usd": "Float64",
    "cache_hit": "boolean",
    "error": "object",
    "latency_ms": "Float64",
}
Outcome = tuple[Any, ...]


def outcome(done: Request) -> Outcome:
    """The result columns of one finished request."""
    meta = done.metadata
    latency = meta.get("latency_ms")
    if latency is None and "duration_ns" in meta:
        latency = meta["duration_ns"] / 1e6
    hit = bool(meta.get("cache_hit"))
    cost = meta.get("cost_usd")
    if cost is None and hit:
        cost = 0.0
    if done.state == "error":
        return (None, "error", None, None, cost, hit, done.terminal_error, latency)
    result = done.result
    usage = getattr(result, "usage", None)
    return (
        getattr(result, "content", None),
        getattr(result, "finish_reason", None),
        None if usage is None else usage.input_tokens,
        None if usage is None else usage.output_tokens,
        cost,
        hit,
        None,
        latency,
    )


def unsent(error: BaseException | None) -> Outcome:
    """The result columns of a row that never ran, with the reason."""
    return (None, None, None, None, None, None, error, None)


def portable(row: Outcome) -> Outcome:
    """The row with its error made safe to send between processes (kept typed when it pickles)."""
    error = row[6]
    if error is None:
        return row
    if isinstance(error, LLMPipeError):
        error.request = None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = PipelineError(f"{type(error).__name__}: {error}")
    return (*row[:6], error, row[7])


def interrupted() -> PipelineError:
    return PipelineError(
        "Not finished: the batch was interrupted; run it again (with the cache on, "
        "only the rows that are missing are sent)."
    )


def to_frame(
    index: Any, rows: Sequence[Outcome], schema: Schema | None = None, provider: str | None = None
) -> Any:
    """The DataFrame of `rows` on `index`, with schema columns after `content` when asked."""
    import pandas as pd

    columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    data = {
        name: pd.array(list(values), dtype=DTYPES[name])
        for name, values in zip(COLUMNS, columns, strict=True)
    }
    if schema is not None:
        parsed, errors = _parse(schema, data["content"], data["error"], provider)
        data["error"] = pd.array(errors, dtype="object")
        kinds = schema.column_kinds()
        fields = {name: _column(pd, values, kinds[name]) for name, values in parsed.items()}
        data = {"content": data.pop("content"), **fields, **data}
    return pd.DataFrame(data, index=index)


_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}


def _column(pd: Any, values: list[Any], kind: str) -> Any:
    """One field's values with the dtype its JSON kind gives; mixed values stay objects."""
    if kind == "enum":
        return pd.Categorical(values)
    try:
        return pd.array(values, dtype=_DTYPES.get(kind, "object"))
    except (TypeError, ValueError):
        return pd.array(values, dtype="object")


def _parse(
    schema: Schema, contents: Any, errors: Any, provider: str | None
) -> tuple[dict[str, list[Any]], list[Any]]:
    """Each answer's fields (the rows that did not fit, or failed, keep their error)."""
    values: dict[str, list[Any]] = {name: [] for name in schema.columns}
    out_errors = list(errors)
    for i, text in enumerate(contents):
        row: dict[str, Any] = {}
        if out_errors[i] is None and isinstance(text, str):
            try:
                row = schema.row(schema.read(text, provider)[0])
            except ResponseFormatError as error:
                out_errors[i] = error
        for name in schema.columns:
            values[name].append(row.get(name))
    return values, out_errors
