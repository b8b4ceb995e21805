"""Decoding Gemini's `alt=sse` stream: response fragments to StreamChunks and one whole body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...responses import StreamChunk, Usage
from .._messages import AssembledText, json_event
from .._sse import SSEEvent
from .response import parse_usage

if TYPE_CHECKING:
    from .provider import GeminiProvider


class GeminiStreamDecoder:
    """Response fragments to StreamChunks. Gemini sends no end marker: a finishReason (or a
    blocked prompt) is the sign the answer is whole."""

    def __init__(self, provider: GeminiProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._calls: list[dict[str, Any]] = []
        self._last: dict[str, Any] = {}
        self._candidate: dict[str, Any] | None = None

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        data = json_event(event.data, self.provider.name)
        if "error" in data:
            code = (data["error"] or {}).get("code")
            raise self.provider.map_error(code if isinstance(code, int) else 500, {}, data)
        self._last |= {k: v for k, v in data.items() if k != "candidates"}
        if data.get("usageMetadata"):
            self.usage = parse_usage(data["usageMetadata"])
        if (data.get("promptFeedback") or {}).get("blockReason"):
            self.complete = True
        out = []
        for candidate in data.get("candidates") or ()[:1]:
            self._candidate = {k: v for k, v in candidate.items() if k != "content"}
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    self._calls.append(part)
                elif part.get("text") and not part.get("thought"):
                    out.append(self._text.add(part["text"]))
            if candidate.get("finishReason"):
                self.complete = True
        return out

    def result(self) -> dict[str, Any]:
        body = dict(self._last)
        if self._candidate is not None:
            parts = ([{"text": self.partial_text}] if self._text.count else []) + self._calls
            body["candidates"] = [self._candidate | {"content": {"role": "model", "parts": parts}}]
        return body
