"""The OpenTelemetry GenAI semantic conventions, read off a finished request.

Plain functions of the finished Request, without OpenTelemetry itself, so the names and
attributes a trace viewer expects (`gen_ai.operation.name`, `gen_ai.usage.input_tokens`,
`server.address`, ...) are decided in one place and tested without an SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import redact
from ..request import Request
from ..responses import Usage
from ..tagging import active_tags, merge

#: request kind -> gen_ai.operation.name (list_models and validate have no convention name)
OPERATIONS = {
    "chat": "chat",
    "stream": "chat",
    "completion": "text_completion",
    "embeddings": "embeddings",
    "list_models": "list_models",
    "validate": "validate",
}

#: provider name -> gen_ai.provider.name, where the conventions spell it otherwise
PROVIDERS = {"gemini": "gcp.gemini", "mistral": "mistral_ai", "xai": "x_ai"}

#: request option -> (attribute, the types it may have)
OPTIONS: dict[str, tuple[str, tuple[type, ...]]] = {
    "max_tokens": ("gen_ai.request.max_tokens", (int,)),
    "max_completion_tokens": ("gen_ai.request.max_tokens", (int,)),
    "temperature": ("gen_ai.request.temperature", (int, float)),
    "top_p": ("gen_ai.request.top_p", (int, float)),
    "top_k": ("gen_ai.request.top_k", (int, float)),
    "seed": ("gen_ai.request.seed", (int,)),
    "frequency_penalty": ("gen_ai.request.frequency_penalty", (int, float)),
    "presence_penalty": ("gen_ai.request.presence_penalty", (int, float)),
}

#: the attributes a metric point carries (the conventions' low-cardinality set)
METRIC_KEYS = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
    "error.type",
)


def provider_name(request: Request) -> str:
    """`gen_ai.provider.name`: the conventions' name (Gemini on Vertex AI is `gcp.vertex_ai`)."""
    if request.provider == "gemini" and "aiplatform.googleapis.com" in (_base_url(request) or ""):
        return "gcp.vertex_ai"
    return PROVIDERS.get(request.provider, request.provider)


def span_name(request: Request) -> str:
    """`"{operation} {model}"`; a model listing or key check is named after its provider."""
    operation = OPERATIONS.get(request.kind, request.kind)
    if request.kind in ("list_models", "validate"):
        return f"{operation} {request.provider}"
    model = request.model
    return f"{operation} {model}" if model else operation


def request_attributes(done: Request) -> dict[str, Any]:
    """Every span attribute of a finished request (content aside: see `content.py`)."""
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS.get(done.kind, done.kind),
        "gen_ai.provider.name": provider_name(done),
        "llmpipe.request.id": done.id,
        "llmpipe.state": done.state,
    }
    if done.model:
        attrs["gen_ai.request.model"] = done.model
    if done.kind == "stream":
        attrs["gen_ai.request.stream"] = True
    _options(done.options, attrs)
    _server(done, attrs)
    _result(done, attrs)
    _facts(done, attrs)
    error = done.terminal_error
    if error is not None:
        attrs["error.type"] = type(error).__name__
    return attrs


def metric_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of the span's attributes that metric points carry."""
    return {k: attrs[k] for k in METRIC_KEYS if k in attrs}


def cache_hit(done: Request) -> bool:
    return bool(done.metadata.get("cache_hit") or getattr(done.result, "cache_hit", False))


def usage(done: Request) -> Usage | None:
    """The tokens this run consumed: none for a cache hit; an interrupted stream's part."""
    if cache_hit(done):
        return None
    found = getattr(done.result, "usage", None)
    if found is None and done.terminal_error is not None:
        found = getattr(done.terminal_error, "usage", None)
    return found if isinstance(found, Usage) else None


def _options(options: Mapping[str, Any], attrs: dict[str, Any]) -> None:
    for name, (key, types) in OPTIONS.items():
        value = options.get(name)
        if isinstance(value, types) and not isinstance(value, bool):
            attrs[key] = value
    stop = options.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = tuple(stop)


def _base_url(request: Request) -> str | None:
    url = getattr(request.config, "base_url", None)
    return url if isinstance(url, str) else None


def _server(done: Request, attrs: dict[str, Any]) -> None:
    url = _base_url(done)
    if not url:
        return
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:  # a malformed base URL names no server
        return
    if parts.hostname:
        attrs["server.address"] = parts.hostname
        if port:
            attrs["server.port"] = port


def _result(done: Request, attrs: dict[str, Any]) -> None:
    result = done.result
    model = getattr(result, "model", None)
    if isinstance(model, str) and model:
        attrs["gen_ai.response.model"] = model
    response_id = getattr(result, "id", None)
    if isinstance(response_id, str) and response_id:
        attrs["gen_ai.response.id"] = response_id
    finish = getattr(result, "finish_reason", None)
    if isinstance(finish, str) and finish:
        attrs["gen_ai.response.finish_reasons"] = (finish,)
    vectors = getattr(result, "embeddings", None)
    if isinstance(vectors, list) and vectors and isinstance(vectors[0], list):
        attrs["gen_ai.embeddings.dimension.count"] = len(vectors[0])
    used = usage(done)
    if used is not None:
        attrs["gen_ai.usage.input_tokens"] = used.input_tokens
        attrs["gen_ai.usage.output_tokens"] = used.output_tokens
        if used.cached_input_tokens:
            attrs["gen_ai.usage.cache_read.input_tokens"] = used.cached_input_tokens
        if used.reasoning_tokens:
            attrs["gen_ai.usage.reasoning.output_tokens"] = used.reasoning_tokens


def _facts(done: Request, attrs: dict[str, Any]) -> None:
    """The library's own attributes: cost, cache, attempts, tags and the batch."""
    meta = done.metadata
    cost = meta.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        attrs["llmpipe.cost_usd"] = float(cost)
    if isinstance(meta.get("cost_status"), str):
        attrs["llmpipe.cost_status"] = meta["cost_status"]
    attrs["llmpipe.cache_hit"] = cache_hit(done)
    attempts = meta.get("attempts")
    if isinstance(attempts, int):
        attrs["llmpipe.attempts"] = attempts
    reason = meta.get("halt_reason")
    if done.halted and isinstance(reason, str):
        attrs["llmpipe.halt_reason"] = redact(reason)
    tags = merge(tuple(t for t in meta.get("tags", ()) if isinstance(t, str)), active_tags())
    if tags:
        attrs["llmpipe.tags"] = tags
        batch = next((t[6:] for t in tags if t.startswith("batch:")), None)
        if batch:
            attrs["llmpipe.batch_id"] = batch
