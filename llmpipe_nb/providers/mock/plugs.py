"""The mock's prepare and parse plugs, and its stream decoder: requests to calls, answers to results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...plug import Plug
from ...request import Request
from ...responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    StreamChunk,
    ToolCall,
    Usage,
    ValidationResult,
)
from ...transport import HttpCall
from .._messages import decoded_arguments


class MockPrepareRequest(Plug):
    """Builds the in-process call for the request's kind."""

    def call(self, request: Request) -> Request:
        opts = dict(request.options)
        kind = request.kind
        if kind in ("chat", "stream", "completion"):
            call = HttpCall(
                "POST",
                "/chat",
                json={**opts, "messages": request.messages},
                stream="sse" if kind == "stream" else None,
            )
        elif kind == "embeddings":
            call = HttpCall("POST", "/embeddings", json={**opts, "input": list(request.messages)})
        else:
            call = HttpCall("GET", "/models")
        return request.evolve(provider_request=call)


class MockParseResponse(Plug):
    """Turns the mock's answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        body = request.response.body
        model = request.model or "mock-1"
        latency = request.metadata.get("latency_ms")
        kind = request.kind
        result: Any
        if kind in ("chat", "stream", "completion"):
            calls = tuple(
                ToolCall(c.get("id", f"call_{i}"), c["name"], c.get("arguments", {}))
                for i, c in enumerate(body.get("tool_calls") or ())
            )
            finish = body.get("finish_reason") or ("tool_calls" if calls else "stop")
            result = ChatResponse(
                content=body.get("content") or "",
                model=model,
                provider=request.provider,
                finish_reason=finish,
                raw_finish_reason=finish,
                usage=Usage(**body.get("usage", {})),
                tool_calls=calls,
                id=request.response.request_id,
                request_id=request.response.request_id,
                latency_ms=latency,
                raw=body,
            )
        elif kind == "embeddings":
            result = EmbeddingResponse(
                embeddings=body["embeddings"],
                model=model,
                provider=request.provider,
                usage=Usage(**body["usage"]),
                latency_ms=latency,
                raw=body,
            )
        elif kind == "list_models":
            result = [
                ModelInfo(m, request.provider, context_window=128_000) for m in body["models"]
            ]
        else:
            result = ValidationResult(
                True, request.provider, "The mock provider is ready.", len(body["models"])
            )
        return request.put_result(result)


class MockStreamDecoder:
    """Turns mock stream events into chunks and assembles the final body; tool-call deltas
    are joined by their index, as the providers' decoders join theirs."""

    def __init__(self) -> None:
        self.complete = False
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.final: dict[str, Any] = {}
        self.index = 0
        self.calls: dict[int, dict[str, Any]] = {}

    @property
    def partial_text(self) -> str:
        return "".join(self.parts)

    def feed(self, event: Mapping[str, Any]) -> Iterable[StreamChunk]:
        if event.get("done"):
            self.complete = True
            self.final = dict(event)
            self.usage = Usage(**event["usage"])
            return ()
        delta = event.get("tool_call")
        if delta is not None:
            call = self.calls.setdefault(delta["index"], {"arguments": []})
            call.update({k: delta[k] for k in ("id", "name") if k in delta})
            call["arguments"].append(delta.get("arguments", ""))
            return ()
        self.parts.append(event["delta"])
        self.index += 1
        return (StreamChunk(content=event["delta"], index=self.index - 1),)

    def result(self) -> dict[str, Any]:
        return {
            "content": self.partial_text,
            "finish_reason": self.final.get("finish_reason", "stop"),
            "usage": self.final.get("usage", {}),
            "tool_calls": [
                {
                    "id": call.get("id"),
                    "name": call.get("name", ""),
                    "arguments": decoded_arguments("mock", "".join(call["arguments"])),
                }
                for _, call in sorted(self.calls.items())
            ],
        }
