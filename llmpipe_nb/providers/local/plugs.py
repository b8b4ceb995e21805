"""The local provider's plugs: load the model, prepare the call, execute it here, parse it.

They stand where an HTTP provider's plugs stand: `LoadModel` where `BuildHttpClient`
attaches a connection pool, `ExecuteLocally` where `ExecuteRequest` sends the call, so
every feature plug (cache, retry, budget, context management) finds its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from time import perf_counter
from typing import Any, ClassVar

from ...errors import ConfigError, PipelineError
from ...plug import Plug
from ...plugs.check_embeddings import checked_vectors
from ...request import Request
from ...responses import StreamChunk
from . import calls, generate, models
from .generate import PROVIDER
from .gguf import read_info

MODEL = "llmpipe.local.model"
#: how token vectors are pooled when the model has no pooling of its own and none is asked
POOLING_DEFAULT = "mean"


def _setting(request: Request, name: str) -> Any:
    """A load setting: the request's option, else `llm.configure("local", extra={...})`."""
    if request.options.get(name) is not None:
        return request.options[name]
    extra = dict(getattr(request.config, "extra", ()) or ())
    return extra.get(name)


def _whole(name: str, value: Any, lowest: int) -> Any:
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or value < lowest
    ):
        raise ConfigError(f"{name} must be a whole number >= {lowest}, not {value!r}.")
    return value


def settings_for(request: Request) -> models.Settings:
    """How this request's model must be loaded (embeddings load it in embedding mode)."""
    path = models.resolve_path(request.model, _setting(request, "models_dir"))
    info = read_info(path)
    return models.Settings(
        path=info.path,
        n_ctx=models.effective_n_ctx(_whole("n_ctx", _setting(request, "n_ctx"), 16), info),
        n_threads=_whole("n_threads", _setting(request, "n_threads"), 1),
        n_gpu_layers=_whole("n_gpu_layers", _setting(request, "n_gpu_layers"), -1) or 0,
        embedding=request.kind == "embeddings",
    )


class LoadModel(Plug):
    """Puts the loaded model in `private` (loaded once per process and settings, then shared)."""

    stands_for: ClassVar[str] = "BuildHttpClient"

    def call(self, request: Request) -> Request:
        if request.kind == "list_models":
            return request
        settings = settings_for(request)
        model, fresh = models.load(settings)
        facts: dict[str, Any] = {"model_path": settings.path, "n_ctx": settings.n_ctx}
        if fresh:
            facts["model_load_ms"] = model.load_s * 1000
        return request.put_private(MODEL, model).update_metadata(facts)

    async def acall(self, request: Request) -> Request:
        return await asyncio.to_thread(self.call, request)  # loading takes seconds


class LocalPrepareRequest(Plug):
    """Turns the request into a `LocalCall` for llama-cpp-python (a pure function of data)."""

    def call(self, request: Request) -> Request:
        model = request.private.get(MODEL)
        name = model.name if model is not None else ""
        return request.evolve(provider_request=calls.prepare(request, name))


def _facts(start: float, output_tokens: int, ttft_s: float | None = None) -> dict[str, Any]:
    """Timing of one local run, shaped like an HTTP call's facts (one attempt)."""
    elapsed_ms = (perf_counter() - start) * 1000
    facts: dict[str, Any] = {
        "attempts": 1,
        "attempt_log": (
            {
                "attempt": 1,
                "outcome": "ok",
                "status_code": None,
                "duration_ms": elapsed_ms,
                "retry_in_s": None,
            },
        ),
        "latency_ms": elapsed_ms,
        "compute_ms": elapsed_ms,
    }
    if output_tokens and elapsed_ms > 0:
        facts["tokens_per_second"] = output_tokens / (elapsed_ms / 1000)
    if ttft_s is not None:
        facts["ttft_ms"] = ttft_s * 1000
    return facts


def _listing(request: Request) -> list[dict[str, Any]]:
    loaded = {m.settings.path for m in models.loaded()}
    out = []
    for path in models.known_models(_setting(request, "models_dir")):
        try:
            window = read_info(path).context_length
        except ConfigError:
            continue  # not a readable GGUF file: not a model we know
        out.append({"path": path, "context_window": window, "loaded": path in loaded})
    return out


