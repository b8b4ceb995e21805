"""Decoding Gemini's `alt=sse` stream: response fragments to StreamChunks and one whole body.

The assembled body keeps the parts as they came, in order: consecutive unsigned pieces
of text (or of thought) join, while a signed part, even one with empty text in a chunk
of its own, stays a part of its own where it arrived, as its signature belongs there.
"""

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
        self._chunks = 0
        self._parts: list[dict[str, Any]] = []
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
        if data.get("usageMetadata"):  # a running total within the answer: the latest counts
            self.usage = parse_usage(data["usageMetadata"])
        if (data.get("promptFeedback") or {}).get("blockReason"):
            self.complete = True
        out = []
        for candidate in (data.get("candidates") or ())[:1]:
            self._candidate = {k: v for k, v in candidate.items() if k != "content"}
            for part in (candidate.get("content") or {}).get("parts") or ():
                self._keep(part)
                text = part.get("text")
                if "functionCall" in part or not text:
                    continue
                if part.get("thought"):
                    out.append(StreamChunk(reasoning=text, index=self._chunks))
                else:
                    out.append(
                        StreamChunk(content=self._text.add(text).content, index=self._chunks)
                    )
                self._chunks += 1
            if candidate.get("finishReason"):
                self.complete = True
        return out

    def _keep(self, part: dict[str, Any]) -> None:
        last = self._parts[-1] if self._parts else None
        if (
            last is not None
            and _plain(last)
            and _plain(part)
            and last.get("thought") == part.get("thought")
        ):
            last["text"] += part["text"]
        else:
            self._parts.append(dict(part))

    def result(self) -> dict[str, Any]:
        body = dict(self._last)
        if self._candidate is not None:
            content = {"role": "model", "parts": self._parts}
            body["candidates"] = [self._candidate | {"content": content}]
        return body


def _plain(part: dict[str, Any]) -> bool:
    """A piece of text (or thought) with nothing else on it, which may join its neighbour."""
    return isinstance(part.get("text"), str) and set(part) <= {"text", "thought"}
