"""The one-call API: chat, stream, embeddings, completion, list_models, validate.

Each call builds a Request, runs the provider's pipeline for its kind, and returns the
normalised result, or raises the typed error with the finished Request attached.
Every call has an async twin (`achat`, `astream`, ...). The sync calls never touch
asyncio, so they work inside Jupyter's running loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from . import providers, rerun
from .errors import LLMPipeError
from .outcome import finish
from .pipeline import Pipeline
from .request import Request
from .responses import ChatResponse, EmbeddingResponse, ModelInfo, StreamChunk, ValidationResult
from .streams import AsyncChatStream, ChatStream

DEFAULT_PROVIDER_ENV = "LLMPIPE_PROVIDER"


def default_provider() -> str:
    """The provider used when none is named: $LLMPIPE_PROVIDER, else the offline mock."""
    return os.environ.get(DEFAULT_PROVIDER_ENV) or "mock"


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
    if not rerun.OPTIONS.isdisjoint(options):  # so does a structured answer its plug
        from .plugs.structured import ensure_structured

        pipeline = ensure_structured(pipeline)
    if "tools" in options:  # functions as tools bring the tool loop along
        from .plugs.run_tools import CALL_OPTIONS, ensure_run_tools
        from .tools.tool import runnable

        if runnable(options["tools"]) or not CALL_OPTIONS.keys().isdisjoint(options):
            options = dict(options)
            pipeline = ensure_run_tools(pipeline, options)
    return Request.new(provider, messages, options, kind=kind), pipeline


def _loops(pipeline: tuple[Any, ...]) -> bool:
    """Whether the pipeline can run tools; only then is the tool loop (and its imports) loaded."""
    return any(getattr(plug, "name", None) == "RunTools" for plug in pipeline)


def run(request: Request, pipeline: Iterable[Any]) -> Request:
    """Run a request through its pipeline, and its tool loop when the pipeline has RunTools."""
    pipeline = tuple(pipeline)
    if _loops(pipeline):
        from . import tool_loop

        return tool_loop.run(request, pipeline)
    return rerun.run(request, pipeline)


async def arun(request: Request, pipeline: Iterable[Any]) -> Request:
    """Async `run`."""
    pipeline = tuple(pipeline)
    if _loops(pipeline):
        from . import tool_loop

        return await tool_loop.arun(request, pipeline)
    return await rerun.arun(request, pipeline)


def items(request: Request, pipeline: Iterable[Any]) -> Any:
    """A stream's chunks then its finished request, through the tool loop when it has RunTools."""
    pipeline = tuple(pipeline)
    if _loops(pipeline):
        from . import tool_stream

        return tool_stream.stream(request, pipeline)
    return rerun.stream(request, pipeline)


def aitems(request: Request, pipeline: Iterable[Any]) -> Any:
    """Async `items`."""
    pipeline = tuple(pipeline)
    if _loops(pipeline):
        from . import tool_stream

        return tool_stream.astream(request, pipeline)
    return rerun.astream(request, pipeline)


def chat(provider: str | None, messages: Any = None, **options: Any) -> ChatResponse:
    """Send a chat and return the answer. `llm.chat("Hi")` uses the default (mock) provider.

    `schema=` (a pydantic model, dataclass, TypedDict, `list[...]`, Literal, Enum or JSON
    Schema dict) asks for a structured answer, read back typed into `reply.parsed`;
    `repair=N` sends an answer that does not fit back to the model up to N times.
    """
    provider, messages = _split(provider, messages)
    return finish(run(*prepare(provider, messages, options, "chat")))


async def achat(provider: str | None, messages: Any = None, **options: Any) -> ChatResponse:
    """Async `chat`: waits without blocking the event loop."""
    provider, messages = _split(provider, messages)
    return finish(await arun(*prepare(provider, messages, options, "chat")))


def complete(provider: str | None, prompt: Any = None, **options: Any) -> ChatResponse:
    """A legacy text completion of `prompt`."""
    provider, prompt = _split(provider, prompt)
    return finish(Pipeline.run(*prepare(provider, prompt, options, "completion")))


async def acomplete(provider: str | None, prompt: Any = None, **options: Any) -> ChatResponse:
    """Async `complete`."""
    provider, prompt = _split(provider, prompt)
    return finish(await Pipeline.arun(*prepare(provider, prompt, options, "completion")))


def embeddings(provider: str | None, inputs: Any = None, **options: Any) -> EmbeddingResponse:
    """Embed a string or a list of strings; vectors come back in input order."""
    provider, inputs = _split(provider, inputs)
    return finish(Pipeline.run(*prepare(provider, inputs, options, "embeddings")))


async def aembeddings(
    provider: str | None, inputs: Any = None, **options: Any
) -> EmbeddingResponse:
    """Async `embeddings`."""
    provider, inputs = _split(provider, inputs)
    return finish(await Pipeline.arun(*prepare(provider, inputs, options, "embeddings")))


def list_models(provider: str | None = None, **options: Any) -> list[ModelInfo]:
    """The models the provider offers."""
    provider = provider or default_provider()
    return finish(Pipeline.run(*prepare(provider, (), options, "list_models")))


async def alist_models(provider: str | None = None, **options: Any) -> list[ModelInfo]:
    """Async `list_models`."""
    provider = provider or default_provider()
    return finish(await Pipeline.arun(*prepare(provider, (), options, "list_models")))


def validate(provider: str | None = None, **options: Any) -> ValidationResult:
    """Check a provider's configuration (key present and accepted, endpoint reachable); never raises for a bad key."""
    provider = provider or default_provider()
    try:
        return finish(Pipeline.run(*prepare(provider, (), options, "validate")))
    except LLMPipeError as error:
        return ValidationResult(False, provider, str(error))


async def avalidate(provider: str | None = None, **options: Any) -> ValidationResult:
    """Async `validate`; never raises for a bad key either."""
    provider = provider or default_provider()
    try:
        return finish(await Pipeline.arun(*prepare(provider, (), options, "validate")))
    except LLMPipeError as error:
        return ValidationResult(False, provider, str(error))


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
    chat_stream = ChatStream(items(request, pipeline))
    if callback is None:
        return chat_stream
    with chat_stream:  # a callback that raises closes the stream
        for chunk in chat_stream:
            callback(chunk)
    return chat_stream.response


def astream(provider: str | None, messages: Any = None, **options: Any) -> AsyncChatStream:
    """Async stream: `async for chunk in llm.astream("openai", msgs)`."""
    provider, messages = _split(provider, messages)
    return AsyncChatStream(aitems(*prepare(provider, messages, options, "stream")))
