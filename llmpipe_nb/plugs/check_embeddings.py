"""CheckEmbeddings: one flat vector per input, all of one dimension, or a clear error.

Some servers answer an embeddings call with one vector per *token* (llama.cpp serving a
chat model without pooling): taken as they are, they look like vectors of odd lengths.
This step checks the shape of every answer; a token-level answer is pooled when the call
asked for it (`pooling="mean"`, `"last"` or `"cls"`) and refused otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from numbers import Real
from typing import Any

from ..errors import ResponseFormatError
from ..plug import Plug
from ..request import Request
from ..responses import EmbeddingResponse

POOLINGS = ("mean", "last", "cls")


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, Real) and not isinstance(x, bool) for x in value)
    )


def _is_token_level(value: Any) -> bool:
    """A list of vectors of one length: one per token of the input."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(_is_vector(v) for v in value)
        and len({len(v) for v in value}) == 1
    )


def pool(tokens: Sequence[Sequence[float]], how: str) -> list[float]:
    """One vector from token vectors: their mean, the last one, or the first (CLS) one."""
    if how == "last":
        return list(tokens[-1])
    if how == "cls":
        return list(tokens[0])
    count = len(tokens)
    return [sum(column) / count for column in zip(*tokens, strict=True)]


def _describe(value: Any) -> str:
    if _is_token_level(value):
        return f"{len(value)} token vectors of {len(value[0])} numbers"
    if isinstance(value, list):
        return f"a list of {len(value)} items that are not all numbers"
    return f"a {type(value).__name__}"


def checked_vectors(
    vectors: Sequence[Any], inputs: int, provider: str, pooling: str | None
) -> list[list[float]]:
    """The vectors of an embeddings answer, pooled where asked; ResponseFormatError otherwise."""
    if len(vectors) != inputs:
        raise ResponseFormatError(
            f"{provider} sent {len(vectors)} embeddings for {inputs} inputs: "
            "check the server's batch limit and send fewer inputs per call.",
            provider=provider,
        )
    out = []
    for index, value in enumerate(vectors):
        if _is_vector(value):
            out.append(value)
        elif _is_token_level(value) and pooling in POOLINGS:
            out.append(pool(value, pooling))
        elif _is_token_level(value):
            raise ResponseFormatError(
                f"{provider} sent token-level embeddings ({_describe(value)} for input "
                f"{index}) instead of one vector per input: pass pooling='mean' (or 'last', "
                "'cls') to pool them here, or start the server with pooled embeddings "
                "(llama.cpp: --pooling mean).",
                provider=provider,
            )
        else:
            raise ResponseFormatError(
                f"{provider} sent {_describe(value)} as the embedding of input {index}, not a "
                "list of numbers: check that the model is an embedding model.",
                provider=provider,
            )
    dims = sorted({len(v) for v in out})
    if len(dims) > 1:
        raise ResponseFormatError(
            f"{provider} sent embeddings of different dimensions ({', '.join(map(str, dims))}) "
            "in one answer: check the server's embedding settings.",
            provider=provider,
        )
    return out


class CheckEmbeddings(Plug):
    """Checks (and, with `pooling`, pools) the vectors of an embeddings answer."""

    def call(self, request: Request) -> Request:
        result = request.result
        if not isinstance(result, EmbeddingResponse):
            return request
        vectors = checked_vectors(
            result.embeddings,
            len(request.messages),
            request.provider,
            request.options.get("pooling"),
        )
        if all(new is old for new, old in zip(vectors, result.embeddings, strict=True)):
            return request
        return request.evolve(result=dataclasses.replace(result, embeddings=vectors))
