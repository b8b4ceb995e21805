"""`llm.compare` and `llm.acompare`: the same prompts on several models, side by side.

    cmp = llm.compare(["Summarise: {text}"], df.head(5),
                      models=["openai:gpt-6-luna", "anthropic:claude-haiku-5-5"])

Everything that can be wrong (a model string, a provider, an option, a template field, a
missing key, max_cost for a model without a price) raises before anything is sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from .. import providers
from ..batch import background
from ..batch.estimate import output_prior
from ..batch.job import check_limits
from ..batch.plan import Plan, chosen_features
from ..batch.rows import Rendered
from ..errors import ConfigError
from ..structured import Schema
from ..tagging import active_tags, check_tags, merge
from ..views import FORMATS
from .engine import Run, budget_for
from .live import INTERVAL_S, Live, make_live
from .models import Column, parse_models
from .prompts import expand
from .result import Comparison

DEFAULT_CONCURRENCY = 4


class ComparisonInterrupted(KeyboardInterrupt):
    """The comparison was interrupted; `partial` is the Comparison with the answers that finished."""

    def __init__(self, partial: Comparison) -> None:
        self.partial = partial
        cells = partial.flat()
        finished = sum(c.state == "done" for c in cells)
        super().__init__(
            f"The comparison was interrupted after {finished} of {len(cells)} answers; they are "
            "in this exception's .partial, and with cache=True a rerun sends only the rest."
        )


def compare(
    prompts: Any,
    rows: Any = None,
    *,
    models: Any,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost: float | None = None,
    expected_output_tokens: float | None = None,
    cache: Any = None,
    retry: Any = None,
    rate_limit: Any = None,
    circuit_breaker: Any = None,
    tags: Iterable[str] = (),
    format: str = "markdown",
    live: Any = True,
    **options: Any,
) -> Comparison:
    """Send every prompt (every prompt template over every row of `rows`) to every model.

    `models` are `"provider:model"` strings or `(provider, model, {options})` tuples.
    At most `concurrency` requests are in flight per provider. The grid shows live
    (`live=False` turns it off, a function is called with the comparison as it fills).
    A failed cell keeps its typed error; the others complete.
    """
    comparison, run = prepare(
        prompts,
        rows,
        models=models,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        features=chosen_features(cache, retry, rate_limit, circuit_breaker),
        tags=tags,
        format=format,
        options=options,
    )
    return run_sync(comparison, run, make_live(live, comparison))


def run_sync(comparison: Comparison, run: Run, display: Live | None) -> Comparison:
    """Run on the background loop while this thread redraws `display`."""
    try:
        background.run(run.run(), _redraw(display), INTERVAL_S)
    except KeyboardInterrupt:
        run.interrupt()
        if display is not None:
            display.close()
        raise ComparisonInterrupted(comparison) from None
    if display is not None:
        display.close()
    return comparison


async def acompare(
    prompts: Any,
    rows: Any = None,
    *,
    models: Any,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost: float | None = None,
    expected_output_tokens: float | None = None,
    cache: Any = None,
    retry: Any = None,
    rate_limit: Any = None,
    circuit_breaker: Any = None,
    tags: Iterable[str] = (),
    format: str = "markdown",
    live: Any = True,
    **options: Any,
) -> Comparison:
    """Async `compare` on the caller's event loop."""
    comparison, run = prepare(
        prompts,
        rows,
        models=models,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        features=chosen_features(cache, retry, rate_limit, circuit_breaker),
        tags=tags,
        format=format,
        options=options,
    )
    display = make_live(live, comparison)
    try:
        await background.ticking(run.run(), _redraw(display), INTERVAL_S)
    except asyncio.CancelledError:
        run.interrupt()
        raise
    finally:
        if display is not None:
            display.close()
    return comparison


def _redraw(display: Live | None) -> Callable[[], None]:
    return display.update if display is not None else lambda: None


def prepare(
    prompts: Any,
    rows: Any = None,
    *,
    models: Any,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost: float | None = None,
    expected_output_tokens: float | None = None,
    features: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    format: str = "markdown",
    options: dict[str, Any] | None = None,
) -> tuple[Comparison, Run]:
    """The comparison (every cell waiting) and the run that fills it; ConfigError (or
    MissingKeyError) here means nothing was sent."""
    check_limits(concurrency, max_cost)
    if format not in FORMATS:
        raise ConfigError(f"format= takes one of {', '.join(FORMATS)}, not {format!r}.")
    if system is not None and not isinstance(system, str):
        raise ConfigError(f"system= must be a string, not {type(system).__name__}.")
    columns = parse_models(models)
    parsed = None if schema is None else Schema.of(schema)
    comparison_id = f"compare-{uuid.uuid4().hex[:12]}"
    # the enclosing llm.tag() blocks, captured here: the cells finish on another thread
    tag_list = (tags,) if isinstance(tags, str) else check_tags(tags)
    all_tags = merge((*tag_list, *active_tags()), (f"compare:{comparison_id}",))
    plans = [
        _plan(column, dict(options or {}), parsed, all_tags, features or {}) for column in columns
    ]
    grid_rows, rendered = expand(prompts, rows)
    for plan in plans:
        plan.config()  # a missing key raises once, before any cell is sent
    comparison = Comparison(comparison_id, columns, grid_rows, parsed, format)
    cells = comparison.flat()
    messages = [_with_system(rendered[c.row], columns[c.column].system or system) for c in cells]
    budget = None
    if max_cost is not None:
        per_cell_out = output_prior(options or {}, expected_output_tokens, parsed).expected
        budget = budget_for(max_cost, cells, plans, messages, per_cell_out)
    return comparison, Run(cells, plans, messages, concurrency, parsed, budget)


def _plan(
    column: Column,
    options: dict[str, Any],
    schema: Schema | None,
    tags: tuple[str, ...],
    features: dict[str, Any],
) -> Plan:
    """The batch plan of one column: shared options, then the column's own, then its model;
    a streamed chat where the provider can stream."""
    opts = {**options, **column.options, "model": column.model}
    if schema is not None:  # asked through the StructuredOutput plug, in each provider's form
        opts["schema"] = schema.spec
    kind = "stream" if "stream" in providers.get(column.provider).kinds else "chat"
    return Plan.make(column.provider, opts, tags, kind=kind, **features)


def _with_system(messages: Rendered, system: str | None) -> Rendered:
    if system is None or isinstance(messages, ConfigError):
        return messages
    return ({"role": "system", "content": system}, *messages)
