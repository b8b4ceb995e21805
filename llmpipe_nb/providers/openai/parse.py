"""Chat and legacy-completion answers as ChatResponses (pure functions of data)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ResponseFormatError
from ...responses import ChatResponse, ToolCall, Usage
from ...transport import HttpResponse
from .._messages import tool_call_fields, usage_of

FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """OpenAI usage: prompt tokens include cached ones, completion tokens include reasoning."""
    if not usage:
        return Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return usage_of(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        prompt_details.get("cached_tokens"),
        completion_details.get("reasoning_tokens"),
    )


def parse_tool_calls(calls: Iterable[Mapping[str, Any]] | None) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(*tool_call_fields(call)) for call in calls or ())


def parse_chat(body: Any, *, provider: str, response: HttpResponse | None = None) -> ChatResponse:
    """A chat or legacy-completion answer as a ChatResponse."""
    choices = body.get("choices") if isinstance(body, Mapping) else None
    if not choices:
        raise ResponseFormatError(f"{provider} answered without any choices.", provider=provider)
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content") if "text" not in choice else choice["text"]
    raw_finish = choice.get("finish_reason")
    return ChatResponse(
        content=content or "",
        model=body.get("model"),
        provider=provider,
        finish_reason=FINISH_REASONS.get(raw_finish, "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage") or (body.get("x_groq") or {}).get("usage")),
        tool_calls=parse_tool_calls(message.get("tool_calls")),
        refusal=message.get("refusal") or None,
        id=body.get("id"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )
