"""The `mock` provider: deterministic, in-process, no network; the embedded default.

It runs through the same plugs as the HTTP providers (its transport answers in-process
instead of over a socket), so everything built on pipelines can be shown and tested
offline. The same input always gives the same output and the same usage.

    mock = llm.providers.get("mock")
    mock.configure(replies=["first", "second"], latency=0.2, chunk_size=4)
    mock.fail_next(llm.RateLimitError, times=2)
    mock.requests          # what it received
    mock.reset()
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from ..errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
)
from ..plug import Plug
from ..request import Request
from ..responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    StreamChunk,
    ToolCall,
    Usage,
    ValidationResult,
)
from ..tokens import estimate_message_tokens, estimate_tokens
from ..transport import HttpCall, HttpResponse
from .base import Provider, error_for_status

MODELS = ("mock-1", "mock-large", "mock-embed-1")
SETTINGS = (
    "reply",
    "replies",
    "respond",
    "latency",
    "chunk_latency",
    "chunk_size",
    "embedding_dim",
    "models",
    "stream_error_after",
)

#: what the mock accepts for a chat: the options every chat provider maps, and its own
CHAT_OPTIONS = frozenset(
    {
        *("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed"),
        *("tools", "tool_choice", "response_format", "extra_body"),
        *("mock_reply", "mock_latency", "mock_chunk_latency"),
    }
)


def default_reply(messages: Iterable[Mapping[str, Any]]) -> str:
    """A reply derived from the prompt, so a demo shows something meaningful."""
    last = ""
    for m in messages:
        if m.get("role") == "user":
            content = m.get("content")
            last = (
                content
                if isinstance(content, str)
                else " ".join(p.get("text", "") for p in content or () if isinstance(p, Mapping))
            )
    words = last.split()
    if not words:
        return "Hello from the mock provider. Ask me anything: I answer deterministically."
    topic = " ".join(words[:12]).rstrip(".!?:;,") + ("…" if len(words) > 12 else "")
    return (
        f"You asked about: {topic}. This is the mock provider's deterministic answer: "
        f"your prompt has {len(words)} words and {len(last)} characters. "
        "Switch to a real provider to get a real answer."
    )


class MockState:
    """The mock's script: replies, latency, injected errors; and what it received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the defaults, forgetting scripted replies, errors and recorded requests."""
        with self._lock:
            self.reply: str | None = None
            self.replies: deque[Any] = deque()
            self.respond: Callable[[Mapping[str, Any]], Any] | None = None
            self.latency = 0.0
            self.chunk_latency = 0.0
            self.chunk_size = 8
            self.embedding_dim = 16
            self.models: tuple[str, ...] = MODELS
            self.stream_error_after: int | None = None
            self.errors: deque[BaseException] = deque()
            self.requests: list[HttpCall] = []

    def configure(self, **settings: Any) -> None:
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ConfigError(
                f"Unknown mock setting {', '.join(sorted(unknown))}: use {', '.join(SETTINGS)}."
            )
        with self._lock:
            for key, value in settings.items():
                if key == "replies":
                    value = deque(value)
                elif key in ("latency", "chunk_latency") and (
                    not isinstance(value, (int, float)) or value < 0
                ):
                    raise ConfigError(
                        f"Mock {key} must be a number of seconds >= 0, not {value!r}."
                    )
                elif key in ("chunk_size", "embedding_dim") and (
                    not isinstance(value, int) or value < 1
                ):
                    raise ConfigError(f"Mock {key} must be a positive whole number, not {value!r}.")
                elif key == "models":
                    value = tuple(value)
                setattr(self, key, value)

    def fail_next(
        self, error: type[BaseException] | BaseException, times: int = 1, **kw: Any
    ) -> None:
        """Make the next `times` calls fail with `error` (a class, built with a status, or an instance)."""
        with self._lock:
            for _ in range(times):
                self.errors.append(
                    error if isinstance(error, BaseException) else _make_error(error, **kw)
                )

    def record(self, call: HttpCall) -> None:
        with self._lock:
            self.requests.append(call)
            error = self.errors.popleft() if self.errors else None
        if error is not None:
            raise error

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The reply for a chat body: scripted, queued, computed, or derived from the prompt."""
        with self._lock:
            queued = self.replies.popleft() if self.replies else None
        reply: Any = (
            queued
            if queued is not None
            else self.respond(body)
            if self.respond is not None
            else body.get("mock_reply") or self.reply or default_reply(body["messages"])
        )
        if isinstance(reply, BaseException):
            raise reply
        return {"content": reply} if isinstance(reply, str) else dict(reply)


_STATUS = {
    "RateLimitError": 429,
    "AuthenticationError": 401,
    "BadRequestError": 400,
    "ContextLengthError": 400,
    "ContentFilteredError": 400,
    "ServerError": 500,
}


def _make_error(cls: type[BaseException], **kw: Any) -> BaseException:
    if issubclass(cls, ProviderError):
        kw.setdefault("provider", "mock")
        kw.setdefault("status_code", _STATUS.get(cls.__name__))
        if cls is RateLimitError:
            kw.setdefault("retry_after", 0.0)
        return cls(f"injected {cls.__name__} from the mock provider", **kw)
    return cls(f"injected {cls.__name__} from the mock provider")


def _usage(body: Mapping[str, Any], text: str) -> dict[str, int]:
    return {
        "input_tokens": estimate_message_tokens(body.get("messages", ())),
        "output_tokens": estimate_tokens(text),
    }


def _vector(text: str, dim: int) -> list[float]:
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    v = [rng.gauss(0, 1) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


class MockEvents:
    """The events of one mock stream: text deltas, then a final event with usage."""

    def __init__(self, state: MockState, body: Mapping[str, Any]) -> None:
        self.headers: Mapping[str, str] = {"x-request-id": "mock-stream"}
        self.answer = state.answer(body)
        self.usage = _usage(body, self.answer.get("content") or "")
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
        yield {
            "done": True,
            "finish_reason": self.answer.get("finish_reason", "stop"),
            "usage": self.usage,
            "tool_calls": self.answer.get("tool_calls") or [],
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
            answer.setdefault("usage", _usage(body, answer.get("content") or ""))
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


class MockStreamDecoder:
    """Turns mock stream events into chunks and assembles the final body."""

    def __init__(self) -> None:
        self.complete = False
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.final: dict[str, Any] = {}
        self.index = 0

    @property
    def partial_text(self) -> str:
        return "".join(self.parts)

    def feed(self, event: Mapping[str, Any]) -> Iterable[StreamChunk]:
        if event.get("done"):
            self.complete = True
            self.final = dict(event)
            self.usage = Usage(**event["usage"])
            return ()
        self.parts.append(event["delta"])
        self.index += 1
        return (StreamChunk(content=event["delta"], index=self.index - 1),)

    def result(self) -> dict[str, Any]:
        return {
            "content": self.partial_text,
            "finish_reason": self.final.get("finish_reason", "stop"),
            "usage": self.final.get("usage", {}),
            "tool_calls": self.final.get("tool_calls", []),
        }


# -- plugs --------------------------------------------------------------------------------


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


class MockProvider(Provider):
    """Deterministic in-process provider; configure it with `configure()` and `fail_next()`."""

    name = "mock"
    default_model = "mock-1"
    default_embedding_model = "mock-embed-1"
    requires_key = False
    local = True
    plugs = {
        kind: (MockPrepareRequest, MockParseResponse)
        for kind in ("chat", "stream", "embeddings", "completion", "list_models", "validate")
    }
    request_options = {
        **dict.fromkeys(("chat", "stream", "completion"), CHAT_OPTIONS),
        "embeddings": frozenset({"mock_latency"}),
    }

    def __init__(self) -> None:
        self.state = MockState()
        self.transport = MockTransport(self.state)

    def client(self, config: Any) -> MockTransport:
        return self.transport

    def stream_decoder(self, request: Request) -> MockStreamDecoder:
        return MockStreamDecoder()

    # the script, delegated to the state ------------------------------------------------

    def configure(self, **settings: Any) -> None:
        """Script the mock: reply, replies, respond, latency, chunk_latency, chunk_size, ..."""
        self.state.configure(**settings)

    def fail_next(
        self, error: type[BaseException] | BaseException, times: int = 1, **kw: Any
    ) -> None:
        """Make the next `times` calls raise `error` (e.g. llm.RateLimitError, retry_after=1)."""
        self.state.fail_next(error, times, **kw)

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        self.state.reset()

    @property
    def requests(self) -> list[HttpCall]:
        """Every call the mock received, in order."""
        return self.state.requests
