"""Vertex AI's own answers: `:predict` embeddings and the publisher model list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ResponseFormatError
from ...responses import EmbeddingResponse, ModelInfo, Usage


def parse_predictions(body: Any, *, provider: str, model: str | None) -> EmbeddingResponse:
    """Vectors in input order from one `:predict` answer, or the list of one per input."""
    bodies = body if isinstance(body, list) else [body]
    vectors, tokens = [], 0
    for answer in bodies:
        predictions = answer.get("predictions") if isinstance(answer, Mapping) else None
        if not isinstance(predictions, list):
            raise ResponseFormatError(
                f"{provider} answered the embeddings call without 'predictions'.",
                provider=provider,
            )
        for prediction in predictions:
            embeddings = prediction.get("embeddings") or {}
            vectors.append(embeddings.get("values") or [])
            tokens += int((embeddings.get("statistics") or {}).get("token_count") or 0)
    return EmbeddingResponse(
        embeddings=vectors,
        model=model,
        provider=provider,
        usage=Usage(input_tokens=tokens),
        raw=body,
    )


def parse_publisher_models(body: Any, *, provider: str) -> list[ModelInfo]:
    """`publisherModels` as ModelInfos, named by their model id."""
    models = body.get("publisherModels") if isinstance(body, Mapping) else None
    if not isinstance(models, list):
        raise ResponseFormatError(
            f"{provider} answered the model list without 'publisherModels'.", provider=provider
        )
    return [ModelInfo(str(m.get("name", "")).rsplit("/", 1)[-1], provider, raw=m) for m in models]
