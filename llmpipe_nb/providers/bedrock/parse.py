"""Bedrock's answers: Converse replies and streams, InvokeModel embeddings, the model list."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ResponseFormatError
from ...responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    ReasoningPart,
    StreamChunk,
    ToolCall,
    Usage,
)
from ...transport import HttpResponse
from .._eventstream import EventMessage
from .._messages import AssembledText, decoded_arguments, usage_of

if TYPE_CHECKING:
    from .provider import BedrockProvider

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Converse counts: cached reads are reported beside the input, so they are added to it."""
    usage = usage or {}
    cached = usage.get("cacheReadInputTokens") or 0
    written = usage.get("cacheWriteInputTokens") or 0
    return usage_of(
        (usage.get("inputTokens") or 0) + cached + written, usage.get("outputTokens"), cached
    )


def parse_converse(
    body: Any, *, provider: str, model: str | None, response: HttpResponse | None = None
) -> ChatResponse:
    """A Converse answer as a ChatResponse; the model is the one asked for (Converse does not
    name it)."""
    message = (body.get("output") or {}).get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, Mapping):
        raise ResponseFormatError(
            f"{provider} answered without an output message.", provider=provider
        )
    texts, calls, reasoning = [], [], []
    for block in message.get("content") or ():
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append((use.get("toolUseId", ""), use.get("name", ""), use.get("input") or {}))
        elif "reasoningContent" in block:
            reasoning.append(_reasoning_part(block["reasoningContent"], len("".join(texts))))
    raw_finish = body.get("stopReason")
    return ChatResponse(
        content="".join(texts),
        model=model,
        provider=provider,
        finish_reason=FINISH_REASONS.get(raw_finish, "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage")),
        tool_calls=tuple(ToolCall(*call) for call in calls),
        request_id=response.headers.get("x-amzn-requestid") if response else None,
        latency_ms=response.elapsed_ms if response else None,
        reasoning=tuple(reasoning),
        raw=body,
    )


def _reasoning_part(content: Mapping[str, Any], offset: int) -> ReasoningPart:
    if "redactedContent" in content:
        return ReasoningPart("redacted_reasoning", data=content["redactedContent"], offset=offset)
    text = content.get("reasoningText") or {}
    return ReasoningPart("reasoning", text.get("text", ""), text.get("signature"), offset=offset)


class BedrockStreamDecoder:
    """ConverseStream's event-stream messages to StreamChunks; an exception message raises.

    The stream ends with `metadata` (usage and latency) after `messageStop`: only then is
    it complete. `result()` is a Converse answer, so one parse path reads both.
    """

    def __init__(self, provider: BedrockProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._blocks: dict[int, dict[str, Any]] = {}
        self._pieces: dict[int, list[str]] = {}
        self._stop: str | None = None
        self._metadata: dict[str, Any] = {}

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, message: EventMessage) -> list[StreamChunk]:
        try:
            data = json.loads(message.payload) if message.payload else {}
        except ValueError:
            raise ResponseFormatError(
                f"{self.provider.name} sent a stream event that is not valid JSON.",
                provider=self.provider.name,
            ) from None
        kind = message.event_type
        if message.message_type != "event":
            raise self.provider.stream_error(kind, data)
        if kind == "contentBlockStart":
            start = (data.get("start") or {}).get("toolUse")
            if start:
                self._blocks[data.get("contentBlockIndex", 0)] = {"toolUse": dict(start)}
        elif kind == "contentBlockDelta":
            return self._delta(data.get("contentBlockIndex", 0), data.get("delta") or {})
        elif kind == "messageStop":
            self._stop = data.get("stopReason")
        elif kind == "metadata":
            self._metadata = data
            self.usage = parse_usage(data.get("usage"))
            self.complete = True
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamChunk]:
        if "text" in delta:
            self._blocks.setdefault(index, {"text": ""})
            self._pieces.setdefault(index, []).append(delta["text"])
            return [self._text.add(delta["text"])] if delta["text"] else []
        if "toolUse" in delta:
            self._pieces.setdefault(index, []).append((delta["toolUse"] or {}).get("input") or "")
        elif "reasoningContent" in delta:
            block = self._blocks.setdefault(index, {"reasoningContent": {"reasoningText": {}}})
            reasoning = delta["reasoningContent"]
            if reasoning.get("signature"):
                block["reasoningContent"]["reasoningText"]["signature"] = reasoning["signature"]
            if reasoning.get("text"):
                self._pieces.setdefault(index, []).append(reasoning["text"])
                return [StreamChunk(reasoning=reasoning["text"], index=self._text.count)]
        return []

    def result(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for index, block in sorted(self._blocks.items()):
            joined = "".join(self._pieces.get(index, []))
            if "text" in block:
                content.append({"text": joined})
            elif "toolUse" in block:
                arguments = decoded_arguments(self.provider.name, joined) if joined else {}
                content.append({"toolUse": block["toolUse"] | {"input": arguments}})
            elif "reasoningContent" in block:
                text = block["reasoningContent"]["reasoningText"] | {"text": joined}
                content.append({"reasoningContent": {"reasoningText": text}})
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self._stop,
            **self._metadata,
        }


def parse_embeddings(
    body: Any, *, provider: str, model: str | None, headers: Mapping[str, str]
) -> EmbeddingResponse:
    """Titan's answers (one per input, as a list) or Cohere's (one for all), in input order."""
    vectors: list[list[float]] = []
    tokens = 0
    for answer in body if isinstance(body, list) else [body]:
        if not isinstance(answer, Mapping):
            raise ResponseFormatError(
                f"{provider} answered the embeddings call with no object.", provider=provider
            )
        if "embedding" in answer:  # Titan
            vectors.append(answer["embedding"])
            tokens += int(answer.get("inputTextTokenCount") or 0)
            continue
        embeddings = answer.get("embeddings")
        if isinstance(embeddings, Mapping):  # Cohere, by embedding type
            embeddings = embeddings.get("float")
        if not isinstance(embeddings, list):
            raise ResponseFormatError(
                f"{provider} answered the embeddings call without embeddings.", provider=provider
            )
        vectors += embeddings
    if not tokens:
        tokens = int(headers.get("x-amzn-bedrock-input-token-count") or 0)
    return EmbeddingResponse(
        embeddings=vectors,
        model=model,
        provider=provider,
        usage=Usage(input_tokens=tokens),
        raw=body,
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    summaries = body.get("modelSummaries") if isinstance(body, Mapping) else None
    if not isinstance(summaries, list):
        raise ResponseFormatError(
            f"{provider} answered the model list without 'modelSummaries'.", provider=provider
        )
    return [
        ModelInfo(m["modelId"], provider, owned_by=m.get("providerName"), raw=m) for m in summaries
    ]
