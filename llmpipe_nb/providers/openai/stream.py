"""Streamed chat completions: SSE chunks to StreamChunks, and the whole answer at the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...responses import StreamChunk, Usage
from .._messages import AssembledText, decoded_arguments, json_event
from .._sse import SSEEvent
from .parse import parse_usage

if TYPE_CHECKING:
    from .provider import OpenAIProvider


class OpenAIStreamDecoder:
    """Chat-completion chunks to StreamChunks; tool-call fragments joined by their index."""

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._calls: dict[int, dict[str, Any]] = {}
        self._head: dict[str, Any] = {}
        self._finish: str | None = None
        self._raw_usage: Any = None
        self._refusal: list[str] = []

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        if event.data.startswith("[DONE]"):
            self.complete = True
            return []
        return self.take(json_event(event.data, self.provider.name))

    def take(self, chunk: dict[str, Any]) -> list[StreamChunk]:
        """One decoded chunk; a server with fields of its own extends this."""
        if chunk.get("error"):
            raise self.provider.stream_error(chunk)
        self._head = self._head or {k: chunk[k] for k in ("id", "model") if k in chunk}
        if isinstance(chunk.get("service_tier"), str):
            self._head["service_tier"] = chunk["service_tier"]
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if usage:
            self._raw_usage, self.usage = usage, parse_usage(usage)
        out = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out.append(self._text.add(delta["content"]))
            if delta.get("refusal"):  # a structured answer declined, in pieces like the text
                self._refusal.append(delta["refusal"])
            for fragment in delta.get("tool_calls") or ():
                self._add_fragment(fragment)
            self._finish = choice.get("finish_reason") or self._finish
        return out

    def _add_fragment(self, fragment: Mapping[str, Any]) -> None:
        call = self._calls.setdefault(
            fragment.get("index", 0), {"id": "", "name": "", "arguments": []}
        )
        function = fragment.get("function") or {}
        call["id"] = fragment.get("id") or call["id"]
        call["name"] = function.get("name") or call["name"]
        call["arguments"].append(function.get("arguments") or "")

    def result(self) -> dict[str, Any]:
        calls = [
            {
                "id": call["id"],
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": decoded_arguments(self.provider.name, "".join(call["arguments"])),
                },
            }
            for _, call in sorted(self._calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": self.partial_text or None}
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": self._finish}
        return {
            **self._head,
            "object": "chat.completion",
            "choices": [choice],
            "usage": self._raw_usage,
        }
