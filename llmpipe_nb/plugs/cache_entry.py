"""The stored form of a cached answer: JSON that gives back every field a response carries.

Reasoning parts and tool-call signatures are kept verbatim: a model that needs its
reasoning back next turn rejects a conversation continued from an answer that lost it.
An entry written by another version of this format reads as a miss and is replaced; a
recording's answers from before the format had a version still replay (`older=True`), as
they were recorded. `parsed` is not stored: ParseStructured reads it again on a hit.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..responses import ChatResponse, EmbeddingResponse, ReasoningPart, ToolCall, Usage

ENTRY_VERSION = 2


def encode(result: Any) -> str | None:
    """The entry for a finished answer, or None if it is not cacheable (an error, no answer)."""
    if isinstance(result, ChatResponse):
        if result.finish_reason == "error":
            return None
        data = _chat(result)
    elif isinstance(result, EmbeddingResponse):
        data = _embeddings(result)
    else:
        return None
    data["v"] = ENTRY_VERSION
    data["created_at"] = time.time()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=repr)


def decode(
    raw: str, kind: str, *, older: bool = False
) -> tuple[ChatResponse | EmbeddingResponse, Any, float] | None:
    """(the answer, the cost it had, when it was stored) for a request of `kind`; None if the
    entry is unreadable, of another format version (with `older`, an entry from before
    versions is read too), or of the other kind of answer."""
    try:
        data = json.loads(raw)
        if data.get("v", 1) not in ((ENTRY_VERSION, 1) if older else (ENTRY_VERSION,)):
            return None
        usage = Usage(*data["usage"])
        result: ChatResponse | EmbeddingResponse
        if data["type"] == "chat" and kind != "embeddings":
            result = ChatResponse(
                content=data["content"],
                model=data["model"],
                provider=data["provider"],
                finish_reason=data["finish_reason"],
                raw_finish_reason=data["raw_finish_reason"],
                usage=usage,
                tool_calls=tuple(ToolCall(*c) for c in data["tool_calls"]),
                id=data["id"],
                request_id=data["request_id"],
                raw=data["raw"],
                reasoning=tuple(ReasoningPart(*p) for p in data.get("reasoning", ())),
                refusal=data.get("refusal"),
            )
        elif data["type"] == "embeddings" and kind == "embeddings":
            result = EmbeddingResponse(
                embeddings=data["embeddings"],
                model=data["model"],
                provider=data["provider"],
                usage=usage,
                raw=data["raw"],
            )
        else:
            return None
        return result, data["cost"], float(data.get("created_at", time.time()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _usage(usage: Usage) -> list[int | bool]:
    return [
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.reasoning_tokens,
        usage.estimated,
    ]


def _chat(r: ChatResponse) -> dict[str, Any]:
    return {
        "type": "chat",
        "content": r.content,
        "model": r.model,
        "provider": r.provider,
        "finish_reason": r.finish_reason,
        "raw_finish_reason": r.raw_finish_reason,
        "usage": _usage(r.usage),
        "cost": r.cost,
        "tool_calls": [[c.id, c.name, c.arguments, c.signature] for c in r.tool_calls],
        "reasoning": [[p.kind, p.text, p.signature, p.data, p.offset] for p in r.reasoning],
        "refusal": r.refusal,
        "id": r.id,
        "request_id": r.request_id,
        "raw": r.raw,
    }


def _embeddings(r: EmbeddingResponse) -> dict[str, Any]:
    return {
        "type": "embeddings",
        "embeddings": r.embeddings,
        "model": r.model,
        "provider": r.provider,
        "usage": _usage(r.usage),
        "cost": r.cost,
        "raw": r.raw,
    }
