"""Prices: user overrides, then $0 for local providers, then genai-prices' bundled table.

genai-prices is imported on the first priced request (it costs ~150 ms to import) and
never fetches anything: we use only its bundled data. Lookups are cached per model and
service tier: the tier the provider reports having served (OpenAI's `flex`, `priority`)
selects that tier's price where the table has one, else the standard price applies.
The `batch` tier (answers of a provider's Batch API) is priced from the table's batch
price where it has one; genai-prices has none today, so it is the standard price less
the providers' documented batch discount, `BATCH_DISCOUNT` (half off at OpenAI,
Anthropic and Gemini), applied to a `set_price` price too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from . import notices
from .errors import ConfigError
from .responses import Usage

PRICED, UNPRICED, LOCAL, CACHED = "priced", "unpriced", "local", "cached"
BATCH = "batch"
#: the share of the standard price a Batch API answer costs where the table has no batch price
BATCH_DISCOUNT = 0.5
#: priced, on token counts the server did not send (counted or estimated here)
ESTIMATED = "estimated"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None

    def cost(self, usage: Usage) -> float:
        cached = usage.cached_input_tokens if self.cached_input_per_mtok is not None else 0
        cached_rate = self.cached_input_per_mtok or 0.0
        return (
            (usage.input_tokens - cached) * self.input_per_mtok
            + cached * cached_rate
            + usage.output_tokens * self.output_per_mtok
        ) / 1_000_000


_overrides: dict[tuple[str | None, str], Price] = {}
_warned: set[tuple[str, str]] = set()


def set_price(
    model: str,
    *,
    input_per_mtok: float,
    output_per_mtok: float,
    cached_input_per_mtok: float | None = None,
    provider: str | None = None,
) -> None:
    """Price `model` (for every provider, or one) in USD per million tokens; beats the table."""
    for name, value in (("input_per_mtok", input_per_mtok), ("output_per_mtok", output_per_mtok)):
        if not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"set_price {name} must be a number of USD per million tokens, 0 or more, "
                f"not {value!r}."
            )
    _overrides[(provider, model)] = Price(input_per_mtok, output_per_mtok, cached_input_per_mtok)


def price_override(provider: str, model: str) -> Price | None:
    """The `set_price` price that applies to `model` of `provider`, if any."""
    return _overrides.get((provider, model)) or _overrides.get((None, model))


def clear_prices(model: str | None = None) -> None:
    """Forget every `set_price` override, or only those of `model`."""
    if model is None:
        _overrides.clear()
    else:
        for key in [k for k in _overrides if k[1] == model]:
            del _overrides[key]


def cost_for(
    provider: str,
    model: str | None,
    usage: Usage,
    *,
    local: bool = False,
    price_provider: str | None = None,
    service_tier: str | None = None,
) -> tuple[float | None, str]:
    """(cost in USD or None, cost_status) for one request's usage, at `service_tier`'s price."""
    if model is not None:
        override = price_override(provider, model)
        if override is not None:
            share = BATCH_DISCOUNT if service_tier == BATCH else 1.0
            return override.cost(usage) * share, PRICED
    if local:
        return 0.0, LOCAL
    cost, status = _table_cost(price_provider or provider, model, usage, service_tier)
    if (
        cost is not None
        and service_tier == BATCH
        and _no_batch_price(price_provider or provider, model)
    ):
        cost *= BATCH_DISCOUNT
    return cost, status


def _no_batch_price(provider_id: str, model: str | None) -> bool:
    """Whether the table prices the batch tier as the standard one (it has no batch price)."""
    return model is not None and _table_price(provider_id, model, BATCH) == _table_price(
        provider_id, model, None
    )


def _table_cost(
    provider: str, model: str | None, usage: Usage, service_tier: str | None
) -> tuple[float | None, str]:
    table = _table_price(provider, model, service_tier) if model else None
    if table is None:
        _warn_once(provider, model, "No price known for")
        return None, UNPRICED
    if (
        usage.cached_input_tokens > usage.input_tokens
        or min(usage.input_tokens, usage.output_tokens) < 0
    ):
        _warn_once(provider, model, f"Usage {usage} cannot be priced for")
        return None, UNPRICED
    if isinstance(table, Price):
        return table.cost(usage), PRICED
    if isinstance(table, _BelowTiers):
        if usage.input_tokens < table.first_tier:
            return table.linear.cost(usage), PRICED
        table = table.table
    try:
        return float(table.calc_price(_genai_usage(usage))["total_price"]), PRICED
    except ValueError:  # usage the table's decomposition rejects
        _warn_once(provider, model, f"Usage {usage} cannot be priced for")
        return None, UNPRICED


def _warn_once(provider: str, model: str | None, what: str) -> None:
    key = (provider, str(model))
    if key not in _warned:
        _warned.add(key)
        notices.warn(
            __name__,
            f"{what} model {model!r} of provider '{provider}': its cost is recorded as "
            "unpriced; set a price with llm.set_price().",
            stacklevel=4,
        )


@dataclass(frozen=True)
class _BelowTiers:
    """A price with context tiers: linear (the base rates) for a prompt under the first
    tier's start, which is nearly every prompt; genai-prices' own table above it."""

    linear: Price
    first_tier: int
    table: Any


@cache
def _table_price(provider_id: str, model: str, service_tier: str | None = None) -> Any:
    """The model's price at `service_tier`: a plain per-token `Price` when the table's price
    is linear in tokens (most models; ~1 us per request instead of ~150 us through
    genai-prices), `_BelowTiers` when it is linear up to a context tier, else genai-prices'
    own ModelPrice (per-request fees, ...)."""
    from genai_prices import Usage as GUsage
    from genai_prices import calc_price
    from genai_prices.types import TieredPrices

    context = {"service_tier": service_tier} if service_tier else None
    try:
        table = calc_price(
            GUsage(input_tokens=1), model, provider_id=provider_id, price_context=context
        ).model_price
    except LookupError:
        return None
    rates = [getattr(table, f, None) for f in ("input_mtok", "output_mtok", "cache_read_mtok")]
    if any(isinstance(r, TieredPrices) for r in rates):
        return _below_tiers(table, rates)
    if (
        not all(r is None or isinstance(r, (int, float, Decimal)) for r in rates)
        or rates[0] is None
    ):
        return table
    linear = Price(
        float(rates[0]), float(rates[1] or 0), None if rates[2] is None else float(rates[2])
    )
    # Probe past every context tier: a linear price gives the same answer as the table.
    probe = Usage(input_tokens=3_000_007, output_tokens=2_000_003, cached_input_tokens=1_000_001)
    try:
        expected = float(table.calc_price(_genai_usage(probe))["total_price"])
    except ValueError:
        return table
    return linear if math.isclose(linear.cost(probe), expected, rel_tol=1e-9) else table


def _below_tiers(table: Any, rates: list[Any]) -> Any:
    """`_BelowTiers` for a table whose token prices are tiered by prompt size (checked just
    under the first tier against genai-prices), else the table itself."""
    from genai_prices.types import TieredPrices

    bases = [r.base if isinstance(r, TieredPrices) else r for r in rates]
    if (
        not all(b is None or isinstance(b, (int, float, Decimal)) for b in bases)
        or bases[0] is None
    ):
        return table
    starts = [t.start for r in rates if isinstance(r, TieredPrices) for t in r.tiers]
    if not starts:
        return table
    first = min(starts)
    linear = Price(
        float(bases[0]), float(bases[1] or 0), None if bases[2] is None else float(bases[2])
    )
    probe = Usage(input_tokens=first - 1, output_tokens=2_000_003, cached_input_tokens=first // 3)
    try:
        expected = float(table.calc_price(_genai_usage(probe))["total_price"])
    except ValueError:
        return table
    if not math.isclose(linear.cost(probe), expected, rel_tol=1e-9):
        return table
    return _BelowTiers(linear, first, table)


def _genai_usage(usage: Usage) -> Any:
    from genai_prices import Usage as GUsage

    return GUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_input_tokens or None,
    )
