"""SemanticCache: on an exact miss, answer from the most similar stored prompt.

`with_cache(semantic=True, threshold=0.95, embed=("openai", "text-embedding-3-small"))`.
After the exact lookup misses, the prompt is embedded (with the provider and model in
`embed`, the request's own provider's embeddings by default, or a function from a list of
texts to a list of vectors) and compared with the stored prompts' vectors by cosine
similarity. The most similar one at or above `threshold` answers, marked
`cache_hit="semantic"` with `metadata["cache_similarity"]`; on a miss the similarity of
the nearest is still recorded, to tune the threshold by.

Only answers to the same provider, base URL, kind, model and options are compared (a
space per combination, and per embedder), so different models or options never share an
answer. The embed call runs through the embeddings pipeline with the default cache, so
it is itself cached, and shows in the ledger with its price. Vectors are kept by the
store (`CacheStore.vectors()`): memory, the SQLite file, or Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import Any, ClassVar

from .. import notices, registry
from ..errors import ConfigError, LLMPipeError, PipelineError, StoreError
from ..pipeline import AFTER_RUN, Pipeline
from ..request import Request
from ..stores import CacheStore
from ..stores.vectors import numpy
from .cache import CONTROL, Cache, CacheWrite, _hit, cache_control, ensure_cache, request_key

SEMANTIC = ("chat", "stream", "completion")
VECTOR = "llmpipe.cache.vector"  # (space, vector) of a miss, for the write
Embedder = Callable[[list[str]], Sequence[Sequence[float]]]


class SemanticCache(Cache):
    """The Cache, plus lookups by similarity (see the module doc); shown as Cache."""

    name: ClassVar[str] = "Cache"

    def __init__(
        self,
        ttl: float | None = 3600,
        store: str | CacheStore = "memory",
        key_fn: Callable[[Request], str] | None = None,
        namespace: str = "llmpipe",
        path: str | None = None,
        url: str | None = None,
        max_entries: int | None = None,
        semantic: bool = True,
        threshold: float = 0.95,
        embed: tuple[str, str | None] | Embedder | None = None,
    ) -> None:
        super().__init__(ttl, store, key_fn, namespace, path, url, max_entries)
        if semantic is not True:
            raise ConfigError("SemanticCache is the semantic cache: leave semantic=True.")
        if not isinstance(threshold, Real) or not 0 < threshold <= 1:
            raise ConfigError(
                f"The semantic threshold is a cosine similarity above 0 and at most 1, "
                f"not {threshold!r}."
            )
        if isinstance(embed, tuple):
            _check_embedder(embed)
        numpy()  # fails now, naming the extra, rather than on the first request
        self.semantic = semantic
        self.threshold: float = float(threshold)
        self.embed: tuple[str, str | None] | Embedder | None = embed
        self._writer = SemanticWrite(self)

    # -- lookup ----------------------------------------------------------------------

    def call(self, request: Request) -> Request:
        read = cache_control(request.options.get(CONTROL, True))[0]
        out = super().call(request)
        if not self._wanted(out):
            return out
        done = Pipeline.run(*self._embed_request(out)) if self._by_provider else None
        out, vector = self._embedded(out, done)
        return out if vector is None else self._look(out, vector, read)

    async def acall(self, request: Request) -> Request:
        read = cache_control(request.options.get(CONTROL, True))[0]
        out = await super().acall(request)
        if not self._wanted(out):
            return out
        done = await Pipeline.arun(*self._embed_request(out)) if self._by_provider else None
        out, vector = self._embedded(out, done)
        if vector is None:
            return out
        return await asyncio.to_thread(self._look, out, vector, read)  # the store may be Redis

    @property
    def _by_provider(self) -> bool:
        return not callable(self.embed)

    def _wanted(self, request: Request) -> bool:
        """An exact miss that will be looked up or stored (a `cache_key` says so)."""
        return request.kind in SEMANTIC and not request.halted and "cache_key" in request.metadata

    def _embed_request(self, request: Request) -> tuple[Request, tuple[Any, ...]]:
        """The embeddings request for the prompt, through the cached embeddings pipeline."""
        provider, model = self.embed if isinstance(self.embed, tuple) else (request.provider, None)
        if "embeddings" not in registry.get(provider).kinds:
            raise ConfigError(
                f"Provider '{provider}' has no embeddings for the semantic cache: pass "
                "embed=(provider, model) with one that has, or a function."
            )
        options: dict[str, Any] = {"cache": True, **({"model": model} if model else {})}
        embed = Request.new(provider, [prompt_text(request.messages)], options, kind="embeddings")
        return embed, ensure_cache(registry.get_pipeline(provider, "embeddings"))

    def _embedded(self, request: Request, done: Request | None) -> tuple[Request, Any]:
        """The prompt's vector, or None with the reason recorded on `request`."""
        if done is not None and done.terminal_error is not None:
            error = done.terminal_error
            if not isinstance(error, LLMPipeError):
                error = PipelineError(f"The semantic cache's embed call failed: {error}")
            return self._unembedded(request, error), None
        try:
            if done is None:
                vectors = self.embed([prompt_text(request.messages)])  # type: ignore[misc,operator]
            else:
                vectors = done.result.embeddings
            vector = numpy().asarray(vectors[0], dtype="float32")
            if vector.ndim != 1 or not vector.size:
                raise ValueError(f"a vector of shape {vector.shape}")
        except (IndexError, TypeError, ValueError) as error:
            failure = ConfigError(
                f"The semantic cache's embed function must return one list of numbers per "
                f"text, not {error}: check embed=."
            )
            return self._unembedded(request, failure), None
        return request, vector

    def _unembedded(self, request: Request, error: LLMPipeError) -> Request:
        """Record why the prompt has no vector (the request goes on, looked up exactly only);
        warn the first time."""
        if not self.__dict__.get("_warned"):
            self._warned = True
            notices.warn(
                __name__, f"{error.message} The semantic cache looks up exact repeats only."
            )
        return request.add_error(error, plug=self.name)

    def _look(self, request: Request, vector: Sequence[float], read: bool) -> Request:
        space = self.space(request)
        request = request.put_private(VECTOR, (space, vector))
        if not read:
            return request
        backend = self.backend()
        try:
            found = backend.vectors().nearest(space, vector)
            if found is None:
                return request
            request = request.put_metadata("cache_similarity", round(found.score, 4))
            if found.score < self.threshold:
                return request
            raw = backend.get(found.key)
            if raw is None:  # expired or evicted since
                backend.vectors().remove(space, found.key)
                return request
        except StoreError as error:
            return self.failed(request, error, self.name)
        hit = _hit(request, found.key, raw)
        if hit is None:
            return request
        hit.result.cache_hit = "semantic"
        hooks = tuple(h for h in hit.private.get(AFTER_RUN, ()) if h is not self._writer)
        hit = hit.put_private(AFTER_RUN, hooks)  # nothing new to store
        return hit.put_metadata("cache_hit", "semantic").halt(
            f"semantic cache hit (similarity {found.score:.3f})"
        )

    def space(self, request: Request) -> str:
        """Where the prompt's vector is compared: its provider, model and options, and the embedder."""
        if callable(self.embed):
            embedder = f"{getattr(self.embed, '__module__', '')}.{getattr(self.embed, '__qualname__', repr(self.embed))}"
        else:
            embedder = "/".join(str(x) for x in self.embed or (request.provider, None))
        same = request_key(request.evolve(messages=()))
        return hashlib.sha256(f"{self.namespace}|{embedder}|{same}".encode()).hexdigest()


