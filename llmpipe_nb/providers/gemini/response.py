"""Reading Gemini's answers: candidates, usage, finish reasons, embeddings, the model list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ResponseFormatError
from ...responses import ChatResponse, EmbeddingResponse, ModelInfo, ReasoningPart, ToolCall, Usage
from ...tokens import estimate_tokens
from ...transport import HttpResponse
from .._messages import usage_of
from .errors import FILTER_REASONS

#: Gemini's finish reasons in the common vocabulary; any other (MALFORMED_FUNCTION_CALL,
#: MALFORMED_RESPONSE, ESCALATION, PUP_LIMITED_DISABLED, OTHER, values added later) is
#: "error", with Gemini's own word kept in `raw_finish_reason`. CONTINUATION is "length"
#: only when the answer was not continued (continuation off, or the hop limit reached).
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "CONTINUATION": "length"} | {
    r: "content_filter" for r in FILTER_REASONS
}
FALLBACK_FINISH_REASON = "error"


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Thinking tokens are output tokens (billed so) and are also shown apart as reasoning."""
    if not usage:
        return Usage()
    thoughts = usage.get("thoughtsTokenCount") or 0
    return usage_of(
        usage.get("promptTokenCount"),
        (usage.get("candidatesTokenCount") or 0) + thoughts,
        usage.get("cachedContentTokenCount"),
        thoughts,
    )


def parse_generate(
    body: Any, *, provider: str, response: HttpResponse | None = None
) -> ChatResponse:
    candidates = body.get("candidates") if isinstance(body, Mapping) else None
    if not candidates:
        raise ResponseFormatError(f"{provider} answered without any candidate.", provider=provider)
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    calls = tuple(
        ToolCall(
            p["functionCall"].get("id") or f"call_{i}",
            p["functionCall"]["name"],
            p["functionCall"].get("args") or {},
            p.get("thoughtSignature"),
        )
        for i, p in enumerate(p for p in parts if "functionCall" in p)
    )
    raw_finish = candidate.get("finishReason")
    finish = (
        "tool_calls"
        if calls and raw_finish == "STOP"
        else FINISH_REASONS.get(raw_finish, FALLBACK_FINISH_REASON if raw_finish else None)
    )
    return ChatResponse(
        content=text,
        model=body.get("modelVersion"),
        provider=provider,
        finish_reason=finish,
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usageMetadata")),
        tool_calls=calls,
        reasoning=reasoning_parts(parts),
        id=body.get("responseId"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )


def reasoning_parts(parts: Iterable[Mapping[str, Any]]) -> tuple[ReasoningPart, ...]:
    """Thought parts ("thought") and signed text parts ("signature", an empty text too),
    each with its offset among the answer's text, so the turn can go back as it came."""
    reasoning = []
    offset = 0
    for part in parts:
        if "text" not in part:
            continue
        text, signature = part["text"] or "", part.get("thoughtSignature")
        if part.get("thought"):
            reasoning.append(ReasoningPart("thought", text, signature, offset=offset))
            continue
        if signature:
            reasoning.append(ReasoningPart("signature", text, signature, offset=offset))
        offset += len(text)
    return tuple(reasoning)


def parse_embeddings(
    body: Any, *, provider: str, model: str | None, inputs: Iterable[Any] = ()
) -> EmbeddingResponse:
    """Gemini reports no token count for embeddings: input tokens are estimated from the text."""
    embeddings = body.get("embeddings") if isinstance(body, Mapping) else None
    if not isinstance(embeddings, list):
        raise ResponseFormatError(
            f"{provider} answered the embeddings call without 'embeddings'.", provider=provider
        )
    usage = Usage(input_tokens=sum(estimate_tokens(str(text)) for text in inputs))
    vectors = [e["values"] for e in embeddings]
    return EmbeddingResponse(
        embeddings=vectors, model=model, provider=provider, usage=usage, raw=body
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    return [
        ModelInfo(
            m["name"].removeprefix("models/"),
            provider,
            context_window=m.get("inputTokenLimit"),
            raw=m,
        )
        for m in body.get("models") or ()
    ]
