"""The fluent builder: assembles a request and its pipeline, then runs it.

Immutable: every `with_*` returns a new builder, so a base builder can be shared and
specialised. A `with_*` method whose plug is absent adds it where it must act (feature
plugs declare their place with `position`), never silently doing nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import api, providers, rerun
from .config import masked_options, secret_key
from .errors import ConfigError, LLMPipeError
from .plug import Plug, build_pipeline, to_plug
from .request import Request
from .responses import StreamChunk

#: feature plugs the builder knows by name, imported only when used
FEATURES = {
    "Cache": "llmpipe_nb.plugs.cache:Cache",
    "SemanticCache": "llmpipe_nb.plugs.semantic_cache:SemanticCache",
    "RetryPolicy": "llmpipe_nb.plugs.retry_policy:RetryPolicy",
    "CircuitBreaker": "llmpipe_nb.plugs.circuit_breaker:CircuitBreaker",
    "RateLimiter": "llmpipe_nb.plugs.rate_limiter:RateLimiter",
    "ManageContext": "llmpipe_nb.plugs.manage_context:ManageContext",
    "Budget": "llmpipe_nb.plugs.budget:Budget",
    "RunTools": "llmpipe_nb.plugs.run_tools:RunTools",
}
DEFAULT_ANCHOR = "ExecuteRequest"


def feature(name: str) -> type[Plug]:
    module, _, cls = FEATURES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


@dataclass(frozen=True, slots=True)
class PlugInfo:
    """One resolved plug: its place, name and options (secrets masked)."""

    index: int
    name: str
    options: Mapping[str, Any]
    cls: str


class PipelineInfo(tuple):
    """The resolved plugs of a pipeline, in run order; renders as a table in notebooks."""

    provider: str
    kind: str

    def __new__(cls, plugs: Iterable[Plug], provider: str, kind: str) -> PipelineInfo:
        infos = [
            PlugInfo(i, p.name, p.options, f"{type(p).__module__}.{type(p).__qualname__}")
            for i, p in enumerate(plugs)
        ]
        self = super().__new__(cls, infos)
        self.provider, self.kind = provider, kind
        return self

    @property
    def names(self) -> list[str]:
        return [p.name for p in self]

    def __repr__(self) -> str:
        return f"PipelineInfo({self.provider}/{self.kind}: {' -> '.join(self.names)})"

    def _repr_html_(self) -> str:
        from .views import pipeline_html

        return pipeline_html(self)

    def __rich__(self) -> Any:
        from .views import pipeline_rich

        return pipeline_rich(self)


@dataclass(frozen=True, slots=True)
class _Insert:
    plug: Plug
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class _Remove:
    name: str
    strict: bool


@dataclass(frozen=True)
class Builder:
    """`llm.build(provider, messages, kind=...)`: chain `with_*` calls, then `execute()` (or
    `stream()` for a chat). For embeddings, `messages` holds the texts to embed."""

    provider: str
    messages: Any = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "chat"
    base: tuple[Any, ...] | None = None
    ops: tuple[_Insert | _Remove, ...] = ()
    tags: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def _with(self, **changes: Any) -> Builder:
        return replace(self, _cache={}, **changes)

    # -- request -----------------------------------------------------------------------

    def with_model(self, model: str) -> Builder:
        return self.with_options(model=model)

    def with_temperature(self, temperature: float) -> Builder:
        return self.with_options(temperature=temperature)

    def with_max_tokens(self, max_tokens: int) -> Builder:
        return self.with_options(max_tokens=max_tokens)

    def with_options(self, **options: Any) -> Builder:
        from .plugs.validate_provider import check_request_options

        check_request_options(options, providers.get(self.provider), self.kind)
        return self._with(options={**self.options, **secret_key(options)})

    def with_schema(self, schema: Any, *, repair: int = 0) -> Builder:
        """Ask for a structured answer of `schema`, read back typed into `parsed`; `repair`
        sends an answer that does not fit back to the model up to that many times."""
        from .structured import Schema

        Schema.of(schema)  # a schema JSON cannot express fails here, before anything is sent
        return self.with_options(schema=schema, repair=repair)

    def with_messages(self, messages: Any) -> Builder:
        return self._with(messages=messages)

    def with_tags(self, *tags: str) -> Builder:
        """Label the ledger rows of this request."""
        if not all(isinstance(t, str) and t for t in tags):
            raise ConfigError("Tags must be non-empty strings.")
        return self._with(tags=(*self.tags, *tags))

    # -- pipeline ----------------------------------------------------------------------

    def with_pipeline(self, pipeline: Iterable[Any]) -> Builder:
        """Replace the provider's pipeline with your own list of plug specs."""
        return self._with(base=tuple(build_pipeline(pipeline)))

    def with_custom_plug(
        self, plug: Any, *, before: str | None = None, after: str | None = None, **options: Any
    ) -> Builder:
        """Insert a plug (class, instance or function); by default where its `position` says
        (feature plugs), else just before the execute step."""
        if before and after:
            raise ConfigError("with_custom_plug takes before= or after=, not both.")
        if options and not isinstance(plug, type):
            raise ConfigError("Options go with a plug class, not an already built plug.")
        built = plug(**options) if isinstance(plug, type) else to_plug(plug)
        if not (before or after):
            where, anchor = getattr(built, "position", ("before", None))
            before, after = (anchor, None) if where == "before" else (None, anchor)
        return self._with(ops=(*self.ops, _Insert(built, before, after)))

    def without_plug(self, name: str) -> Builder:
        """Remove every plug called `name`; ConfigError if the pipeline has none."""
        return self._with(ops=(*self.ops, _Remove(name, True)))

    def with_tools(self, tools: Any, **options: Any) -> Builder:
        """Let the model call `tools` (functions, Tools, toolsets) until it answers; `options`
        are RunTools': max_steps, approve, timeout, parallel, max_failures, on_error."""
        from .tools.tool import as_tools

        as_tools(tools)  # a bad tool fails here, before anything is sent
        return self.with_options(tools=tools)._feature("RunTools", options)

    def _feature(self, name: str, options: Mapping[str, Any]) -> Builder:
        cls = feature(name)
        plug = cls(**options)
        where, anchor = getattr(cls, "position", ("before", DEFAULT_ANCHOR))
        insert = _Insert(plug, anchor, None) if where == "before" else _Insert(plug, None, anchor)
        return self._with(ops=(*self.ops, _Remove(cls.name, False), insert))

    def with_cache(self, ttl: float | None = 3600, **options: Any) -> Builder:
        """Answer repeated requests from a cache (store="memory" | "sqlite" | "redis");
        `semantic=True` also answers similar prompts (`threshold=`, `embed=`)."""
        if options.pop("semantic", False):
            return self._feature("SemanticCache", {"ttl": ttl, **options})
        return self._feature("Cache", {"ttl": ttl, **options})

    def without_cache(self) -> Builder:
        return self._with(ops=(*self.ops, _Remove("Cache", False)))

    def with_retry(self, **options: Any) -> Builder:
        return self._feature("RetryPolicy", options)

    def with_circuit_breaker(self, **options: Any) -> Builder:
        return self._feature("CircuitBreaker", options)

    def with_rate_limit(self, **options: Any) -> Builder:
        return self._feature("RateLimiter", options)

    def with_budget(self, **options: Any) -> Builder:
        return self._feature("Budget", options)

    def with_context_strategy(self, strategy: str, **options: Any) -> Builder:
        """Fit the messages to the context window: "truncate", "sliding_window" or "summarize"."""
        return self._feature("ManageContext", {"strategy": strategy, **options})

    def without_cost_tracking(self) -> Builder:
        return self._with(ops=(*self.ops, _Remove("TrackCost", False)))

    # -- resolution --------------------------------------------------------------------

    def pipeline(self) -> tuple[Plug, ...]:
        """The resolved plugs, in run order."""
        cached = self._cache.get("pipeline")
        if cached is None:
            base = (
                self.base
                if self.base is not None
                else providers.get_pipeline(self.provider, self.kind)
            )
            plugs = list(base)
            for op in self.ops:
                plugs = _apply(op, plugs)
            if "cache" in self.options:  # a per-call cache control brings the default cache along
                from .plugs.cache import ensure_cache

                plugs = list(ensure_cache(plugs))
            if not rerun.OPTIONS.isdisjoint(self.options):
                from .plugs.structured import ensure_structured

                plugs = list(ensure_structured(plugs))
            if "tools" in self.options:
                from .plugs.run_tools import ensure_run_tools
                from .tools.tool import runnable

                if runnable(self.options["tools"]):
                    plugs = list(ensure_run_tools(plugs, {}))
            cached = self._cache["pipeline"] = tuple(plugs)
        return cached

    def _streaming(self) -> Builder:
        if self.kind not in ("chat", "stream"):
            raise ConfigError(f"Only a chat streams: call execute() on this {self.kind} builder.")
        return self if self.kind == "stream" else self._with(kind="stream")

    def request(self) -> Request:
        """The Request this builder would send (checked, not sent)."""
        meta = {"tags": self.tags} if self.tags else None
        req = Request.new(self.provider, self.messages, self.options, kind=self.kind)
        return req.evolve(metadata=meta) if meta else req

    def inspect_pipeline(self) -> PipelineInfo:
        """The resolved plug list with each plug's options (secrets masked)."""
        return PipelineInfo(self.pipeline(), self.provider, self.kind)

    def debug_info(self) -> dict[str, Any]:
        """Provider, kind, options, plugs and configuration, with every secret masked."""
        provider = providers.get(self.provider)
        try:
            config: Any = provider.resolve_config({}).masked()
        except LLMPipeError as error:
            config = {"error": str(error)}
        return {
            "provider": self.provider,
            "kind": self.kind,
            "options": masked_options(self.options),
            "tags": list(self.tags),
            "plugs": [
                {"name": p.name, "options": dict(p.options)} for p in self.inspect_pipeline()
            ],
            "config": config,
        }

    # -- running -----------------------------------------------------------------------

    def run(self) -> Request:
        """Run and return the finished Request, without raising (for inspection)."""
        return api.run(self.request(), self.pipeline())

    async def arun(self) -> Request:
        return await api.arun(self.request(), self.pipeline())

    def execute(self) -> Any:
        """Run and return the result; raises the typed error if the run failed, and
        PipelineHalted (naming the plug and its reason) if a plug halted it without an
        answer. A plug that halts with one (a cache hit) gives that answer."""
        return api.finish(self.run())

    async def aexecute(self) -> Any:
        """Async `execute`, with the same results and errors."""
        return api.finish(await self.arun())

    def stream(self, callback: Callable[[StreamChunk], Any] | None = None) -> Any:
        """Stream the answer: an iterable ChatStream, or with `callback` the final ChatResponse."""
        b = self._streaming()
        return api.stream_request(b.request(), b.pipeline(), callback)

    def astream(self) -> api.AsyncChatStream:
        """Async `stream`: `async for chunk in builder.astream()`."""
        b = self._streaming()
        return api.AsyncChatStream(api.aitems(b.request(), b.pipeline()))

    def __repr__(self) -> str:
        return (
            f"Builder({self.provider}/{self.kind}: {' -> '.join(p.name for p in self.pipeline())})"
        )

    def _repr_html_(self) -> str:
        return self.inspect_pipeline()._repr_html_()

    def __rich__(self) -> Any:
        return self.inspect_pipeline().__rich__()


