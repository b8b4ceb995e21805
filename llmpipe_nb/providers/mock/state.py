"""The mock's script: replies, latency and injected errors; and the calls it received."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...errors import ConfigError, ProviderError, RateLimitError
from ...structured import example_of
from ...transport import HttpCall
from .tools import tool_answer, tool_calls

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


def structured_reply(body: Mapping[str, Any]) -> str | None:
    """For a JSON-schema response format: a valid instance, the same for the same prompt."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") != "json_schema" or not isinstance(schema, Mapping):
        return None
    prompt = " ".join(
        str(m.get("content")) for m in body.get("messages", ()) if m.get("role") == "user"
    )
    return json.dumps(example_of(schema, prompt), ensure_ascii=False)


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
        """The reply for a chat body: scripted, queued, computed, or derived from the prompt
        (tool calls when tools are offered, then an answer that quotes their results)."""
        with self._lock:
            queued = self.replies.popleft() if self.replies else None
        reply: Any = (
            queued
            if queued is not None
            else self.respond(body)
            if self.respond is not None
            else body.get("mock_reply")
            or self.reply
            or _asked(body)
            or structured_reply(body)
            or tool_answer(body["messages"])
            or default_reply(body["messages"])
        )
        if isinstance(reply, BaseException):
            raise reply
        return {"content": reply} if isinstance(reply, str) else dict(reply)


def _asked(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The reply that asks for the offered tools, or None."""
    calls = tool_calls(body)
    return {"content": "", "tool_calls": calls} if calls else None


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