class ExecuteLocally(Plug):
    """Runs the call on the loaded model, here: off the event loop for async callers, token by
    token from a worker thread for streams. Puts llama-cpp-python's answer in `response`."""

    stands_for: ClassVar[str] = "ExecuteRequest"

    def _model(self, request: Request) -> models.LoadedModel:
        model = request.private.get(MODEL)
        if model is None or request.provider_request is None:
            raise PipelineError(
                "ExecuteLocally found no loaded model or call: put LoadModel and "
                "LocalPrepareRequest before it."
            )
        return model

    def _other(self, request: Request) -> Request | None:
        """The kinds that generate nothing: the model list, and the check that a model loads."""
        if request.kind == "list_models":
            return request.evolve(response=_listing(request))
        if request.kind == "validate":
            model = self._model(request)
            known = len(models.known_models(_setting(request, "models_dir")))
            body = {
                "name": model.name,
                "n_ctx": model.settings.n_ctx,
                "load_s": model.load_s,
                "known": known,
            }
            return request.evolve(response=body)
        return None

    def _done(self, request: Request, body: Mapping[str, Any], start: float) -> Request:
        output = int((body.get("usage") or {}).get("completion_tokens") or 0)
        return request.evolve(response=body, metadata={**request.metadata, **_facts(start, output)})

    def call(self, request: Request) -> Request:
        if (other := self._other(request)) is not None:
            return other
        model, start = self._model(request), perf_counter()
        return self._done(request, generate.run(model, request.provider_request), start)

    async def acall(self, request: Request) -> Request:
        if (other := self._other(request)) is not None:
            return other
        model, start = self._model(request), perf_counter()
        body = await asyncio.to_thread(generate.run, model, request.provider_request)
        return self._done(request, body, start)

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        model = self._model(request)
        generation = generate.Generation(model, request.provider_request)
        text: list[str] = []
        try:
            for chunk in generation:
                if piece := _delta(chunk):
                    text.append(piece)
                    yield StreamChunk(content=piece)
        finally:
            generation.close()
        yield _streamed(request, model, generation, "".join(text))

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        model = self._model(request)
        generation = generate.Generation(model, request.provider_request)
        text: list[str] = []
        try:
            async for chunk in generation:
                if piece := _delta(chunk):
                    text.append(piece)
                    yield StreamChunk(content=piece)
        finally:
            generation.close()
        yield _streamed(request, model, generation, "".join(text))


def _delta(chunk: Mapping[str, Any]) -> str:
    choice = (chunk.get("choices") or [{}])[0]
    if "text" in choice:
        return choice.get("text") or ""
    return (choice.get("delta") or {}).get("content") or ""


def _streamed(
    request: Request, model: models.LoadedModel, generation: generate.Generation, text: str
) -> Request:
    """The finished stream as a whole answer, counted by the model as it generated."""
    prompt, completion = generation.usage()
    body = {
        "id": f"local-{request.id}",
        "object": "chat.completion",
        "model": model.name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": generation.finish_reason,
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
    }
    facts = _facts(generation.started, completion, generation.first_token_s)
    return request.evolve(response=body, metadata={**request.metadata, **facts})


class LocalParseResponse(Plug):
    """Turns llama-cpp-python's answer into the common result for the request's kind."""

    def call(self, request: Request) -> Request:
        body = request.response
        kind = request.kind
        result: Any
        if kind in ("chat", "stream", "completion"):
            result = calls.parse_chat(body)
            result.latency_ms = request.metadata.get("latency_ms")
        elif kind == "embeddings":
            result = calls.parse_embeddings(body)
            # a model without a pooling of its own (a chat model) gives token vectors: pooled here
            pooling = request.options.get("pooling") or POOLING_DEFAULT
            result.embeddings = checked_vectors(
                result.embeddings, len(request.messages), PROVIDER, pooling
            )
        elif kind == "list_models":
            result = calls.model_infos(body)
        else:
            result = calls.validation(body)
        return request.put_result(result)
