"""`llm.map` and `llm.estimate`: one prompt over every row of a DataFrame, Series or list.

    out = llm.map(df, "Classify the sentiment of: {review}", "openai", model="gpt-4o-mini",
                  concurrency=16, cache="sqlite", max_cost=2.0)

Every row runs through the provider's usual pipeline (cache, retry, rate limiter,
breaker, cost tracking, the ledger, whose rows carry the tag `batch:<id>`). Everything
that can be wrong with the input is found before the first request is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from typing import Any

from ..api import default_provider
from ..errors import ConfigError
from . import background
from .engine import Batch, Budget, Tally
from .estimate import Estimate, Rates, input_tokens, make_estimate, output_prior
from .frame import interrupted, outcome, to_frame
from .plan import Plan
from .progress import TICK_S, Display, make_display
from .rows import Renderer, Rows, render_all, to_rows
from .schema import Schema

DEFAULT_CONCURRENCY = 8
ENGINES = ("local", "dask")


class BatchInterrupted(KeyboardInterrupt):
    """The batch was interrupted; `partial` is the result table of the rows that finished."""

    def __init__(self, partial: Any, finished: int, total: int) -> None:
        self.partial = partial
        super().__init__(
            f"The batch was interrupted after {finished} of {total} rows; the finished rows are "
            "in this exception's .partial, and with the cache on a rerun sends only the rest."
        )


class Job:
    """A checked, ready-to-send batch: rows, their requests, the plan and the limits."""

    def __init__(
        self,
        data: Any,
        prompt: Any,
        provider: str | None,
        model: str | None,
        *,
        system: str | None,
        schema: Any,
        concurrency: int,
        max_cost: float | None,
        expected_output_tokens: float | None,
        tags: Iterable[str],
        features: dict[str, Any],
        options: dict[str, Any],
    ) -> None:
        self.rows: Rows = to_rows(data)
        self.messages = render_all(Renderer(prompt, self.rows, system), self.rows.items)
        self.schema = None if schema is None else Schema(schema)
        if self.schema is not None:
            options = {"response_format": self.schema.response_format(), **options}
        if model is not None:
            options = {**options, "model": model}
        self.batch_id = f"batch-{uuid.uuid4().hex[:12]}"
        tags = tuple(tags) if not isinstance(tags, str) else (tags,)
        provider = provider or default_provider()
        self.plan = Plan.make(provider, options, (*tags, f"batch:{self.batch_id}"), **features)
        self.concurrency = concurrency
        self.max_cost = max_cost
        self.per_row_out = output_prior(options, expected_output_tokens)
        self.tally = Tally(len(self.rows))
        self.batch: Batch | None = None

    def estimate(self) -> Estimate:
        rates = Rates.lookup(self.plan.provider, self.plan.options.get("model"))
        return make_estimate(rates, input_tokens(self.messages), self.per_row_out)

    def prepare(self) -> Batch:
        budget = None
        tokens_in = input_tokens(self.messages) if self.max_cost is not None else ()
        if self.max_cost is not None:
            rates = Rates.lookup(self.plan.provider, self.plan.options.get("model"))
            if rates.input is None or rates.output is None:
                raise ConfigError(
                    f"max_cost needs a price for model {rates.model!r} of '{rates.provider}': "
                    "set one with llm.set_price()."
                )
            costs = [t * rates.input for t in tokens_in]
            budget = Budget(self.max_cost, costs, rates.output, self.per_row_out)
        requests = [self.plan.request(m) for m in self.messages]
        self.batch = Batch(requests, self.plan.pipeline(), self.concurrency, self.tally, budget)
        return self.batch

    def frame(self, cancelled: bool = False) -> Any:
        batch = self.batch
        assert batch is not None
        unsent = interrupted() if cancelled else batch.unsent_error()
        rows = [outcome(done, unsent) for done in batch.done]
        df = to_frame(self.rows.index, rows, self.schema)
        df.attrs["batch_id"] = self.batch_id
        return df

    def note(self) -> str | None:
        batch = self.batch
        if batch is not None and batch.budget is not None and batch.budget.stopped:
            return "stopped at max_cost"
        return None


def _close(display: Display | None, job: Job, note: str | None = None) -> None:
    if display is not None:
        display.close(job.tally, note or job.note())


def map(
    data: Any,
    prompt: Any,
    provider: str | None = None,
    model: str | None = None,
    *,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost: float | None = None,
    expected_output_tokens: float | None = None,
    dry_run: bool = False,
    progress: Any = True,
    cache: Any = None,
    retry: Any = None,
    rate_limit: Any = None,
    circuit_breaker: Any = None,
    tags: Iterable[str] = (),
    engine: str = "local",
    client: Any = None,
    partitions: int | None = None,
    **options: Any,
) -> Any:
    """Send `prompt` for every row of `data` and return a DataFrame aligned with its index.

    Columns: content, finish_reason, input_tokens, output_tokens, cost_usd, cache_hit,
    error, latency_ms (plus one per property of `schema`). A failed row carries its typed
    error; the others still complete. `dry_run=True` returns the `Estimate` instead.
    `engine="dask"` runs partitions on a dask.distributed cluster (`client=` or the current one).
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    features = {
        "cache": cache,
        "retry": retry,
        "rate_limit": rate_limit,
        "circuit_breaker": circuit_breaker,
    }
    if engine == "dask":
        from .dask_engine import map_dask

        return map_dask(
            data,
            prompt,
            provider,
            model,
            system=system,
            schema=schema,
            concurrency=concurrency,
            max_cost=max_cost,
            expected_output_tokens=expected_output_tokens,
            dry_run=dry_run,
            progress=progress,
            tags=tags,
            features=features,
            options=options,
            client=client,
            partitions=partitions,
        )
    if client is not None or partitions is not None:
        raise ConfigError("client= and partitions= apply to engine='dask' only.")
    job = Job(
        data,
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        tags=tags,
        features=features,
        options=options,
    )
    if dry_run:
        return job.estimate()
    batch = job.prepare()
    display = make_display(progress, len(job.rows))
    tick = (lambda: display.update(job.tally)) if display is not None else (lambda: None)
    try:
        background.run(batch.run(), tick, TICK_S)
    except KeyboardInterrupt:
        _close(display, job, "interrupted")
        raise BatchInterrupted(
            job.frame(cancelled=True), job.tally.finished, len(job.rows)
        ) from None
    _close(display, job)
    return job.frame()


