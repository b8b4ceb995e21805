"""The one-call API: chat, stream, embeddings, completion, list_models, validate.

Each call builds a Request, runs the provider's pipeline for its kind, and returns the
normalised result, or raises the typed error with the finished Request attached.
The sync calls never touch asyncio, so they work inside Jupyter's running loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from . import providers
from .errors import LLMPipeError, PipelineError
from .pipeline import Pipeline
from .request import Request
from .responses import ChatResponse, EmbeddingResponse, ModelInfo, StreamChunk, ValidationResult

DEFAULT_PROVIDER_ENV = "LLMPIPE_PROVIDER"


def default_provider() -> str:
    """The provider used when none is named: $LLMPIPE_PROVIDER, else the offline mock."""
    return os.environ.get(DEFAULT_PROVIDER_ENV) or "mock"


def raise_for(done: Request) -> None:
    """Raise the error that stopped `done`, typed, with the request attached."""
    error = done.terminal_error
    if error is None:
        return
    if not isinstance(error, LLMPipeError):
        plug = next((e.plug for e in reversed(done.errors) if e.error is error), None)
        raise PipelineError(
            f"Plug {plug} failed with {type(error).__name__}: {error}", request=done
        ) from error
    error.request = done
    raise error


def finish(done: Request) -> Any:
    """The result of a finished request, linked back to it; raises its terminal error."""
    raise_for(done)
    result = done.result
    if result is None and done.state == "completed":
        raise PipelineError(
            "The pipeline finished without a result: it needs the provider's prepare, execute "
            "and parse plugs (compare inspect_pipeline() with the provider's pipeline).",
            request=done,
        )
    if hasattr(result, "request"):
        result.request = done
        meta = done.metadata
        if meta.get("cache_hit"):
            result.cache_hit = True
        if result.latency_ms is None and "duration_ns" in meta:
            result.latency_ms = meta["duration_ns"] / 1e6
    return result


def _split(provider: str | None, messages: Any) -> tuple[str, Any]:
    """`f(provider, messages)`, or `f(messages)` for the default provider, or `f(provider)`."""
    if messages is None:
        if isinstance(provider, str) and provider in providers.names():
            return provider, ()
        return default_provider(), provider
    return provider or default_provider(), messages


def prepare(
    provider: str, messages: Any, options: dict[str, Any], kind: str
) -> tuple[Request, tuple[Any, ...]]:
    """The request and its provider pipeline; bad input raises here, before anything is sent."""
    pipeline = providers.get_pipeline(provider, kind)
    if "cache" in options:  # a per-call cache control brings the default cache along
        from .plugs.cache import ensure_cache

        pipeline = ensure_cache(pipeline)
    return Request.new(provider, messages, options, kind=kind), pipeline


def chat(provider: str | None, messages: Any = None, **options: Any) -> ChatResponse:
    """Send a chat and return the answer. `llm.chat("Hi")` uses the default (mock) provider."""
    provider, messages = _split(provider, messages)
    return finish(Pipeline.run(*prepare(provider, messages, options, "chat")))


async def achat(provider: str | None, messages: Any = None, **options: Any) -> ChatResponse:
    """Async `chat`: waits without blocking the event loop."""
    provider, messages = _split(provider, messages)
    return finish(await Pipeline.arun(*prepare(provider, messages, options, "chat")))


def complete(provider: str | None, prompt: Any = None, **options: Any) -> ChatResponse:
    """A legacy text completion of `prompt`."""
    provider, prompt = _split(provider, prompt)
    return finish(Pipeline.run(*prepare(provider, prompt, options, "completion")))


def embeddings(provider: str | None, inputs: Any = None, **options: Any) -> EmbeddingResponse:
    """Embed a string or a list of strings; vectors come back in input order."""
    provider, inputs = _split(provider, inputs)
    return finish(Pipeline.run(*prepare(provider, inputs, options, "embeddings")))


async def aembeddings(
    provider: str | None, inputs: Any = None, **options: Any
) -> EmbeddingResponse:
    provider, inputs = _split(provider, inputs)
    return finish(await Pipeline.arun(*prepare(provider, inputs, options, "embeddings")))


def list_models(provider: str | None = None, **options: Any) -> list[ModelInfo]:
    """The models the provider offers."""
    provider = provider or default_provider()
    return finish(Pipeline.run(*prepare(provider, (), options, "list_models")))


def validate(provider: str | None = None, **options: Any) -> ValidationResult:
    """Check a provider's configuration (key present and accepted, endpoint reachable); never raises for a bad key."""
    provider = provider or default_provider()
    try:
        return finish(Pipeline.run(*prepare(provider, (), options, "validate")))
    except LLMPipeError as error:
        return ValidationResult(False, provider, str(error))


class ChatStream:
    """A streamed answer: iterate for StreamChunks; `.response` holds the ChatResponse afterwards.

    The last chunk has `done=True`, the finish reason and the usage. A failure raises the
    typed error after the chunks that did arrive.
    """

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self.response: ChatResponse | None = None
        self.request: Request | None = None

    def __iter__(self) -> Iterator[StreamChunk]:
        for item in self._items:
            if isinstance(item, Request):
                yield from self._finish(item)
            else:
                yield item

    def _finish(self, done: Request) -> Iterator[StreamChunk]:
        self.request = done
        self.response = finish(done)
        r = self.response
        yield StreamChunk(
            done=True, finish_reason=r.finish_reason, usage=r.usage, tool_calls=r.tool_calls
        )

    def text(self) -> str:
        """The whole answer: consumes what is left of the stream; later calls return it again."""
        for _ in self:
            pass
        return self._text()

    def _text(self) -> str:
        if self.request is None:
            raise PipelineError("The stream was closed before it finished: start a new one.")
        return finish(self.request).content  # raises the stream's error again, if it failed


class AsyncChatStream(ChatStream):
    """Async twin of ChatStream: `async for chunk in llm.astream(...)`."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self._aitems = items
        self.response = None
        self.request = None

    async def __aiter__(self) -> AsyncIterator[StreamChunk]:
        async for item in self._aitems:
            if isinstance(item, Request):
                for chunk in self._finish(item):
                    yield chunk
            else:
                yield item

    async def atext(self) -> str:
        """Async `text()`."""
        async for _ in self:
            pass
        return self._text()


def stream(
    provider: str | None,
    messages: Any = None,
    *,
    callback: Callable[[StreamChunk], Any] | None = None,
    **options: Any,
) -> Any:
    """Stream an answer. Without `callback`: an iterable ChatStream. With one: calls it per chunk
    and returns the final ChatResponse."""
    provider, messages = _split(provider, messages)
    request, pipeline = prepare(provider, messages, options, "stream")
    return stream_request(request, pipeline, callback)


def stream_request(
    request: Request, pipeline: Iterable[Any], callback: Callable[[StreamChunk], Any] | None
) -> Any:
    chat_stream = ChatStream(Pipeline.stream(request, pipeline))
    if callback is None:
        return chat_stream
    for chunk in chat_stream:
        callback(chunk)
    return chat_stream.response


def astream(provider: str | None, messages: Any = None, **options: Any) -> AsyncChatStream:
    """Async stream: `async for chunk in llm.astream("openai", msgs)`."""
    provider, messages = _split(provider, messages)
    return AsyncChatStream(Pipeline.astream(*prepare(provider, messages, options, "stream")))
