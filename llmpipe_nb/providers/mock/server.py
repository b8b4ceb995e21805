"""The mock's server, in-process: answers HttpCalls as a provider's server would, from the script."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from ...errors import ProviderConnectionError
from ...tokens import estimate_message_tokens, estimate_tokens
from ...transport import HttpCall, HttpResponse
from ..base import error_for_status
from .state import MockState


def _usage(body: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, int]:
    calls = answer.get("tool_calls")
    asked = json.dumps(calls, ensure_ascii=False, default=str) if calls else ""
    return {
        "input_tokens": estimate_message_tokens(body.get("messages", ())),
        "output_tokens": estimate_tokens((answer.get("content") or "") + asked),
    }


def _vector(text: str, dim: int) -> list[float]:
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    v = [rng.gauss(0, 1) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


class MockEvents:
    """The events of one mock stream: text deltas, tool-call deltas (each call's head, then
    its JSON arguments in two halves, as providers stream them), then a final event with usage."""

    def __init__(self, state: MockState, body: Mapping[str, Any]) -> None:
        self.headers: Mapping[str, str] = {"x-request-id": "mock-stream"}
        self.answer = state.answer(body)
        self.usage = _usage(body, self.answer)
        self.size = state.chunk_size
        self.delay = body.get("mock_chunk_latency", state.chunk_latency)
        self.fail_after = state.stream_error_after

    def events(self) -> Iterator[dict[str, Any]]:
        text = self.answer.get("content") or ""
        for n, start in enumerate(range(0, len(text), self.size)):
            if self.fail_after is not None and n >= self.fail_after:
                raise ProviderConnectionError(
                    "the mock stream was dropped as configured", provider="mock"
                )
            yield {"delta": text[start : start + self.size]}
        for index, call in enumerate(self.answer.get("tool_calls") or ()):
            head = {"index": index, "id": call.get("id", f"call_{index}"), "name": call["name"]}
            yield {"tool_call": head}
            arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False, default=str)
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield {"tool_call": {"index": index, "arguments": piece}}
        yield {
            "done": True,
            "finish_reason": self.answer.get("finish_reason", "stop"),
            "usage": self.usage,
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i, event in enumerate(self.events()):
            if i and self.delay:
                time.sleep(self.delay)
            yield event

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for i, event in enumerate(self.events()):
            if i and self.delay:
                await asyncio.sleep(self.delay)
            yield event


class MockTransport:
    """Answers HttpCalls in-process, as a provider's server would."""

    def __init__(self, state: MockState) -> None:
        self.state = state

    def _respond(self, call: HttpCall) -> HttpResponse:
        body = call.json or {}
        headers = {"x-request-id": f"mock-{len(self.state.requests)}"}
        if call.path == "/chat":
            answer = self.state.answer(body)
            answer.setdefault("usage", _usage(body, answer))
            return HttpResponse(200, headers, answer)
        if call.path == "/embeddings":
            vectors = [_vector(str(t), self.state.embedding_dim) for t in body["input"]]
            usage = {"input_tokens": sum(estimate_tokens(str(t)) for t in body["input"])}
            return HttpResponse(200, headers, {"embeddings": vectors, "usage": usage})
        if call.path == "/models":
            return HttpResponse(200, headers, {"models": list(self.state.models)})
        raise error_for_status(
            404, f"the mock has no endpoint {call.path}", provider="mock", status_code=404
        )

    def _latency(self, call: HttpCall) -> float:
        return float((call.json or {}).get("mock_latency", self.state.latency))

    def send(self, call: HttpCall) -> HttpResponse:
        self.state.record(call)
        if delay := self._latency(call):
            time.sleep(delay)
        return self._respond(call)

    async def asend(self, call: HttpCall) -> HttpResponse:
        self.state.record(call)
        if delay := self._latency(call):
            await asyncio.sleep(delay)
        return self._respond(call)

    @contextmanager
    def stream(self, call: HttpCall) -> Iterator[MockEvents]:
        self.state.record(call)
        if delay := self._latency(call):
            time.sleep(delay)
        yield MockEvents(self.state, call.json or {})

    @asynccontextmanager
    async def astream(self, call: HttpCall) -> AsyncIterator[MockEvents]:
        self.state.record(call)
        if delay := self._latency(call):
            await asyncio.sleep(delay)
        yield MockEvents(self.state, call.json or {})
