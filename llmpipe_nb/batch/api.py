"""`llm.map`, `llm.amap` and `llm.estimate`: one prompt over every row of a DataFrame, Series or list.

    out = llm.map(df, "Classify the sentiment of: {review}", "openai", model="gpt-6-luna",
                  concurrency=16, cache="sqlite", max_cost=2.0)
    job = llm.map(df, "Classify: {review}", "openai", engine="batch")  # the Batch API

Every row runs through the provider's usual pipeline (cache, retry, rate limiter,
breaker, cost tracking, and the ledger, whose rows carry the tag `batch:<id>`).
Everything that can be wrong with the input is found before the first request is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ConfigError
from . import background
from .engine import Tally
from .estimate import pilot_prior
from .job import DEFAULT_CONCURRENCY, BatchInterrupted, Job, Spec
from .plan import chosen_features
from .progress import TICK_S, Display, make_display

ENGINES = ("local", "dask", "batch")


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
    """Send `prompt` for every row of `data`; a DataFrame aligned with its index comes back.

    Columns: content, finish_reason, input_tokens, output_tokens, cost_usd, cache_hit,
    error, latency_ms (after content, one per property of `schema`). A failed row
    carries its typed error; the others still complete. `dry_run=True` returns the
    `Estimate` instead. `engine="dask"` runs partitions on a dask.distributed cluster
    (`client=`, else the current one). `engine="batch"` submits the rows to the
    provider's Batch API at its batch price and returns a `BatchJob` at once, whose
    `wait()` gives the DataFrame.
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if engine != "dask" and (client is not None or partitions is not None):
        raise ConfigError("client= and partitions= go with engine='dask'.")
    chosen = chosen_features(cache, retry, rate_limit, circuit_breaker)
    spec = Spec.make(
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        tags=tags,
        features=chosen,
        options=options,
    )
    if engine == "batch":
        return _batch(spec, data, dry_run, chosen)
    if engine == "dask":
        from .dask_engine import map_dask

        return map_dask(
            spec, data, client=client, partitions=partitions, dry_run=dry_run, progress=progress
        )
    job = Job(spec, data)
    if dry_run:
        return job.estimate()
    batch = job.prepare()
    display, tick = _progress(job, progress)
    try:
        background.run(batch.run(), tick, TICK_S)
    except KeyboardInterrupt:
        _close(display, job.tally, "interrupted")
        partial = job.frame(cancelled=True)
        raise BatchInterrupted(partial, job.tally.finished, len(job.rows)) from None
    _close(display, job.tally, job.note())
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
    engine: str = "local",
    **options: Any,
) -> Any:
    """Async `map` on the caller's event loop (the local engine), or the `BatchJob` of
    `engine="batch"` (submitted in a worker thread; `await job.wait_async()`)."""
    if engine not in ("local", "batch"):
        raise ConfigError(f"amap takes engine='local' or 'batch', not {engine!r}.")
    chosen = chosen_features(cache, retry, rate_limit, circuit_breaker)
    spec = Spec.make(
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        concurrency=concurrency,
        max_cost=max_cost,
        expected_output_tokens=expected_output_tokens,
        tags=tags,
        features=chosen,
        options=options,
    )
    if engine == "batch":
        return await asyncio.to_thread(_batch, spec, data, False, chosen)
    job = Job(spec, data)
    batch = job.prepare()
    display, tick = _progress(job, progress)
    try:
        await background.ticking(batch.run(), tick, TICK_S)
    except asyncio.CancelledError:
        _close(display, job.tally, "interrupted")
        raise
    _close(display, job.tally, job.note())
    return job.frame()


def estimate(
    data: Any,
    prompt: Any,
    provider: str | None = None,
    model: str | None = None,
    *,
    system: str | None = None,
    schema: Any = None,
    expected_output_tokens: float | None = None,
    pilot: int | None = None,
    engine: str = "local",
    **options: Any,
) -> Any:
    """Expected (and most) tokens and cost of `llm.map(data, prompt, ...)`.

    Nothing is sent, unless `pilot=N`: then the first N rows are sent for real and their
    mean answer length is the expected one (what they cost is `pilot_cost_usd`). With
    `engine="batch"` the cost is at the Batch API's price, the normal one beside it.
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if pilot is not None and (not isinstance(pilot, int) or isinstance(pilot, bool) or pilot < 1):
        raise ConfigError(f"pilot must be a whole number of rows >= 1, not {pilot!r}.")
    if pilot is not None and expected_output_tokens is not None:
        raise ConfigError(
            "Give expected_output_tokens or pilot, not both: each sets the output length."
        )
    spec = Spec.make(
        prompt,
        provider,
        model,
        system=system,
        schema=schema,
        expected_output_tokens=expected_output_tokens,
        tags=("estimate-pilot",) if pilot else (),
        options=options,
    )
    job = Job(spec, data)
    if pilot is None:
        return _estimate(job, engine)
    batch = job.pilot(pilot)
    outcomes = background.run(batch.run(), lambda: None, TICK_S)
    output, spent = pilot_prior(outcomes, spec.output)
    return _estimate(job, engine, output, len(outcomes), spent)


def _estimate(job: Job, engine: str, *pilot: Any) -> Any:
    if engine != "batch":
        return job.estimate(*pilot)
    from .submit import batch_estimate

    return batch_estimate(job.spec, job.messages, *pilot)


def _batch(spec: Spec, data: Any, dry_run: bool, chosen: dict[str, Any]) -> Any:
    """The BatchJob of `engine="batch"`, or its Estimate for a dry run."""
    from .submit import batch_estimate, check_features, submit

    check_features(chosen)
    if dry_run:
        job = Job(spec, data)
        return batch_estimate(spec, job.messages)
    return submit(spec, data)


def _progress(job: Job, progress: Any) -> tuple[Display | None, Callable[[], None]]:
    """The display `progress=` asks for, and what redraws it with the job's counts."""
    display = make_display(progress, len(job.rows))
    if display is None:
        return None, lambda: None
    return display, lambda: display.update(job.tally)


def _close(display: Display | None, tally: Tally, note: str | None) -> None:
    if display is not None:
        display.close(tally, note)
