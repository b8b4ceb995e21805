"""What the fake servers exchange: recorded requests, replies, streams, and the wire base.

Each provider's fake is a `Wire` subclass that routes a `RecordedRequest` to a `Reply`
(one JSON body) or a `Stream` (frames written one at a time). The server around it
handles sockets, faults and recording, so a wire module only speaks its format.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from llmpipe_nb.structured import example_of

__all__ = ["RecordedRequest", "Reply", "Stream", "Wire"]

CREATED = 1735689600  # a fixed Unix time, so replies are byte-for-byte repeatable


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it went over the wire; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    json: Any
    request_id: str


@dataclass
class Reply:
    """A whole response: a JSON value (or raw bytes) with status and headers."""

    body: object
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Stream:
    """A streamed response: frames already in wire form, written one per chunk."""

    frames: Iterable[bytes]
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)


class Wire:
    """Base of the per-provider fakes: routing plus the pieces faults need."""

    name = ""
    base_path = ""
    default_line_ending = "\n"
    flavors: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        flavor: str | None = None,
        api_key: str | None = None,
        line_ending: str | None = None,
    ) -> None:
        if flavor is not None and flavor not in self.flavors:
            raise ValueError(
                f"{self.name} fake has no flavor {flavor!r}; use one of {self.flavors}."
            )
        self.flavor = flavor
        self.api_key = api_key
        self.eol = line_ending or self.default_line_ending
        self._answering = threading.local()

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        """Answer one request."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> object:
        """The provider's error envelope for an HTTP status."""
        raise NotImplementedError

    def stream_error_frame(self) -> bytes:
        """The provider's error event inside a stream that already answered 200."""
        raise NotImplementedError

    def malformed_frame(self) -> bytes:
        """A stream frame whose JSON does not parse."""
        return self.sse('{"id": "broken", "choices": [{')

    def without_usage(self, answer: Reply | Stream) -> Reply | Stream:
        """The same answer with every token count left out (the `no_usage` fault)."""
        if isinstance(answer, Reply):
            return Reply(_strip(answer.body), answer.status, answer.headers, answer.content_type)
        frames = [self._strip_frame(frame) for frame in answer.frames]
        return Stream(frames, answer.content_type, answer.headers)

    def _strip_frame(self, frame: bytes) -> bytes:
        text = frame.decode()
        if not text.lstrip().startswith(("data:", "event:")):  # one NDJSON line
            return (dumps(_strip(json.loads(text))) + "\n").encode()
        lines = text.split(self.eol)
        for index, line in enumerate(lines):
            if line.startswith("data:"):
                data = line.removeprefix("data:").strip()
                if data.startswith("{"):
                    lines[index] = f"data: {dumps(_strip(json.loads(data)))}"
        return self.eol.join(lines).encode()

    def credential_ok(self, request: RecordedRequest) -> bool:
        """Whether the request carries the configured key (always, when none is set)."""
        return self.api_key is None or (
            request.headers.get("authorization") == f"Bearer {self.api_key}"
        )

    def reply_headers(self, request: RecordedRequest) -> dict[str, str]:
        """Headers every response carries (request ids, rate-limit state)."""
        return {}

    @contextmanager
    def answering(self, text: str | None) -> Iterator[None]:
        """While handling one request: answer a structured-output request with `text`."""
        self._answering.text = text
        try:
            yield
        finally:
            self._answering.text = None

    def structured(self, schema: object, prompt: str) -> str:
        """The answer to a request for `schema`: a valid instance, the same for the same
        prompt (`example_of`), or the text a `structured_answer` fault asked for."""
        text = getattr(self._answering, "text", None)
        if text is not None:
            return text
        if not isinstance(schema, dict) or not schema.get("properties"):
            return json.dumps({"echo": prompt})  # JSON mode, or an object with no fields named
        return json.dumps(example_of(schema, prompt), ensure_ascii=False)  # streams word by word

    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
        return Reply(self.error_body(status, message), status, dict(headers or {}))

    def sse(self, data: str | object, event: str | None = None) -> bytes:
        """One server-sent event in this server's line ending."""
        text = data if isinstance(data, str) else dumps(data)
        lines = ([f"event: {event}"] if event else []) + [f"data: {text}", "", ""]
        return self.eol.join(lines).encode()


def dumps(value: object) -> str:
    """Compact JSON as the providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: the fields that carry token counts, in each provider's wire format
USAGE_FIELDS = frozenset({"usage", "usageMetadata", "prompt_eval_count", "eval_count"})


def _strip(value: Any) -> Any:
    """A JSON value with every usage field removed, at any depth."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in USAGE_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def last_text(items: Iterable[Mapping[str, Any]], roles: tuple[str, ...]) -> str:
    """Text of the last message whose role is one of `roles` (OpenAI/Ollama shape)."""
    for message in reversed(list(items)):
        if message.get("role") in roles:
            return content_text(message.get("content"))
    return ""


def content_text(content: object) -> str:
    """Text of a string content or of the text parts of a parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                inner = part.get("text", part.get("content"))
                if isinstance(inner, str):
                    texts.append(inner)
                elif isinstance(inner, list):
                    texts.append(content_text(inner))
        return " ".join(texts)
    return ""


def first_property(schema: object) -> str | None:
    """The first property name of a JSON-schema object, for deterministic tool args."""
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return next(iter(schema["properties"]), None)
    return None