class SemanticWrite(CacheWrite):
    """Stores the answer of a miss, then its prompt's vector beside it."""

    cache: SemanticCache

    def call(self, request: Request) -> Request:
        return self._remember(super().call(request))

    async def acall(self, request: Request) -> Request:
        return await asyncio.to_thread(self._remember, await super().acall(request))

    def _remember(self, request: Request) -> Request:
        held = request.private.get(VECTOR)
        if held is None or not request.metadata.get("cache_stored"):
            return request
        space, vector = held
        try:
            self.cache.backend().vectors().add(space, request.metadata["cache_key"], vector)
        except StoreError as error:
            return self.cache.failed(request, error, self.name)
        return request


def prompt_text(messages: Sequence[Any]) -> str:
    """The text the semantic cache embeds: each message's role and text, one a line."""
    lines = []
    for m in messages:
        if isinstance(m, str):
            lines.append(m)
        elif isinstance(m, Mapping):
            content = m.get("content")
            if isinstance(content, (list, tuple)):
                content = " ".join(
                    p.get("text", "") for p in content if isinstance(p, Mapping) and "text" in p
                )
            lines.append(f"{m.get('role', 'user')}: {content or ''}")
    return "\n".join(lines)


def _check_embedder(embed: tuple[Any, ...]) -> None:
    if len(embed) != 2 or not isinstance(embed[0], str):
        raise ConfigError(
            f"embed= takes (provider, model), such as ('openai', 'text-embedding-3-small'), "
            f"or a function from texts to vectors, not {embed!r}."
        )
    if "embeddings" not in registry.get(embed[0]).kinds:
        raise ConfigError(
            f"Provider '{embed[0]}' has no embeddings: give embed= a provider that has, "
            "or a function from texts to vectors."
        )
