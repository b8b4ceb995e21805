"""What a batch will cost, before it is sent: prompt sizes times the price table.

Input tokens are estimated offline from the rendered prompts (see `tokens`); output
tokens cannot be known in advance, so they come from `expected_output_tokens`, else
the `max_tokens` option (an upper bound), else `DEFAULT_OUTPUT_TOKENS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import providers
from ..errors import ConfigError
from ..pricing import UNPRICED, cost_for
from ..responses import Usage
from ..tokens import estimate_message_tokens
from .engine import usd

DEFAULT_OUTPUT_TOKENS = 256
_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token for one provider and model; `None` rates when the model has no price."""

    provider: str
    model: str | None
    input: float | None
    output: float | None
    status: str

    @classmethod
    def lookup(cls, provider: str, model: str | None) -> Rates:
        p = providers.get(provider)
        model = model or p.default_model
        kw: dict[str, Any] = {"local": p.local, "price_provider": p.price_provider}
        cin, status = cost_for(provider, model, Usage(input_tokens=_MTOK), **kw)
        cout, _ = cost_for(provider, model, Usage(output_tokens=_MTOK), **kw)
        if cin is None or cout is None:
            return cls(provider, model, None, None, status)
        return cls(provider, model, cin / _MTOK, cout / _MTOK, status)

    @property
    def priced(self) -> bool:
        return self.input is not None


@dataclass(frozen=True, slots=True)
class Estimate:
    """Expected tokens and cost of a batch; `cost_usd` is None when the model has no price."""

    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    cost_status: str
    provider: str
    model: str | None
    output_tokens_per_row: float

    def __repr__(self) -> str:
        cost = (
            "unpriced (set one with llm.set_price)" if self.cost_usd is None else usd(self.cost_usd)
        )
        return (
            f"Estimate({self.rows} rows of {self.provider}/{self.model}: ~{self.input_tokens:,} input "
            f"+ ~{self.output_tokens:,} output tokens, {cost} [{self.cost_status}])"
        )


def output_prior(options: Mapping[str, Any], expected: float | None) -> float:
    """Expected output tokens per row."""
    if expected is not None:
        if not isinstance(expected, (int, float)) or isinstance(expected, bool) or expected < 0:
            raise ConfigError(f"expected_output_tokens must be a number >= 0, not {expected!r}.")
        return float(expected)
    limit = options.get("max_tokens") or options.get("max_completion_tokens")
    return float(limit) if isinstance(limit, int) else float(DEFAULT_OUTPUT_TOKENS)


def input_tokens(messages: Sequence[Sequence[Mapping[str, Any]] | Exception]) -> list[int]:
    """Per row; a row that is not sent (its error in place of messages) has none."""
    return [0 if isinstance(m, Exception) else estimate_message_tokens(m) for m in messages]


def make_estimate(rates: Rates, tokens_in: Sequence[int], per_row_out: float) -> Estimate:
    total_in = sum(tokens_in)
    total_out = round(per_row_out * len(tokens_in))
    if rates.input is None or rates.output is None:
        cost = None
        status = UNPRICED
    else:
        cost = total_in * rates.input + total_out * rates.output
        status = rates.status
    return Estimate(
        len(tokens_in), total_in, total_out, cost, status, rates.provider, rates.model, per_row_out
    )
