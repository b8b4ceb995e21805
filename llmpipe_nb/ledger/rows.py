"""The rows of one finished request, in the columns of `schema.py`.

This runs for every request in every pipeline, so it stays plain tuples and the standard
library; everything that reads the rows lives elsewhere and is loaded on demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..errors import redact
from ..request import Request
from ..responses import Usage
from ..tagging import active_tags, merge
from .schema import COST_COLUMNS

_PROVIDER, _MODEL, _COST, _TAGS = (
    COST_COLUMNS.index(c) for c in ("provider", "model", "cost_usd", "tags")
)


class LedgerRows(NamedTuple):
    """Plain rows in column order (picklable: they travel between processes)."""

    costs: list[tuple[Any, ...]]
    traces: list[tuple[Any, ...]]


def rows_for(done: Request) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The cost row and trace rows of one finished request."""
    meta = done.metadata
    result = done.result
    cache_hit = bool(meta.get("cache_hit") or getattr(result, "cache_hit", False))
    usage = None if cache_hit else getattr(result, "usage", None)
    error = done.terminal_error
    if usage is None and error is not None:
        usage = getattr(error, "usage", None)  # an interrupted stream was billed for its part
    if usage is None:
        usage = meta.get("usage_so_far")  # so was a stream closed before its end
    if not isinstance(usage, Usage):
        usage = None
    if "cost_usd" in meta:
        cost, status = meta["cost_usd"], meta.get("cost_status")
    elif cache_hit:
        cost, status = 0.0, "cached"
    elif usage is not None:
        cost, status = getattr(result, "cost", None), getattr(result, "cost_status", None)
    else:
        cost, status = 0.0, None
    saved = meta.get("cost_saved", getattr(result, "cost_saved", None)) if cache_hit else 0.0
    started = meta.get("started_at_ns", 0)
    model = getattr(result, "model", None) or done.model
    latency = meta.get("latency_ms")
    if latency is None:
        latency = meta.get("duration_ns", 0) / 1e6
    cost_row = (
        done.id,
        started,
        done.provider,
        model,
        done.kind,
        done.state,
        usage.input_tokens if usage else 0,
        usage.output_tokens if usage else 0,
        usage.cached_input_tokens if usage else 0,
        usage.reasoning_tokens if usage else 0,
        bool(usage and usage.estimated),
        cost,
        status,
        saved,
        latency,
        meta.get("ttft_ms"),
        meta.get("tokens_per_second"),
        cache_hit,
        meta.get("attempts", 0),
        None if error is None else type(error).__name__,
        merge(tuple(meta.get("tags", ())), active_tags()),
    )
    steps = meta.get("trace", ())
    origin = started - steps[0].started_at_ns if steps else 0
    trace_rows = [
        (
            done.id,
            s.index,
            s.plug,
            origin + s.started_at_ns,
            s.duration_ns / 1000,
            s.outcome,
            None if s.note is None else redact(str(s.note)),
        )
        for s in steps
    ]
    return cost_row, trace_rows


def add_spending(
    spent: dict[tuple[str, str | None, str | None], float], costs: Iterable[tuple[Any, ...]]
) -> None:
    """Add each cost row's USD to its (provider, model, tag) totals; tag None is the total."""
    for row in costs:
        cost = row[_COST]
        if cost:
            for key in _spent_keys(row):
                spent[key] = spent.get(key, 0.0) + cost


def _spent_keys(row: tuple[Any, ...]) -> list[tuple[str, str | None, str | None]]:
    provider, model = row[_PROVIDER], row[_MODEL]
    return [(provider, model, None), *((provider, model, t) for t in row[_TAGS])]
