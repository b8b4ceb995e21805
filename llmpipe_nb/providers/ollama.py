"""Ollama's native API: `/api/chat` (NDJSON streaming), `/api/embed`, `/api/tags`.

No key locally (ollama.com takes `OLLAMA_API_KEY` as a bearer token); the host comes
from `OLLAMA_HOST`, written the way Ollama itself accepts it (`0.0.0.0`, `host:port`, `:port`,
or a URL). Generation options go in `options` under Ollama's own names.

Ollama takes images only as base64 bytes, so image URLs are fetched (or decoded, for
`data:`) before the call. Thinking models think unless told not to (`think`); their
`message.thinking` is kept as reasoning and sent back on the assistant turn, and each tool
result goes back with its `tool_name` and `tool_call_id`.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..config import ProviderConfig
from ..errors import ConfigError, ProviderError, ResponseFormatError
from ..plug import Plug
from ..request import Request
from ..responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    ReasoningPart,
    StreamChunk,
    ToolCall,
    Usage,
)
from ..transport import HttpCall, HttpResponse
from . import _inline_images as images
from . import defaults
from ._http import HttpProvider, HttpTransport
from ._messages import (
    AssembledText,
    function_specs,
    option_values,
    refuse_names,
    text_of,
    tool_call_fields,
    tool_names_by_id,
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
#: what `think` accepts ("max" is read as "high" by the server)
THINK_VALUES = (True, False, "low", "medium", "high", "max")


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
    messages = list(messages)
    refuse_names(messages, "Ollama")
    wire: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:  # a result answers the latest call with its id before it
        names |= tool_names_by_id([message])
        wire.append(wire_message(message, names))
    body: dict[str, Any] = {"model": options.get("model"), "messages": wire, "stream": stream}
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
    if options.get("keep_alive") is not None:
        body["keep_alive"] = options["keep_alive"]
    if options.get("think") is not None:
        body["think"] = options["think"]
    return body | dict(options.get("extra_body") or {})


def check_think(value: Any) -> None:
    """ConfigError listing what Ollama accepts, unless `think` is one of them (or unset)."""
    if (
        value is None
        or isinstance(value, bool)
        or (isinstance(value, str) and value in THINK_VALUES)
    ):
        return
    raise ConfigError(
        f"think={value!r} is not understood: use True, False, 'low', 'medium', 'high' or 'max'."
    )


def wire_message(
    message: Mapping[str, Any], tool_names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One message in Ollama's shape: text content plus base64 `images`; an assistant turn's
    `thinking` and tool calls (id, index, object arguments); a tool result's `tool_name`
    (given, or the name of the call it answers, from `tool_names`) and `tool_call_id`."""
    role = "system" if message["role"] == "developer" else message["role"]
    content = message.get("content")
    wire: dict[str, Any] = {"role": role, "content": text_of(content)}
    if isinstance(content, list) and any(p["type"] != "text" for p in content):
        wire["images"] = [images.image_data(p, "Ollama") for p in content if p["type"] != "text"]
    thinking = message.get("thinking") or reasoning_text(message.get("reasoning") or ())
    if role == "assistant" and thinking:
        wire["thinking"] = thinking
    if message.get("tool_calls"):
        wire["tool_calls"] = []
        for index, call in enumerate(message["tool_calls"]):
            call_id, name, arguments = tool_call_fields(call)
            function = {"index": index, "name": name, "arguments": arguments}
            wire["tool_calls"].append(
                {"id": call_id, "function": function} if call_id else {"function": function}
            )
    if role == "tool":
        answered = str(message["tool_call_id"])
        tool_name = message.get("tool_name") or message.get("name")
        tool_name = tool_name or (tool_names or {}).get(answered)
        if tool_name:
            wire["tool_name"] = tool_name
        wire["tool_call_id"] = answered
    return wire


def reasoning_text(parts: Iterable[Any]) -> str:
    """The readable text of an assistant message's reasoning (ReasoningParts, or their dicts)."""
    texts = []
    for part in parts:
        kind, text = (
            (part.get("kind"), part.get("text"))
            if isinstance(part, Mapping)
            else (part.kind, part.text)
        )
        if kind != "signature" and text:
            texts.append(text)
    return "".join(texts)


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
    thinking = message.get("thinking")
    return ChatResponse(
        content=message.get("content") or "",
        reasoning=(ReasoningPart("thinking", thinking),) if thinking else (),
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
    """NDJSON objects to StreamChunks (thinking fragments in `reasoning`, before the text);
    the `done: true` object is the end marker."""

    def __init__(self, provider: OllamaProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._thinking = io.StringIO()
        self._count = 0
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
        text, thinking = message.get("content") or "", message.get("thinking") or ""
        if not (text or thinking):
            return []
        self._thinking.write(thinking)
        if text:
            self._text.add(text)
        self._count += 1
        return [StreamChunk(content=text, reasoning=thinking, index=self._count - 1)]

    def result(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.partial_text}
        if self._thinking.tell():
            message["thinking"] = self._thinking.getvalue()
        if self._calls:
            message["tool_calls"] = self._calls
        return self._final | {"message": message}


# -- plugs and provider -------------------------------------------------------------------------


class OllamaPrepareRequest(Plug):
    """Builds the native call for the request's kind, fetching the images given as URLs."""

    def call(self, request: Request) -> Request:
        urls, timeout, max_bytes = _image_fetch(request)
        return self._prepare(request, images.fetch(urls, timeout=timeout, max_bytes=max_bytes))

    async def acall(self, request: Request) -> Request:
        urls, timeout, max_bytes = _image_fetch(request)
        fetched = await images.afetch(urls, timeout=timeout, max_bytes=max_bytes)
        return self._prepare(request, fetched)

    def _prepare(self, request: Request, fetched: images.Fetched) -> Request:
        kind, options = request.kind, request.options
        if kind in ("chat", "stream"):
            messages = images.inline(request.messages, fetched)
            body = chat_body(messages, options, stream=kind == "stream")
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


def _image_fetch(request: Request) -> tuple[list[str], float, int]:
    """(image URLs to fetch, timeout, size limit) of a chat request; no URLs for other kinds.

    The options are checked first, so nothing is fetched for a request that is refused."""
    if request.kind not in ("chat", "stream"):
        return [], 0.0, 0
    check_think(request.options.get("think"))
    max_bytes = images.check_max_bytes(request.options.get("max_image_bytes"))
    timeout = (request.config.timeout if request.config else None) or images.DEFAULT_TIMEOUT
    return images.remote_urls(request.messages), timeout, max_bytes


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
                    *("keep_alive", "think", "max_image_bytes", "extra_body"),
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
