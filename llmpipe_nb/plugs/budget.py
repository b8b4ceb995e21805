"""Budget: stop a request before it is sent once the ledger's spend reaches or would pass a limit.

The spend is what the ledger of this process recorded (`llm.ledger().spent(...)`), or
what a `spent(provider=, model=, tag=)` function you pass returns (e.g. a persisted
ledger's). With `estimate=True` the request's own likely cost counts too: its prompt
tokens (the offline estimate) plus its `max_tokens`, priced like TrackCost would.

Limits in USD: `limit` overall, and `per_provider`, `per_model`, `per_tag` as
`{name: usd}`. Past a limit, `on_exceed="raise"` fails with BudgetExceededError and
`"halt"` stops the run without error (no result); nothing is sent either way. A per_*
table none of whose names fits a request warns once (a misspelled model or tag would
otherwise limit nothing, silently).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .. import notices, registry
from ..errors import BudgetExceededError, ConfigError
from ..plug import Plug
from ..pricing import cost_for
from ..request import Request
from ..responses import Usage
from ..tagging import active_tags, merge
from .rate_limiter import request_tokens

log = logging.getLogger(__name__)


def ledger_spent(
    *, provider: str | None = None, model: str | None = None, tag: str | None = None
) -> float:
    """USD the process ledger has recorded, overall or for one provider, model or tag."""
    from ..ledger import ledger

    return ledger().spent(provider=provider, model=model, tag=tag)


_warned: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()


def _warn_unmatched(label: str, table: Mapping[str, float], values: tuple[str, ...]) -> None:
    """Say once that a per_* table limits nothing for such requests: often a misspelled key."""
    key = (label, tuple(map(str, table)), values)
    if key in _warned:
        return
    _warned.add(key)
    names = ", ".join(repr(k) for k in table)
    if not values:
        what = f"this request has no {label}"
    else:
        what = f"this request's {label} is {', '.join(repr(v) for v in values)}"
    hint = ""
    for value in values:
        close = difflib.get_close_matches(value, [str(k) for k in table], n=1)
        if close:
            hint = f" (did you mean {value!r} instead of {close[0]!r}?)"
            break
    notices.warn(
        __name__,
        f"Budget per_{label} limits {names}, but {what}, so none of those limits applies "
        f"to it{hint}.",
        stacklevel=2,
    )


class Budget(Plug):
    """Refuses requests once a spending limit (overall, per provider, model or tag) is reached."""

    def __init__(
        self,
        limit: float | None = None,
        per_provider: Mapping[str, float] | None = None,
        per_model: Mapping[str, float] | None = None,
        per_tag: Mapping[str, float] | None = None,
        on_exceed: Literal["raise", "halt"] = "raise",
        estimate: bool = True,
        spent: Callable[..., float] | None = None,
    ) -> None:
        limits = [("limit", limit)] + [
            (f"{name}[{key!r}]", value)
            for name, table in (
                ("per_provider", per_provider),
                ("per_model", per_model),
                ("per_tag", per_tag),
            )
            for key, value in (table or {}).items()
        ]
        if all(value is None for _, value in limits):
            raise ConfigError(
                "Plug Budget needs a limit: pass limit=, per_provider=, per_model= or per_tag=."
            )
        for name, value in limits:
            if value is not None and (
                not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0
            ):
                raise ConfigError(
                    f"Plug Budget option '{name}' must be a number of USD, 0 or more, "
                    f"not {value!r}."
                )
        self.limit = limit
        self.per_provider = dict(per_provider or {})
        self.per_model = dict(per_model or {})
        self.per_tag = dict(per_tag or {})
        self.on_exceed = on_exceed
        self.estimate = estimate
        self.spent = spent

    def call(self, request: Request) -> Request:
        expected = self._expected_cost(request) if self.estimate else 0.0
        for scope, limit, filters in self._limits(request):
            spent = float((self.spent or ledger_spent)(**filters))
            if spent >= limit or spent + expected > limit:
                return self._exceeded(request, scope, limit, spent, expected)
        return request.put_metadata("budget_estimate_usd", expected)

    def _limits(self, request: Request) -> list[tuple[str, float, dict[str, Any]]]:
        checks: list[tuple[str, float, dict[str, Any]]] = []
        if self.limit is not None:
            checks.append(("overall", self.limit, {}))
        model = request.model
        tags = merge(tuple(request.metadata.get("tags", ())), active_tags())
        for label, table, values in (
            ("provider", self.per_provider, (request.provider,)),
            ("model", self.per_model, () if model is None else (model,)),
            ("tag", self.per_tag, tags),
        ):
            matched = [v for v in values if v in table]
            if table and not matched:
                _warn_unmatched(label, table, values)
            checks.extend((f"{label} '{v}'", table[v], {label: v}) for v in matched)
        return checks

    def _expected_cost(self, request: Request) -> float:
        provider = registry.get(request.provider)
        prompt = request_tokens(request)
        out = request.options.get("max_tokens") or request.options.get("max_completion_tokens")
        out = out if isinstance(out, int) else 0
        usage = Usage(input_tokens=prompt - out, output_tokens=out)
        cost, _ = cost_for(
            request.provider,
            request.model,
            usage,
            local=provider.local,
            price_provider=provider.price_provider,
        )
        return cost or 0.0

    def _exceeded(
        self, request: Request, scope: str, limit: float, spent: float, expected: float
    ) -> Request:
        facts = {"scope": scope, "limit_usd": limit, "spent_usd": spent, "estimate_usd": expected}
        why = f"The budget for {scope} is ${limit:.4f} and ${spent:.4f} is spent" + (
            f" (this request: about ${expected:.4f})" if expected else ""
        )
        log.info("%s to %s was not sent: %s.", request.id, request.provider, why)
        request = request.put_metadata("budget_exceeded", facts)
        if self.on_exceed == "halt":
            return request.halt(f"budget for {scope} reached")
        error = BudgetExceededError(
            f"{why}, so the request was not sent: raise the limit or start a new budget."
        )
        return request.add_error(error, terminal=True, plug=self.name)
