"""TrackCost: price the usage of the answer and record it on the result and in metadata."""

from __future__ import annotations

import dataclasses

from .. import lifecycle, registry
from ..plug import Plug
from ..pricing import ESTIMATED, PRICED, cost_for
from ..request import Request


class TrackCost(Plug):
    """Sets `result.cost`, `result.cost_status` and metadata `cost_usd` / `cost_status`.

    An unknown model gives cost None with status "unpriced" and one warning per model. The
    price is that of the service tier the provider reports (metadata `service_tier`). A
    retired model the provider re-routes is priced as the model that answered, which the
    result then names. A price on token counts the server did not send has status
    "estimated".
    """

    def call(self, request: Request) -> Request:
        result = request.result
        usage = getattr(result, "usage", None)
        if usage is None or getattr(result, "cache_hit", False):
            return request
        provider = registry.get(request.provider)
        answered = getattr(result, "model", None) or request.model
        model = lifecycle.answered_by(request.provider, request.model, answered)
        cost, status = cost_for(
            request.provider,
            model,
            usage,
            local=provider.local,
            price_provider=provider.price_provider,
            service_tier=request.metadata.get("service_tier"),
        )
        if status == PRICED and usage.estimated:
            status = ESTIMATED
        changes = {"cost": cost, "cost_status": status}
        if model != answered:
            changes["model"] = model
        result = dataclasses.replace(result, **changes)
        return request.evolve(
            result=result,
            metadata={**request.metadata, "cost_usd": cost, "cost_status": status},
        )
