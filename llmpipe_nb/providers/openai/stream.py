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
        self._name = provider.name
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
        data = event.data
        if data[:1] == "[" and data.startswith("[DONE]"):
            self.complete = True
            return []
        return self.take(json_event(data, self._name))

    def take(self, chunk: dict[str, Any]) -> list[StreamChunk]:
        """One decoded chunk; a server with fields of its own extends this. Runs once per
        chunk of every stream, so it reads each field once."""
        get = chunk.get
        if get("error"):
            raise self.provider.stream_error(chunk)
        if not self._head:
            self._head = {k: chunk[k] for k in ("id", "model") if k in chunk}
        tier = get("service_tier")
        if isinstance(tier, str):
            self._head["service_tier"] = tier
        usage = get("usage")
        if not usage and "x_groq" in chunk:
            usage = (chunk["x_groq"] or {}).get("usage")
        if usage:
            self._raw_usage, self.usage = usage, parse_usage(usage)
        out = []
        for choice in get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    out.append(self._text.add(content))
                refusal = delta.get("refusal")
                if refusal:  # a structured answer declined, in pieces like the text
                    self._refusal.append(refusal)
                fragments = delta.get("tool_calls")
                if fragments:
                    for fragment in fragments:
                        self._add_fragment(fragment)
            finish = choice.get("finish_reason")
            if finish:
                self._finish = finish
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
