"""Running a comparison: every cell streamed through its model's pipeline, at most
`concurrency` requests in flight per provider, all providers at once, on one event loop.

Each cell is an ordinary request through the batch plan of its column (cache, retry,
rate limiter, circuit breaker, cost, the ledger and its tags). Cells start in grid
order, so the first rows fill first; the chunks land in the cell as they arrive.
With `max_cost`, the batch's budget admits a cell only while the spend, the cells in
flight and its own estimate fit under the limit; the others are not sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..batch.engine import Budget
from ..batch.estimate import Rates, input_tokens
from ..batch.plan import Plan
from ..batch.rows import Rendered
from ..errors import ConfigError, PipelineError
from ..request import Request
from ..rerun import astream
from ..responses import StreamChunk
from ..structured import Schema
from .cells import Cell


class Run:
    """The cells still to send and how: one plan per column, the messages per cell."""

    def __init__(
        self,
        cells: Sequence[Cell],
        plans: Sequence[Plan],
        messages: Sequence[Rendered],
        concurrency: int,
        schema: Schema | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.cells = cells
        self.plans = plans
        self.messages = messages
        self.concurrency = concurrency
        self.schema = schema
        self.budget = budget

    async def run(self) -> None:
        limits = {p.provider: asyncio.Semaphore(self.concurrency) for p in self.plans}
        await asyncio.gather(*(self._send(i, limits) for i in range(len(self.cells))))

    async def _send(self, position: int, limits: dict[str, asyncio.Semaphore]) -> None:
        cell = self.cells[position]
        messages = self.messages[position]
        if isinstance(messages, ConfigError):  # an empty template field: not sent
            cell.refuse(messages)
            return
        plan = self.plans[cell.column]
        async with limits[plan.provider]:
            reserved = 0.0
            if self.budget is not None:
                admitted = await self.budget.reserve(position)
                if admitted is None:
                    cell.refuse(self.budget.refusal())
                    return
                reserved = admitted
            cell.start()
            done = await self._stream(cell, plan.request(messages), plan)
            if self.budget is not None:
                await self.budget.settle(reserved, done)

    async def _stream(self, cell: Cell, request: Request, plan: Plan) -> Request:
        done = request
        async for item in astream(request, plan.pipeline(), trace=False):
            if isinstance(item, StreamChunk):
                cell.add(item.content)
            else:
                done = item
        cell.finish(done, self.schema, plan.provider)
        return done

    def interrupt(self) -> None:
        """Mark every cell that had not finished when the run was stopped."""
        for cell in self.cells:
            if not cell.finished:
                cell.refuse(
                    PipelineError(
                        "Not finished: the comparison was interrupted; run it again "
                        "(with cache=True, only the missing answers are sent)."
                    ),
                    "interrupted",
                )


def budget_for(
    max_cost: float,
    cells: Sequence[Cell],
    plans: Sequence[Plan],
    messages: Sequence[Rendered],
    per_cell_out: float,
) -> Budget:
    """The spending limit over every cell, each priced at its own model's rates; ConfigError
    names a model without a price (it could not be limited)."""
    rates = []
    for plan in plans:
        rate = Rates.lookup(plan.provider, plan.options.get("model"))
        if rate.input is None or rate.output is None:
            raise ConfigError(
                f"max_cost needs a price for model {rate.model!r} of '{rate.provider}': "
                "set one with llm.set_price()."
            )
        rates.append((rate.input, rate.output))
    tokens = input_tokens(messages)
    input_costs = [t * rates[c.column][0] for t, c in zip(tokens, cells, strict=True)]
    output_rates = [rates[c.column][1] for c in cells]
    return Budget(max_cost, input_costs, output_rates, per_cell_out, what="comparison")
