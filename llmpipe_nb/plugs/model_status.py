"""ModelStatus: give each listed model its lifecycle status, retirement date and replacement."""

from __future__ import annotations

import dataclasses

from .. import lifecycle
from ..plug import Plug
from ..request import Request
from ..responses import ModelInfo


class ModelStatus(Plug):
    """Fills `status`, `retires` and `replacement` of every `ModelInfo` in a model list.

    The provider's own lifecycle fields win (OpenAI `shutdown_date`, Anthropic `lifecycle`
    and `retires_at`); the bundled lifecycle table fills the rest and names replacements.
    """

    def call(self, request: Request) -> Request:
        models = request.result
        if not isinstance(models, list):
            return request
        return request.put_result([_annotated(m) for m in models])


def _annotated(model: object) -> object:
    if not isinstance(model, ModelInfo):
        return model
    status, retires = lifecycle.status_of(model.provider, model.id, model.raw)
    row = lifecycle.lookup(model.provider, model.id)
    replacement = row.replacement if row is not None else None
    return dataclasses.replace(model, status=status, retires=retires, replacement=replacement)