def _apply(op: _Insert | _Remove, plugs: list[Plug]) -> list[Plug]:
    names = [p.name for p in plugs]
    if isinstance(op, _Remove):
        if op.strict and op.name not in names:
            raise ConfigError(
                f"The pipeline has no plug named '{op.name}': its plugs are {', '.join(names)}."
            )
        return [p for p in plugs if p.name != op.name]
    anchor = op.before or op.after
    if anchor is None:
        anchor = (
            DEFAULT_ANCHOR
            if DEFAULT_ANCHOR in names
            else ("TrackCost" if "TrackCost" in names else None)
        )
        if anchor is None:
            return [*plugs, op.plug]
        index = names.index(anchor)
    elif anchor not in names:
        # a plug that stands where the anchor stands elsewhere (ExecuteLocally for ExecuteRequest)
        stand_in = next((p.name for p in plugs if getattr(p, "stands_for", None) == anchor), None)
        if stand_in is None:
            raise ConfigError(
                f"Cannot place {op.plug.name} next to '{anchor}': the pipeline's plugs are {', '.join(names)}."
            )
        index = names.index(stand_in) + (1 if op.after else 0)
    else:
        index = names.index(anchor) + (1 if op.after else 0)
    return [*plugs[:index], op.plug, *plugs[index:]]


def build(provider: str | None, messages: Any = None, *, kind: str = "chat") -> Builder:
    """Start a builder; `llm.build("Hi")` uses the default (mock) provider.

    `kind` is the operation: "chat" (`.stream()` streams it), "embeddings" (`messages` are
    the texts to embed), "completion", "list_models" or "validate"; every `with_*` feature
    (retry, circuit breaker, rate limit, budget, cache) works for each.
    """
    provider, messages = api._split(provider, messages)
    supported = providers.get(provider).kinds
    if kind == "stream":
        raise ConfigError("kind='stream' is not built directly: build a chat and call .stream().")
    if kind not in supported:
        raise ConfigError(
            f"Provider '{provider}' cannot build kind={kind!r}: it supports "
            f"{', '.join(k for k in supported if k != 'stream')}."
        )
    return Builder(provider, messages, kind=kind)


__all__ = ["Builder", "PipelineInfo", "PlugInfo", "build"]