async def amap(
    data: Any,
    prompt: Any,
    provider: str | None = None,
    model: str | None = None,
    *,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost: float | None = None,
    expected_output_tokens: float | None = None,
    progress: Any = True,
    cache: Any = None,
    retry: Any = None,
    rate_limit: Any = None,
    circuit_breaker: Any = None,
    tags: Iterable[str] = (),
    **options: Any,
) -> Any:
    """Async `map` on the caller's event loop (local engine)."""
    job = Job(
        data,
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        tags=tags,
        features={
            "cache": cache,
            "retry": retry,
            "rate_limit": rate_limit,
            "circuit_breaker": circuit_breaker,
        },
        options=options,
    )
    batch = job.prepare()
    display = make_display(progress, len(job.rows))
    ticker = asyncio.create_task(_tick(display, job.tally)) if display is not None else None
    try:
        await batch.run()
    except asyncio.CancelledError:
        _close(display, job, "interrupted")
        raise
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    _close(display, job)
    return job.frame()


async def _tick(display: Display, tally: Tally) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        display.update(tally)


def estimate(
    data: Any,
    prompt: Any,
    provider: str | None = None,
    model: str | None = None,
    *,
    system: str | None = None,
    schema: Any = None,
    expected_output_tokens: float | None = None,
    **options: Any,
) -> Estimate:
    """Expected tokens and cost of `llm.map(data, prompt, ...)`, without sending anything."""
    job = Job(
        data,
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        concurrency=DEFAULT_CONCURRENCY,
        max_cost=None,
        expected_output_tokens=expected_output_tokens,
        tags=(),
        features={},
        options=options,
    )
    return job.estimate()
