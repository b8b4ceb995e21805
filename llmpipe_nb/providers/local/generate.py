"""Running a prepared call on a loaded model: whole answers, and streams from a worker thread.

A llama.cpp context is not thread-safe, so every call holds the model's lock. A stream
runs in a worker thread that hands each token's chunk over a queue, so the caller's
thread (or event loop) only waits for chunks: a notebook stays responsive, an async
stream lets other tasks run, and closing the stream early stops the generation at the
next token. The model's own counts are kept: llama.cpp reports them for whole answers,
and a stream counts its prompt and its sampled tokens as they are evaluated.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ContextLengthError, ProviderError
from .models import LoadedModel

PROVIDER = "local"
_END = object()


@dataclass(frozen=True, slots=True)
class LocalCall:
    """What to run: `method` of llama-cpp-python's `Llama` ("create_chat_completion",
    "create_completion" or "create_embedding") with these keyword arguments."""

    method: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = False


class TokenCounter:
    """A llama.cpp logits processor that only counts: the prompt's length at the first sampled
    token, and how many tokens were sampled."""

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.sampled = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        self.sampled += 1
        return scores


def _failure(error: Exception, model: LoadedModel) -> ProviderError:
    text = str(error)
    if "context window" in text or "exceed" in text:
        return ContextLengthError(
            f"The prompt does not fit the model's context of {model.settings.n_ctx} tokens "
            f"({text}): shorten it, or load the model with a larger n_ctx.",
            provider=PROVIDER,
        )
    return ProviderError(f"llama.cpp failed: {text}", provider=PROVIDER)


def run(model: LoadedModel, call: LocalCall) -> dict[str, Any]:
    """The whole answer, as llama-cpp-python returns it (OpenAI-shaped)."""
    with model.lock:
        if model.llama is None:
            raise ProviderError("The model was unloaded: run the request again.", provider=PROVIDER)
        try:
            return getattr(model.llama, call.method)(**call.kwargs)
        except ValueError as error:
            raise _failure(error, model) from None


class Generation:
    """One streamed generation running in a worker thread; iterate it (sync or async) for
    llama-cpp-python's chunks. `close()` stops it at the next token."""

    def __init__(self, model: LoadedModel, call: LocalCall) -> None:
        self.model = model
        self.call = call
        self.counter = TokenCounter()
        self.finish_reason: str | None = None
        self.started = time.perf_counter()
        self.first_token_s: float | None = None
        self.elapsed_s = 0.0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="llmpipe-local", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            with self.model.lock:
                llama = self.model.llama
                if llama is None:
                    raise ProviderError(
                        "The model was unloaded: run the request again.", provider=PROVIDER
                    )
                from llama_cpp import LogitsProcessorList

                kwargs = {**self.call.kwargs, "stream": True}
                kwargs["logits_processor"] = LogitsProcessorList([self.counter])
                chunks = getattr(llama, self.call.method)(**kwargs)
                try:
                    for chunk in chunks:
                        if self._stop.is_set():
                            break
                        if self.first_token_s is None:
                            self.first_token_s = time.perf_counter() - self.started
                        for choice in chunk.get("choices") or ():
                            self.finish_reason = choice.get("finish_reason") or self.finish_reason
                        self._queue.put(chunk)
                finally:
                    chunks.close()
        except ValueError as error:
            self._queue.put(_failure(error, self.model))
        except Exception as error:
            self._queue.put(error)
        finally:
            self.elapsed_s = time.perf_counter() - self.started
            self._queue.put(_END)

    def _item(self, item: Any) -> Any:
        if isinstance(item, ProviderError):
            raise item
        if isinstance(item, Exception):
            raise ProviderError(f"llama.cpp failed: {item}", provider=PROVIDER) from item
        return item

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (item := self._queue.get()) is not _END:
            yield self._item(item)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = await asyncio.to_thread(self._queue.get)
            if item is _END:
                return
            yield self._item(item)

    def close(self) -> None:
        """Stop at the next token; the model's lock is free once the worker has ended."""
        self._stop.set()

    def usage(self) -> tuple[int, int]:
        """(prompt tokens, completion tokens) as the model evaluated them; the end-of-text
        token that stopped it is not part of the answer."""
        sampled = self.counter.sampled
        if self.finish_reason == "stop" and sampled:
            sampled -= 1
        return self.counter.prompt_tokens or 0, sampled
