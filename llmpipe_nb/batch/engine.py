"""The batch engine: many requests through one pipeline on one event loop, `concurrency` at a time.

`concurrency` workers take the next row from a shared position until none are left,
so at most `concurrency` requests are in flight (the bound a semaphore would give,
without a task per row). Rows finish in any order and land at their own position.
Whatever finished stays in `Batch.done` when the run is cancelled or stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from ..errors import BudgetExceededError
from ..plug import Plug
from ..request import Request
from ..rerun import arun


def usd(amount: float) -> str:
    """Dollars readable at any size: $12.3457, $0.004213."""
    return f"${amount:,.4f}" if abs(amount) >= 1 else f"${amount:.6f}"


@dataclass
class Tally:
    """Live counts of a running batch, read by the progress display."""

    total: int
    done: int = 0
    failed: int = 0
    cache_hits: int = 0
    spent_usd: float = 0.0
    started_at: float = field(default_factory=perf_counter)

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def add(self, request: Request) -> None:
        meta = request.metadata
        if request.state == "error":
            self.failed += 1
        else:
            self.done += 1
            if meta.get("cache_hit"):
                self.cache_hits += 1
        cost = meta.get("cost_usd")
        if cost:
            self.spent_usd += cost

    def merge(self, other: Tally) -> None:
        """Fold in the tally of a batch that ran elsewhere (a Dask partition)."""
        self.done += other.done
        self.failed += other.failed
        self.cache_hits += other.cache_hits
        self.spent_usd += other.spent_usd

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None until the first row finished."""
        finished = self.finished
        if not finished:
            return None
        elapsed = perf_counter() - self.started_at
        return elapsed / finished * (self.total - finished)


class Budget:
    """Stops sending before the spend could pass `max_cost`.

    A row is sent only when what was spent, plus the estimate of every row in flight,
    plus its own estimate, stays within the limit; otherwise it waits for rows in flight
    to settle at their real cost. With nothing left in flight and still no room, the
    batch stops. Estimates use the observed output length once rows have finished.
    The output price is one rate, or one per row when rows go to different models.
    """

    def __init__(
        self,
        max_cost: float,
        input_costs: Sequence[float],
        output_cost_per_token: float | Sequence[float],
        output_tokens: float,
        what: str = "batch",
    ) -> None:
        self.limit = float(max_cost)
        self.input_costs = input_costs
        self.per_output_token = output_cost_per_token
        self.what = what
        self.prior_output = output_tokens
        self.seen_output = 0
        self.seen_rows = 0
        self.spent = 0.0
        self.in_flight = 0.0
        self.rows_in_flight = 0
        self.stopped = False
        self._changed: asyncio.Condition | None = None

    def row_estimate(self, position: int) -> float:
        out = self.seen_output / self.seen_rows if self.seen_rows else self.prior_output
        rate = self.per_output_token
        if not isinstance(rate, (int, float)):
            rate = rate[position]
        return self.input_costs[position] + out * rate

    async def reserve(self, position: int) -> float | None:
        """The reserved estimate once the row fits; None when the batch has stopped."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            while not self.stopped:
                estimate = self.row_estimate(position)
                if self.spent + self.in_flight + estimate <= self.limit:
                    self.in_flight += estimate
                    self.rows_in_flight += 1
                    return estimate
                if not self.rows_in_flight:
                    self.stopped = True
                    self._changed.notify_all()
                    break
                await self._changed.wait()
        return None

    async def settle(self, reserved: float, request: Request) -> None:
        """Replace the row's reservation with what it really cost."""
        assert self._changed is not None
        async with self._changed:
            self.in_flight -= reserved
            self.rows_in_flight -= 1
            self.spent += request.metadata.get("cost_usd") or 0.0
            usage = getattr(request.result, "usage", None)
            if usage is not None and not request.metadata.get("cache_hit"):
                self.seen_output += usage.output_tokens
                self.seen_rows += 1
            self._changed.notify_all()

    def refusal(self) -> BudgetExceededError:
        return BudgetExceededError(
            f"Not sent: the {self.what} stopped before passing max_cost={usd(self.limit)} "
            f"(spent {usd(self.spent)}); raise max_cost and run again to send the rest."
        )


class Batch:
    """One run of `requests` through `pipeline`.

    `done[i]` is what `keep` makes of row i's finished Request (the Request itself by
    default), or None while the row has not finished; a row whose request is None is
    skipped (the caller fills its `done` entry). Keeping a small row instead of the
    Request matters: a finished Request holds its result, metadata and trace, and tens of
    thousands of them make every garbage collection pass slower.
    """

    def __init__(
        self,
        requests: Sequence[Request | None],
        pipeline: tuple[Plug, ...],
        concurrency: int,
        tally: Tally | None = None,
        budget: Budget | None = None,
        keep: Callable[[Request], Any] | None = None,
    ) -> None:
        self.requests = requests
        self.pipeline = pipeline
        self.concurrency = concurrency
        self.tally = tally if tally is not None else Tally(len(requests))
        self.budget = budget
        self.keep = keep
        self.done: list[Any] = [None] * len(requests)
        self._next = 0

    async def run(self) -> list[Any]:
        workers = min(self.concurrency, len(self.requests))
        await asyncio.gather(*(self._worker() for _ in range(workers)))
        return self.done

    async def _worker(self) -> None:
        requests, pipeline, budget, tally, done, keep = (
            self.requests,
            self.pipeline,
            self.budget,
            self.tally,
            self.done,
            self.keep,
        )
        while self._next < len(requests):
            position = self._next
            self._next += 1
            request = requests[position]
            if request is None:  # refused before sending; its row is already in `done`
                continue
            reserved = 0.0
            if budget is not None:
                admitted = await budget.reserve(position)
                if admitted is None:
                    return
                reserved = admitted
            finished = await arun(request, pipeline, trace=False)
            done[position] = finished if keep is None else keep(finished)
            tally.add(finished)
            if budget is not None:
                await budget.settle(reserved, finished)

    def unsent_error(self) -> BudgetExceededError | None:
        """The error recorded on rows that were never sent."""
        if self.budget is not None and self.budget.stopped:
            return self.budget.refusal()
        return None
