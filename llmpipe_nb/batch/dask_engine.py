"""`engine="dask"`: partitions of the input run on a dask.distributed cluster, each as a local batch.

Every worker receives the batch's Spec (plain data) with its partition, rebuilds the
pipeline once per process (so `cache="redis"` connects every worker to the same
Redis and no row is paid for twice) and runs the async engine over the partition with
its own concurrency bound. Back come the result rows, in input order, and the
ledger rows, which join the caller's ledger. `max_cost` is shared out between the
partitions in proportion to their rows.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from ..observability import attached_trace
from ..request import Request
from . import background
from .engine import Tally
from .estimate import input_tokens, make_estimate
from .frame import Outcome, outcome, portable, to_frame
from .job import BatchInterrupted, Job, Spec
from .progress import make_display
from .rows import Renderer, Rows, render_all, to_rows


@dataclass
class PartitionResult:
    """What one partition sends back: its index, result rows, ledger rows and tally."""

    index: Any
    outcomes: list[Outcome]
    ledger: Any  # ledger.LedgerRows
    tally: Tally
    note: str | None


def run_partition(
    spec: Spec, data: Any, max_cost: float | None, caller_pid: int
) -> PartitionResult:
    """Run one partition on a worker: the local engine over its rows.

    Ledger rows travel back only from another process: a worker thread in the caller's
    process (`Client(processes=False)`) records into the caller's ledger directly.
    """
    from ..ledger import LedgerRows, rows_for

    remote = os.getpid() != caller_pid
    if remote:
        spec.plan.apply_settings()
    costs: list[Any] = []
    traces: list[Any] = []

    def keep(done: Request) -> Outcome:
        if remote:
            cost_row, trace_rows = rows_for(done)
            costs.append(cost_row)
            traces.extend(trace_rows)
        return outcome(done)

    job = Job(spec, data, max_cost)
    batch = job.prepare(keep)
    with attached_trace(spec.trace_context):  # the caller's span is the rows' parent
        background.run(batch.run(), lambda: None, 1.0)
    outcomes = [portable(row) for row in job.outcomes()]
    return PartitionResult(
        job.rows.index, outcomes, LedgerRows(costs, traces), job.tally, job.note()
    )


def partition_tokens(spec: Spec, data: Any) -> list[int]:
    """Estimated input tokens of each row of one partition."""
    rows = to_rows(data)
    return input_tokens(render_all(Renderer(spec.prompt, rows, spec.system), rows.items))


def partition_length(data: Any) -> int:
    return len(data)


def _client(client: Any) -> Any:
    try:
        from distributed import get_client
    except ImportError:
        raise MissingDependencyError("distributed", "dask") from None
    if client is not None:
        return client
    try:
        return get_client()
    except ValueError:
        raise ConfigError(
            "engine='dask' needs a dask.distributed Client: start one with "
            "distributed.Client() (or pass client=)."
        ) from None


def _is_dask_collection(data: Any) -> bool:
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(data, (dd.DataFrame, dd.Series))


def _check_dask_template(spec: Spec, data: Any) -> None:
    """A template's fields checked against the dask collection's columns, before anything runs."""
    meta = data._meta
    columns = tuple(meta.columns) if hasattr(meta, "columns") else None
    Renderer(spec.prompt, Rows(meta.index, [], columns, getattr(meta, "name", None)), spec.system)


def _slices(n: int, parts: int) -> list[slice]:
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        out.append(slice(start, stop))
        start = stop
    return out


def map_dask(
    spec: Spec, data: Any, *, client: Any, partitions: int | None, dry_run: bool, progress: Any
) -> Any:
    """Run `spec` over `data` (pandas, list, or a dask DataFrame/Series) on the cluster."""
    if partitions is not None and (
        not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1
    ):
        raise ConfigError(f"partitions must be a whole number >= 1, not {partitions!r}.")
    if _is_dask_collection(data):
        _check_dask_template(spec, data)
        if partitions is not None:
            data = data.repartition(npartitions=partitions)
        return _run_collection(spec, data, _client(client), dry_run, progress)
    job = Job(spec, data)  # every prompt rendered and checked here, before the cluster sees it
    if dry_run:
        return job.estimate()
    spec.plan.config()  # no key: one error here, not one per row on the workers
    if spec.max_cost is not None:
        spec.priced_rates()
    client = _client(client)
    n = len(job.rows)
    parts = partitions or 2 * max(1, sum(client.nthreads().values()))
    slices = _slices(n, parts)
    pieces = [data.iloc[s] if hasattr(data, "iloc") else list(data[s]) for s in slices]
    futures = [
        client.submit(
            run_partition, spec, piece, _share(spec, len(piece), n), os.getpid(), pure=False
        )
        for piece in pieces
    ]
    return _collect(spec, futures, n, progress, client, [job.rows.index[s] for s in slices])


def _share(spec: Spec, rows: int, total: int) -> float | None:
    return None if spec.max_cost is None else spec.max_cost * rows / max(total, 1)


def _run_collection(spec: Spec, data: Any, client: Any, dry_run: bool, progress: Any) -> Any:
    from dask import delayed

    parts = data.to_delayed()
    if dry_run:
        tokens = client.gather(client.compute([delayed(partition_tokens)(spec, p) for p in parts]))
        return make_estimate(spec.rates(), [t for part in tokens for t in part], spec.output)
    spec.plan.config()
    if spec.max_cost is not None:
        spec.priced_rates()
    lengths = client.gather(client.compute([delayed(partition_length)(p) for p in parts]))
    total = sum(lengths)
    futures = client.compute(
        [
            delayed(run_partition, pure=False)(spec, part, _share(spec, length, total), os.getpid())
            for part, length in zip(parts, lengths, strict=True)
        ]
    )
    return _collect(spec, futures, total, progress, client)


def _collect(
    spec: Spec,
    futures: list[Any],
    total: int,
    progress: Any,
    client: Any,
    indexes: list[Any] | None = None,
) -> Any:
    """Results as partitions finish (progress, ledger), then the table in input order.

    `indexes` are the partitions' index labels when the caller knows them (pandas or list
    input); a dask collection's come back with its partitions.
    """
    from distributed import as_completed

    from ..ledger import ledger

    position = {f.key: i for i, f in enumerate(futures)}
    results: list[PartitionResult | None] = [None] * len(futures)
    tally = Tally(total)
    display = make_display(progress, total)
    notes: set[str] = set()
    try:
        for future in as_completed(futures):
            part: PartitionResult = future.result()
            results[position[future.key]] = part
            ledger().extend(part.ledger)
            tally.merge(part.tally)
            if part.note:
                notes.add(part.note)
            if display is not None:
                display.update(tally)
    except KeyboardInterrupt:
        client.cancel(futures)
        if display is not None:
            display.close(tally, "interrupted")
        partial = _frame(spec, results, indexes)
        raise BatchInterrupted(partial, tally.finished, total) from None
    if display is not None:
        display.close(tally, ", ".join(sorted(notes)) or None)
    return _frame(spec, results, indexes)


def _frame(spec: Spec, results: list[PartitionResult | None], indexes: list[Any] | None) -> Any:
    """The table of the partitions that finished, in input order."""
    import pandas as pd

    labels = [r and r.index for r in results] if indexes is None else indexes
    done = [(pd.Index(i), r) for i, r in zip(labels, results, strict=True) if r is not None]
    index = done[0][0].append([i for i, _ in done[1:]]) if done else pd.RangeIndex(0)
    rows = [row for _, r in done for row in r.outcomes]
    df = to_frame(index, rows, spec.schema, spec.plan.provider)
    df.attrs["batch_id"] = spec.batch_id
    return df
