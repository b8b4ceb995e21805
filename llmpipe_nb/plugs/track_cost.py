"""TrackCost: price the usage of the answer and record it on the result and in metadata."""

from __future__ import annotations

import dataclasses

from .. import providers
from ..plug import Plug
from ..pricing import ESTIMATED, PRICED, cost_for
from ..request import Request


class TrackCost(Plug):
    """Sets `result.cost`, `result.cost_status` and metadata `cost_usd` / `cost_status`.

    An unknown model gives cost None with status "unpriced" and one warning per model; a
    price on token counts the server did not send has status "estimated".
    """

    def call(self, request: Request) -> Request:
        result = request.result
        usage = getattr(result, "usage", None)
        if usage is None or getattr(result, "cache_hit", False):
            return request
        provider = providers.get(request.provider)
        model = getattr(result, "model", None) or request.model
        cost, status = cost_for(
            request.provider,
            model,
            usage,
            local=provider.local,
            price_provider=provider.price_provider,
        )
        if status == PRICED and usage.estimated:
            status = ESTIMATED
        result = dataclasses.replace(result, cost=cost, cost_status=status)
        return request.evolve(
            result=result,
            metadata={**request.metadata, "cost_usd": cost, "cost_status": status},
        )
