"""What a batch will cost, before it is sent: prompt sizes times the price table.

Input tokens are estimated offline from the rendered prompts (see `tokens`). Output
tokens cannot be known in advance: they come from `expected_output_tokens`, else a pilot
of a few rows sent for real, else the size of the schema's JSON, else `max_tokens` (an
upper bound), else `DEFAULT_OUTPUT_TOKENS`; `max_tokens` and the schema also give the
ceiling. The estimate says which one it used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import providers
from ..errors import ConfigError
from ..pricing import UNPRICED, cost_for
from ..responses import Usage
from ..structured import Schema
from ..tokens import estimate_message_tokens
from .engine import usd
from .frame import COLUMNS, Outcome

DEFAULT_OUTPUT_TOKENS = 256
_MTOK = 1_000_000
_OUTPUT, _COST, _ERROR = (COLUMNS.index(c) for c in ("output_tokens", "cost_usd", "error"))


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token for one provider and model; `None` rates when the model has no price."""

    provider: str
    model: str | None
    input: float | None
    output: float | None
    status: str

    @classmethod
    def lookup(cls, provider: str, model: str | None, service_tier: str | None = None) -> Rates:
        p = providers.get(provider)
        model = model or p.default_model
        kw: dict[str, Any] = {
            "local": p.local,
            "price_provider": p.price_provider,
            "service_tier": service_tier,
        }
        cin, status = cost_for(provider, model, Usage(input_tokens=_MTOK), **kw)
        cout, _ = cost_for(provider, model, Usage(output_tokens=_MTOK), **kw)
        if cin is None or cout is None:
            return cls(provider, model, None, None, status)
        return cls(provider, model, cin / _MTOK, cout / _MTOK, status)

    @property
    def priced(self) -> bool:
        return self.input is not None


@dataclass(frozen=True, slots=True)
class OutputPrior:
    """Output tokens a row is expected to take, the most it can take, and why."""

    expected: float
    ceiling: float | None
    basis: str  # "expected_output_tokens" | "pilot" | "schema" | "max_tokens" | "default"
    assumption: str


@dataclass(frozen=True, slots=True)
class Estimate:
    """Expected tokens and cost of a batch, and the most it can cost.

    `cost_usd` is the expected cost (None when the model has no price); `ceiling_cost_usd`
    the most, when `max_tokens` or the schema bounds every answer (else None).
    `output_basis` names what the output length came from and `assumption` says it in
    words. With `pilot=` some rows were sent for real: `pilot_rows`, `pilot_cost_usd`.
    With `engine="batch"` the cost is at the Batch API's price and `standard_cost_usd` is
    what the same rows cost sent one by one.
    """

    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    cost_status: str
    provider: str
    model: str | None
    output_tokens_per_row: float
    output_basis: str = "default"
    assumption: str = ""
    ceiling_output_tokens: int | None = None
    ceiling_cost_usd: float | None = None
    pilot_rows: int = 0
    pilot_cost_usd: float = 0.0
    engine: str = "local"
    standard_cost_usd: float | None = None

    def __repr__(self) -> str:
        cost = (
            "unpriced (set one with llm.set_price)" if self.cost_usd is None else usd(self.cost_usd)
        )
        ceiling = (
            "no ceiling"
            if self.ceiling_cost_usd is None
            else f"at most {usd(self.ceiling_cost_usd)}"
        )
        pilot = f"; the pilot spent {usd(self.pilot_cost_usd)}" if self.pilot_rows else ""
        return (
            f"Estimate({self.rows} rows of {self.provider}/{self.model}: ~{self.input_tokens:,} input "
            f"+ ~{self.output_tokens:,} output tokens, {cost}{self._beside()} [{self.cost_status}], "
            f"{ceiling}; output: {self.assumption}{pilot})"
        )

    def _beside(self) -> str:
        """` at the batch price (sent one by one: $X)`, for a batch estimate."""
        if self.engine != "batch":
            return ""
        normal = "unpriced" if self.standard_cost_usd is None else usd(self.standard_cost_usd)
        return f" at the batch price (sent one by one: {normal})"

    def _repr_html_(self) -> str:
        from ..views import table_view

        def money(value: float | None) -> str:
            return "—" if value is None else usd(value)

        def count(value: float | None) -> str:
            return "—" if value is None else f"{value:,}"

        rows: list[list[Any]] = [
            ["input tokens", count(self.input_tokens), count(self.input_tokens)],
            ["output tokens", count(self.output_tokens), count(self.ceiling_output_tokens)],
            ["cost", money(self.cost_usd), money(self.ceiling_cost_usd)],
            ["output from", self.assumption, ""],
        ]
        if self.engine == "batch":
            rows[2][0] = "cost at the batch price"
            rows.insert(3, ["cost sent one by one", money(self.standard_cost_usd), ""])
        if self.pilot_rows:
            rows.append(["pilot", f"{self.pilot_rows} rows sent", money(self.pilot_cost_usd)])
        title = f"Estimate: {self.rows} rows of {self.provider}/{self.model} [{self.cost_status}]"
        return table_view(title, ["", "expected", "ceiling"], rows).html


