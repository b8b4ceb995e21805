"""Ollama's native API: `/api/chat` (NDJSON streaming), `/api/embed`, `/api/tags`.

No key locally (ollama.com takes `OLLAMA_API_KEY` as a bearer token); the host comes
from `OLLAMA_HOST`, written the way Ollama itself accepts it (`0.0.0.0`, `host:port`, `:port`,
or a URL). Generation options go in `options` under Ollama's own names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..config import ProviderConfig
from ..errors import ProviderError, ResponseFormatError
from ..plug import Plug
from ..request import Request
from ..responses import ChatResponse, EmbeddingResponse, ModelInfo, StreamChunk, ToolCall, Usage
from ..transport import HttpCall, HttpResponse
from . import defaults
from ._http import HttpProvider, HttpTransport
from ._messages import (
    AssembledText,
    function_specs,
    image_source,
    option_values,
    text_of,
    tool_call_fields,
    usage_of,
)
from .openai import validation

DEFAULT_PORT = 11434
MODEL_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "num_ctx": "num_ctx",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
}
FINISH_REASONS = {"stop": "stop", "length": "length"}


def host_url(host: str) -> str:
    """`OLLAMA_HOST` as a base URL: scheme, host and port filled in as Ollama does (no host,
    as in `:11434`, is this machine)."""
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    if parts.port and parts.hostname:
        netloc = parts.netloc
    else:
        name = parts.hostname or "127.0.0.1"
        if ":" in name:  # IPv6 keeps its brackets
            name = f"[{name}]"
        port = parts.port or (DEFAULT_PORT if parts.scheme == "http" else 443)
        netloc = f"{name}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


# -- prepare (pure) ---------------------------------------------------------------------------


def chat_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any], *, stream: bool
) -> dict[str, Any]:
    """The JSON body of `POST /api/chat`; `stream` is always explicit (Ollama defaults to true)."""
    body: dict[str, Any] = {
        "model": options.get("model"),
        "messages": [wire_message(m) for m in messages],
        "stream": stream,
    }
    model_options = option_values(options, MODEL_OPTIONS)
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if cap is not None:
        model_options["num_predict"] = cap
    stop = options.get("stop")
    if stop is not None:
        model_options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if model_options:
        body["options"] = model_options
    if options.get("tools"):
        body["tools"] = [
            {"type": "function", "function": spec} for spec in function_specs(options["tools"])
        ]
    response_format = options.get("response_format") or {}
    if response_format.get("type") == "json_object":
        body["format"] = "json"
    elif response_format.get("type") == "json_schema":
        body["format"] = (response_format.get("json_schema") or {}).get("schema", "json")
    for key in ("keep_alive", "think"):
        if options.get(key) is not None:
            body[key] = options[key]
    return body | dict(options.get("extra_body") or {})


def wire_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """Text content plus base64 `images`; tool calls with object arguments."""
    role = "system" if message["role"] == "developer" else message["role"]
    content = message.get("content")
    wire: dict[str, Any] = {"role": role, "content": text_of(content)}
    images = (
        [image_source(p)[1] for p in content if p["type"] != "text"]
        if isinstance(content, list)
        else []
    )
    if any(images):
        wire["images"] = [data for data in images if data]
    if message.get("tool_calls"):
        wire["tool_calls"] = []
        for call in message["tool_calls"]:
            _, name, arguments = tool_call_fields(call)
            wire["tool_calls"].append({"function": {"name": name, "arguments": arguments}})
    return wire


# -- parse (pure) -----------------------------------------------------------------------------


def parse_usage(final: Mapping[str, Any]) -> Usage:
    """Counts live in the final object only, and any of them may be missing."""
    return usage_of(final.get("prompt_eval_count"), final.get("eval_count"))


def parse_chat(body: Any, *, provider: str, response: HttpResponse | None = None) -> ChatResponse:
    message = body.get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, Mapping):
        raise ResponseFormatError(f"{provider} answered without a message.", provider=provider)
    fields = (tool_call_fields(call) for call in message.get("tool_calls") or ())
    calls = tuple(
        ToolCall(cid or f"call_{i}", name, args) for i, (cid, name, args) in enumerate(fields)
    )
    raw_finish = body.get("done_reason")
    finish = (
        "tool_calls" if calls else FINISH_REASONS.get(raw_finish, "error" if raw_finish else None)
    )
    return ChatResponse(
        content=message.get("content") or "",
        model=body.get("model"),
        provider=provider,
        finish_reason=finish,
        raw_finish_reason=raw_finish,
        usage=parse_usage(body),
        tool_calls=calls,
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )


def parse_embeddings(body: Any, *, provider: str) -> EmbeddingResponse:
    embeddings = body.get("embeddings") if isinstance(body, Mapping) else None
    if not isinstance(embeddings, list):
        raise ResponseFormatError(
            f"{provider} answered the embeddings call without 'embeddings'.", provider=provider
        )
    return EmbeddingResponse(
        embeddings=embeddings,
        model=body.get("model"),
        provider=provider,
        usage=usage_of(body.get("prompt_eval_count")),
        raw=body,
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    return [ModelInfo(m["name"], provider, raw=m) for m in body.get("models") or ()]


# -- streaming --------------------------------------------------------------------------------


class OllamaStreamDecoder:
    """NDJSON objects to StreamChunks; the `done: true` object is the end marker."""

    def __init__(self, provider: OllamaProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._calls: list[Any] = []
        self._final: dict[str, Any] = {}

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: Any) -> list[StreamChunk]:
        if not isinstance(event, Mapping):
            raise ResponseFormatError(
                f"{self.provider.name} sent a stream line that is not a JSON object."
            )
        if "error" in event:
            raise self.provider.map_error(500, {}, event)
        message = event.get("message") or {}
        self._calls += message.get("tool_calls") or ()
        if event.get("done"):
            self.complete = True
            self._final = dict(event)
            self.usage = parse_usage(event)
        text = message.get("content")
        if not text:
            return []
        return [self._text.add(text)]

    def result(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.partial_text}
        if self._calls:
            message["tool_calls"] = self._calls
        return self._final | {"message": message}


# -- plugs and provider -------------------------------------------------------------------------


class OllamaPrepareRequest(Plug):
    """Builds the native call for the request's kind."""

    def call(self, request: Request) -> Request:
        kind, options = request.kind, request.options
        if kind in ("chat", "stream"):
            body = chat_body(request.messages, options, stream=kind == "stream")
            call = HttpCall(
                "POST", "/api/chat", json=body, stream="ndjson" if kind == "stream" else None
            )
        elif kind == "embeddings":
            body = {"model": options.get("model"), "input": [str(t) for t in request.messages]}
            body |= option_values(
                options,
                {"dimensions": "dimensions", "truncate": "truncate", "keep_alive": "keep_alive"},
            )
            call = HttpCall("POST", "/api/embed", json=body)
        else:
            call = HttpCall("GET", "/api/tags")
        return request.evolve(provider_request=call)


