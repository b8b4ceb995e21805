"""Embeddings and the model list: request bodies and answers (pure functions of data)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ResponseFormatError
from ...responses import EmbeddingResponse, ModelInfo, ValidationResult
from .._messages import usage_of

#: embeddings options sent as they are
EMBEDDING_OPTIONS = ("dimensions", "user")


def embeddings_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of `POST /embeddings`."""
    body: dict[str, Any] = {"model": options.get("model"), "input": [str(text) for text in inputs]}
    body["encoding_format"] = "float"
    for key in EMBEDDING_OPTIONS:
        if options.get(key) is not None:
            body[key] = options[key]
    return body | dict(options.get("extra_body") or {})


def parse_embeddings(body: Any, *, provider: str) -> EmbeddingResponse:
    """Vectors in input order, whether sent as floats or as base64 little-endian float32."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise ResponseFormatError(
            f"{provider} answered the embeddings call without 'data'.", provider=provider
        )
    vectors = []
    for item in sorted(data, key=lambda d: d.get("index", 0)):
        vector = item["embedding"]
        if isinstance(vector, str):
            raw = base64.b64decode(vector)
            vector = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        vectors.append(vector)
    usage = body.get("usage") or {}
    return EmbeddingResponse(
        embeddings=vectors,
        model=body.get("model"),
        provider=provider,
        usage=usage_of(usage.get("prompt_tokens")),
        raw=body,
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise ResponseFormatError(
            f"{provider} answered the model list without 'data'.", provider=provider
        )
    return [ModelInfo(m["id"], provider, owned_by=m.get("owned_by"), raw=m) for m in data]


def validation(provider: str, count: int) -> ValidationResult:
    return ValidationResult(
        True,
        provider,
        f"{provider} accepted the configuration; {count} models are available.",
        count,
    )