def output_prior(
    options: Mapping[str, Any], expected: float | None, schema: Schema | None = None
) -> OutputPrior:
    """Expected and most output tokens per row: from `expected_output_tokens`, else the
    schema's JSON size, else `max_tokens`, else a default guess; the ceiling comes from
    `max_tokens` and the schema."""
    limit = options.get("max_tokens") or options.get("max_completion_tokens")
    limit = float(limit) if isinstance(limit, int) else None
    typical, most = schema.answer_tokens() if schema is not None else (None, None)
    bounds = [b for b in (limit, most) if b is not None]
    ceiling = float(min(bounds)) if bounds else None
    if expected is not None:
        if not isinstance(expected, (int, float)) or isinstance(expected, bool) or expected < 0:
            raise ConfigError(f"expected_output_tokens must be a number >= 0, not {expected!r}.")
        return OutputPrior(
            float(expected),
            ceiling,
            "expected_output_tokens",
            f"expected_output_tokens={expected:g}",
        )
    if typical is not None:
        per_row = float(typical) if limit is None else min(float(typical), limit)
        return OutputPrior(
            per_row, ceiling, "schema", f"~{per_row:g} tokens a row, the size of the schema's JSON"
        )
    if limit is not None:
        return OutputPrior(
            limit,
            ceiling,
            "max_tokens",
            f"max_tokens={limit:g}, every answer assumed to use it all",
        )
    return OutputPrior(
        float(DEFAULT_OUTPUT_TOKENS),
        None,
        "default",
        f"a guess of {DEFAULT_OUTPUT_TOKENS} tokens a row; pass max_tokens, a schema, "
        "expected_output_tokens or pilot=5 for a better one",
    )


def pilot_prior(outcomes: Sequence[Outcome], prior: OutputPrior) -> tuple[OutputPrior, float]:
    """The output length the pilot rows showed, and what they cost; raises the first row's
    error when none of them was answered."""
    answered = [o for o in outcomes if o[_ERROR] is None and o[_OUTPUT] is not None]
    spent = sum(o[_COST] or 0.0 for o in outcomes)
    if not answered:
        error = next(o[_ERROR] for o in outcomes if o[_ERROR] is not None)
        raise error
    mean = sum(o[_OUTPUT] for o in answered) / len(answered)
    assumption = f"~{mean:.3g} tokens a row, the mean of {len(answered)} pilot rows sent for real"
    return OutputPrior(mean, prior.ceiling, "pilot", assumption), spent


def input_tokens(messages: Sequence[Sequence[Mapping[str, Any]] | Exception]) -> list[int]:
    """Per row; a row that is not sent (its error in place of messages) has none."""
    return [0 if isinstance(m, Exception) else estimate_message_tokens(m) for m in messages]


def make_estimate(
    rates: Rates,
    tokens_in: Sequence[int],
    prior: OutputPrior,
    pilot_rows: int = 0,
    pilot_cost: float = 0.0,
    engine: str = "local",
    standard: Estimate | None = None,
) -> Estimate:
    """The estimate at `rates`; for engine "batch", `standard` is the one at the normal price."""
    rows = len(tokens_in)
    total_in = sum(tokens_in)
    total_out = round(prior.expected * rows)
    most_out = None if prior.ceiling is None else round(prior.ceiling * rows)
    if rates.input is None or rates.output is None:
        cost = ceiling = None
        status = UNPRICED
    else:
        cost = total_in * rates.input + total_out * rates.output
        ceiling = None if most_out is None else total_in * rates.input + most_out * rates.output
        status = rates.status
    return Estimate(
        rows,
        total_in,
        total_out,
        cost,
        status,
        rates.provider,
        rates.model,
        prior.expected,
        prior.basis,
        prior.assumption,
        most_out,
        ceiling,
        pilot_rows,
        pilot_cost,
        engine,
        None if standard is None else standard.cost_usd,
    )
