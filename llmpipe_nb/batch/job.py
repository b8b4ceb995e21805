"""A batch call made concrete: the `Spec` (everything but the data), the `Job` over some
rows, and `BatchInterrupted`, which either engine raises with the rows that finished.

The spec is plain data, so the Dask engine sends it to every worker, where a Job
over the worker's partition runs exactly as a local Job over the whole input does.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .. import providers
from ..api import default_provider
from ..errors import ConfigError
from ..observability import trace_carrier
from ..request import Request
from ..structured import Schema
from ..tagging import active_tags, check_tags, merge
from .engine import Batch, Budget, Tally
from .estimate import Estimate, OutputPrior, Rates, input_tokens, make_estimate, output_prior
from .frame import Outcome, interrupted, outcome, to_frame, unsent
from .plan import Plan
from .rows import Prompt, Renderer, Rows, render_all, to_rows

DEFAULT_CONCURRENCY = 8


class BatchInterrupted(KeyboardInterrupt):
    """The batch was interrupted; `partial` is the result table with the rows that finished."""

    def __init__(self, partial: Any, finished: int, total: int) -> None:
        self.partial = partial
        super().__init__(
            f"The batch was interrupted after {finished} of {total} rows; the finished rows are "
            "in this exception's .partial, and with the cache on a rerun sends only the rest."
        )


def check_limits(concurrency: Any, max_cost: Any) -> None:
    """ConfigError for a concurrency that is not a whole number >= 1 or a negative max_cost."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number >= 1, not {concurrency!r}.")
    if max_cost is not None and (
        not isinstance(max_cost, (int, float)) or isinstance(max_cost, bool) or max_cost < 0
    ):
        raise ConfigError(f"max_cost must be a number of US dollars >= 0, not {max_cost!r}.")


@dataclass(frozen=True)
class Spec:
    """What to send for each row and under which limits; picklable."""

    prompt: Prompt
    system: str | None
    plan: Plan
    schema: Schema | None
    concurrency: int
    max_cost: float | None
    output: OutputPrior
    batch_id: str
    #: the caller's trace context as W3C headers, for the spans of rows run on Dask workers
    trace_context: dict[str, str] | None = None

    @classmethod
    def make(
        cls,
        prompt: Prompt,
        provider: str | None,
        model: str | None,
        *,
        system: str | None = None,
        schema: Any = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_cost: float | None = None,
        expected_output_tokens: float | None = None,
        tags: Iterable[str] = (),
        features: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Spec:
        """Check every argument; anything wrong raises ConfigError before a row is read."""
        check_limits(concurrency, max_cost)
        options = dict(options or {})
        parsed = None if schema is None else Schema.of(schema)
        if parsed is not None:  # asked through the StructuredOutput plug, like any chat
            options["schema"] = schema
        if model is not None:
            options["model"] = model
        batch_id = f"batch-{uuid.uuid4().hex[:12]}"
        # the enclosing llm.tag() blocks, captured here: rows may finish on another thread
        tag_list = (tags,) if isinstance(tags, str) else check_tags(tags)
        plan = Plan.make(
            provider or default_provider(),
            options,
            merge((*tag_list, *active_tags()), (f"batch:{batch_id}",)),
            **(features or {}),
        )
        output = output_prior(options, expected_output_tokens, parsed)
        concurrency = _within_limit(plan.provider, concurrency)
        carried = trace_carrier()  # rows on Dask workers join the caller's trace
        return cls(prompt, system, plan, parsed, concurrency, max_cost, output, batch_id, carried)

    @property
    def per_row_out(self) -> float:
        """Expected output tokens per row."""
        return self.output.expected

    def rates(self) -> Rates:
        return Rates.lookup(self.plan.provider, self.plan.options.get("model"))

    def priced_rates(self) -> Rates:
        """The rates, or ConfigError when max_cost is set for a model without a price."""
        rates = self.rates()
        if not rates.priced:
            raise ConfigError(
                f"max_cost needs a price for model {rates.model!r} of '{rates.provider}': "
                "set one with llm.set_price()."
            )
        return rates


def _within_limit(provider: str, concurrency: int) -> int:
    """The concurrency the provider can take, saying so when it is less than asked."""
    limit = providers.get(provider).max_concurrency
    if limit is None or concurrency <= limit:
        return concurrency
    warnings.warn(
        f"Provider '{provider}' runs {limit} request{'s' if limit > 1 else ''} at a time "
        f"per loaded model, so this batch runs with concurrency={limit}, not {concurrency}.",
        stacklevel=4,
    )
    return limit


class Job:
    """The spec over one set of rows: prompts rendered and checked, then run as a Batch."""

    def __init__(self, spec: Spec, data: Any, max_cost: float | None = None) -> None:
        self.spec = spec
        self.rows: Rows = to_rows(data)
        self.messages = render_all(Renderer(spec.prompt, self.rows, spec.system), self.rows.items)
        self.max_cost = spec.max_cost if max_cost is None else max_cost
        self.tally = Tally(len(self.rows))
        self.batch: Batch | None = None

    def estimate(
        self, output: OutputPrior | None = None, pilot_rows: int = 0, pilot_cost: float = 0.0
    ) -> Estimate:
        return make_estimate(
            self.spec.rates(),
            input_tokens(self.messages),
            output or self.spec.output,
            pilot_rows,
            pilot_cost,
        )

    def pilot(self, rows: int) -> Batch:
        """The first `rows` rows that can be sent, as a Batch of their own (MissingKeyError
        here means nothing was sent)."""
        plan = self.spec.plan
        plan.config()
        sendable = [m for m in self.messages if not isinstance(m, ConfigError)][:rows]
        requests = [plan.request(m) for m in sendable]
        return Batch(requests, plan.pipeline(), self.spec.concurrency, keep=outcome)

    def prepare(self, keep: Callable[[Request], Outcome] = outcome) -> Batch:
        """The Batch to run, keeping `keep(request)` per row; ConfigError here (no key, or
        max_cost for an unpriced model) means nothing was sent."""
        spec = self.spec
        spec.plan.config()
        budget = None
        if self.max_cost is not None:
            rates = spec.priced_rates()
            assert rates.input is not None and rates.output is not None
            costs = [t * rates.input for t in input_tokens(self.messages)]
            budget = Budget(self.max_cost, costs, rates.output, spec.per_row_out)
        plan = spec.plan
        requests = [None if isinstance(m, ConfigError) else plan.request(m) for m in self.messages]
        self.batch = Batch(requests, plan.pipeline(), spec.concurrency, self.tally, budget, keep)
        for position, m in enumerate(self.messages):
            if isinstance(m, ConfigError):  # an empty field: not sent, fails on its own
                self.batch.done[position] = unsent(m)
                self.tally.failed += 1
        return self.batch

    def outcomes(self, cancelled: bool = False) -> list[Outcome]:
        batch = self.batch
        assert batch is not None, "prepare() first"
        missing = unsent(interrupted() if cancelled else batch.unsent_error())
        return [missing if row is None else row for row in batch.done]

    def frame(self, cancelled: bool = False) -> Any:
        df = to_frame(
            self.rows.index, self.outcomes(cancelled), self.spec.schema, self.spec.plan.provider
        )
        df.attrs["batch_id"] = self.spec.batch_id
        return df

    def note(self) -> str | None:
        """Why the batch stopped early, for the progress display."""
        batch = self.batch
        if batch is not None and batch.budget is not None and batch.budget.stopped:
            return "stopped at max_cost"
        return None