class OllamaParseResponse(Plug):
    """Turns the answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream"):
            result = parse_chat(response.body, provider=name, response=response)
        elif kind == "embeddings":
            result = parse_embeddings(response.body, provider=name)
        else:
            models = parse_models(response.body, provider=name)
            result = models if kind == "list_models" else validation(name, len(models))
        return request.put_result(result)


class OllamaProvider(HttpProvider):
    """A local (or ollama.com) Ollama server, priced at $0 when local."""

    name = "ollama"
    default_model = defaults.CHAT["ollama"]
    default_embedding_model = defaults.EMBEDDINGS["ollama"]
    key_env = ("OLLAMA_API_KEY",)
    base_url_env = "OLLAMA_HOST"
    default_base_url = f"http://127.0.0.1:{DEFAULT_PORT}"
    requires_key = False
    local = True
    plugs = {
        kind: (OllamaPrepareRequest, OllamaParseResponse)
        for kind in ("chat", "stream", "embeddings", "list_models", "validate")
    }
    request_options = {
        **dict.fromkeys(
            ("chat", "stream"),
            frozenset(
                {
                    *MODEL_OPTIONS,
                    *("max_tokens", "max_completion_tokens", "stop", "tools", "response_format"),
                    *("keep_alive", "think", "extra_body"),
                }
            ),
        ),
        "embeddings": frozenset({"dimensions", "truncate", "keep_alive"}),
    }

    def client(self, config: ProviderConfig) -> HttpTransport:
        if config.base_url:
            config = dataclasses.replace(config, base_url=host_url(config.base_url))
        return super().client(config)

    def stream_decoder(self, request: Request) -> OllamaStreamDecoder:
        return OllamaStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        error = body.get("error") if isinstance(body, Mapping) else body
        message = str(error).strip()[:500] if error else f"HTTP {status}"
        return self.error(status, message, headers, body)
