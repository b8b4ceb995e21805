"""Anthropic's answers read into the common results: messages, streams, usage, models.

Blocks are read by their `type`, never by position: thinking and redacted-thinking
blocks come first and are kept verbatim as `ChatResponse.reasoning`, so they can go
back unchanged next turn. A stream is assembled into the same body a non-streamed
answer has, so one parser reads both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ResponseFormatError
from ...responses import ChatResponse, ModelInfo, ReasoningPart, StreamChunk, ToolCall, Usage
from ...transport import HttpResponse
from .._messages import AssembledText, decoded_arguments, json_event, usage_of
from .._sse import SSEEvent

if TYPE_CHECKING:
    from .provider import AnthropicProvider

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Anthropic counts cached input apart (ours includes it in input_tokens); thinking
    tokens are part of output_tokens and shown apart as reasoning."""
    if not usage:
        return Usage()
    read = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    details = usage.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, Mapping) else 0
    return usage_of(
        (usage.get("input_tokens") or 0) + read + written,
        usage.get("output_tokens"),
        read,
        thinking,
    )


def parse_reasoning(blocks: list[Any]) -> tuple[ReasoningPart, ...]:
    """The thinking and redacted-thinking blocks, in their order, exactly as sent."""
    parts = []
    for block in blocks:
        if block.get("type") == "thinking":
            parts.append(
                ReasoningPart(
                    "thinking", block.get("thinking") or "", signature=block.get("signature")
                )
            )
        elif block.get("type") == "redacted_thinking":
            parts.append(ReasoningPart("redacted_thinking", data=block.get("data")))
    return tuple(parts)


def parse_message(
    body: Any, *, provider: str, response: HttpResponse | None = None
) -> ChatResponse:
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise ResponseFormatError(
            f"{provider} answered without message content.", provider=provider
        )
    blocks = body["content"]
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = tuple(
        ToolCall(b["id"], b["name"], b.get("input") or {})
        for b in blocks
        if b.get("type") == "tool_use"
    )
    raw_finish = body.get("stop_reason")
    return ChatResponse(
        content=text,
        model=body.get("model"),
        provider=provider,
        finish_reason=FINISH_REASONS.get(raw_finish or "", "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage")),
        tool_calls=calls,
        id=body.get("id"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
        reasoning=parse_reasoning(blocks),
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    return [
        ModelInfo(m["id"], provider, context_window=m.get("max_input_tokens"), raw=m)
        for m in body.get("data") or ()
    ]


class AnthropicStreamDecoder:
    """Message events to StreamChunks; `ping` and unknown events are skipped, `error` raises.

    Text deltas become chunks' `content`, thinking deltas their `reasoning`; each block's
    pieces are kept apart, so a turn with several text or thinking blocks assembles each
    one whole, with the signature its `signature_delta` closed it with.
    """

    def __init__(self, provider: AnthropicProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._message: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._pieces: dict[int, list[str]] = {}
        self._raw_usage: dict[str, Any] = {}

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        data = json_event(event.data, self.provider.name)
        kind = event.event if event.event != "message" else data.get("type")
        if kind == "error":
            raise self.provider.stream_error(data)
        if kind == "message_start":
            self._message = dict(data.get("message") or {})
            self._merge_usage(self._message.get("usage"))
        elif kind == "content_block_start":
            self._blocks[data["index"]] = dict(data.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._delta(data["index"], data.get("delta") or {})
        elif kind == "message_delta":
            self._message.update(data.get("delta") or {})
            self._merge_usage(data.get("usage"))
        elif kind == "message_stop":
            self.complete = True
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamChunk]:
        kind = delta.get("type")
        if kind == "input_json_delta":
            self._pieces.setdefault(index, []).append(delta.get("partial_json") or "")
        elif kind == "text_delta" and delta.get("text"):
            self._pieces.setdefault(index, []).append(delta["text"])
            return [self._text.add(delta["text"])]
        elif kind == "thinking_delta" and delta.get("thinking"):
            self._pieces.setdefault(index, []).append(delta["thinking"])
            return [StreamChunk(reasoning=delta["thinking"], index=self._text.count)]
        elif kind == "signature_delta":
            self._blocks.setdefault(index, {"type": "thinking"})["signature"] = delta.get(
                "signature"
            )
        return []

    def _merge_usage(self, usage: Mapping[str, Any] | None) -> None:
        """message_delta counts are cumulative: the latest value wins."""
        if usage:
            self._raw_usage |= {k: v for k, v in usage.items() if v is not None}
            self.usage = parse_usage(self._raw_usage)

    def result(self) -> dict[str, Any]:
        content = []
        for index, block in sorted(self._blocks.items()):
            joined = "".join(self._pieces.get(index, []))
            kind = block.get("type")
            if kind == "text":
                content.append(block | {"text": block.get("text", "") + joined})
            elif kind == "thinking":
                content.append(block | {"thinking": block.get("thinking", "") + joined})
            elif kind == "tool_use":
                content.append(block | {"input": decoded_arguments(self.provider.name, joined)})
            elif kind == "redacted_thinking":
                content.append(block)
        return self._message | {"content": content, "usage": self._raw_usage}
