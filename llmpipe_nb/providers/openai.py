"""OpenAI's REST API: chat (tools, JSON mode, images), streaming, embeddings, legacy completions, models.

Prepare and parse are pure functions of data; the plugs only apply them to a Request.
The OpenAI-compatible presets reuse all of it with a few class-level quirks.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from .. import providers
from ..errors import ConfigError, ProviderError, ResponseFormatError
from ..plug import Plug
from ..request import Request
from ..responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    StreamChunk,
    ToolCall,
    Usage,
    ValidationResult,
)
from ..transport import HttpCall, HttpResponse
from . import defaults
from ._http import HttpProvider
from ._messages import (
    AssembledText,
    decoded_arguments,
    image_source,
    json_event,
    tool_call_fields,
    usage_of,
)
from ._sse import SSEEvent

#: chat options sent as they are
CHAT_OPTIONS = (
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "metadata",
    "store",
    "service_tier",
    "safety_identifier",
    "prediction",
    "verbosity",
)
#: legacy completion options sent as they are
COMPLETION_OPTIONS = (
    "temperature",
    "top_p",
    "n",
    "stop",
    "seed",
    "max_tokens",
    "user",
    "suffix",
    "echo",
)
#: embeddings options sent as they are
EMBEDDING_OPTIONS = ("dimensions", "user")
#: models that refuse `max_tokens` and need `max_completion_tokens`
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


# -- prepare (pure) ---------------------------------------------------------------------------


def wire_message(message: Mapping[str, Any], *, developer_role: bool = True) -> dict[str, Any]:
    """One message of the common shape in OpenAI's wire shape."""
    role = message["role"]
    if role == "developer" and not developer_role:
        role = "system"
    wire: dict[str, Any] = {"role": role}
    content = message.get("content")
    if isinstance(content, list):
        content = [_wire_part(part) for part in content]
    wire["content"] = content
    if message.get("tool_calls"):
        wire["tool_calls"] = [_wire_tool_call(call) for call in message["tool_calls"]]
    for key in ("tool_call_id", "name"):
        if message.get(key):
            wire[key] = message[key]
    return wire


def _wire_part(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.get("type") != "image":
        return dict(part)
    media_type, data, url = image_source(part)
    url = f"data:{media_type or 'image/png'};base64,{data}" if data else url
    return {"type": "image_url", "image_url": {"url": url}}


def _wire_tool_call(call: Any) -> dict[str, Any]:
    call_id, name, arguments = tool_call_fields(call)
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}


def wire_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tools in OpenAI's shape, from its own shape or the flat `{"name", "parameters"}` one."""
    return [
        dict(tool) if "function" in tool else {"type": "function", "function": dict(tool)}
        for tool in tools
    ]


def max_tokens_field(model: str, override: str | None) -> str:
    """Which field carries the output cap for this model."""
    if override:
        return override
    return "max_completion_tokens" if model.startswith(REASONING_PREFIXES) else "max_tokens"


def chat_body(
    messages: Iterable[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    stream: bool = False,
    max_field: str | None = None,
    stream_usage: bool = True,
    developer_role: bool = True,
    renames: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of `POST /chat/completions`."""
    model = options.get("model")
    if not model:
        raise ConfigError("No model given: pass model=... (this provider has no default model).")
    body: dict[str, Any] = {
        "model": model,
        "messages": [wire_message(m, developer_role=developer_role) for m in messages],
    }
    body |= {key: options[key] for key in CHAT_OPTIONS if options.get(key) is not None}
    if options.get("seed") is not None:
        body[(renames or {}).get("seed", "seed")] = options["seed"]
    if options.get("tools"):
        body["tools"] = wire_tools(options["tools"])
    cap = options.get("max_completion_tokens") or options.get("max_tokens")
    if cap is not None:
        body[max_tokens_field(model, max_field)] = cap
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body | dict(options.get("extra_body") or {})


def completion_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of the legacy `POST /completions`: the prompt is the last user text."""
    prompt = next((m.get("content") for m in reversed(list(messages)) if m["role"] == "user"), "")
    body: dict[str, Any] = {"model": options.get("model"), "prompt": prompt}
    body |= {key: options[key] for key in COMPLETION_OPTIONS if options.get(key) is not None}
    return body | dict(options.get("extra_body") or {})


def embeddings_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of `POST /embeddings`."""
    body: dict[str, Any] = {"model": options.get("model"), "input": [str(text) for text in inputs]}
    body["encoding_format"] = "float"
    for key in EMBEDDING_OPTIONS:
        if options.get(key) is not None:
            body[key] = options[key]
    return body | dict(options.get("extra_body") or {})


# -- parse (pure) -----------------------------------------------------------------------------


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """OpenAI usage: prompt tokens include cached ones, completion tokens include reasoning."""
    if not usage:
        return Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return usage_of(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        prompt_details.get("cached_tokens"),
        completion_details.get("reasoning_tokens"),
    )


def parse_tool_calls(calls: Iterable[Mapping[str, Any]] | None) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(*tool_call_fields(call)) for call in calls or ())


def parse_chat(body: Any, *, provider: str, response: HttpResponse | None = None) -> ChatResponse:
    """A chat or legacy-completion answer as a ChatResponse."""
    choices = body.get("choices") if isinstance(body, Mapping) else None
    if not choices:
        raise ResponseFormatError(f"{provider} answered without any choices.", provider=provider)
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content") if "text" not in choice else choice["text"]
    raw_finish = choice.get("finish_reason")
    return ChatResponse(
        content=content or "",
        model=body.get("model"),
        provider=provider,
        finish_reason=FINISH_REASONS.get(raw_finish, "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage") or (body.get("x_groq") or {}).get("usage")),
        tool_calls=parse_tool_calls(message.get("tool_calls")),
        id=body.get("id"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )


def parse_embeddings(body: Any, *, provider: str) -> EmbeddingResponse:
    """Vectors in input order, whether sent as floats or as base64 little-endian float32."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise ResponseFormatError(
            f"{provider} answered the embeddings call without 'data'.", provider=provider
        )
    vectors = []
    for item in sorted(data, key=lambda d: d.get("index", 0)):
        vector = item["embedding"]
        if isinstance(vector, str):
            raw = base64.b64decode(vector)
            vector = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        vectors.append(vector)
    usage = body.get("usage") or {}
    return EmbeddingResponse(
        embeddings=vectors,
        model=body.get("model"),
        provider=provider,
        usage=usage_of(usage.get("prompt_tokens")),
        raw=body,
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise ResponseFormatError(
            f"{provider} answered the model list without 'data'.", provider=provider
        )
    return [ModelInfo(m["id"], provider, owned_by=m.get("owned_by"), raw=m) for m in data]


def validation(provider: str, count: int) -> ValidationResult:
    return ValidationResult(
        True,
        provider,
        f"{provider} accepted the configuration; {count} models are available.",
        count,
    )


# -- streaming --------------------------------------------------------------------------------


class OpenAIStreamDecoder:
    """Chat-completion chunks to StreamChunks; tool-call fragments joined by their index."""

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._calls: dict[int, dict[str, Any]] = {}
        self._head: dict[str, Any] = {}
        self._finish: str | None = None
        self._raw_usage: Any = None

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        if event.data.startswith("[DONE]"):
            self.complete = True
            return []
        chunk = json_event(event.data, self.provider.name)
        if chunk.get("error"):
            raise self.provider.stream_error(chunk)
        self._head = self._head or {k: chunk[k] for k in ("id", "model") if k in chunk}
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if usage:
            self._raw_usage, self.usage = usage, parse_usage(usage)
        out = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out.append(self._text.add(delta["content"]))
            for fragment in delta.get("tool_calls") or ():
                self._add_fragment(fragment)
            self._finish = choice.get("finish_reason") or self._finish
        return out

    def _add_fragment(self, fragment: Mapping[str, Any]) -> None:
        call = self._calls.setdefault(
            fragment.get("index", 0), {"id": "", "name": "", "arguments": []}
        )
        function = fragment.get("function") or {}
        call["id"] = fragment.get("id") or call["id"]
        call["name"] = function.get("name") or call["name"]
        call["arguments"].append(function.get("arguments") or "")

    def result(self) -> dict[str, Any]:
        calls = [
            {
                "id": call["id"],
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": decoded_arguments(self.provider.name, "".join(call["arguments"])),
                },
            }
            for _, call in sorted(self._calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": self.partial_text or None}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": self._finish}
        return {
            **self._head,
            "object": "chat.completion",
            "choices": [choice],
            "usage": self._raw_usage,
        }


# -- plugs and provider -------------------------------------------------------------------------


class OpenAIPrepareRequest(Plug):
    """Builds the HttpCall for the request's kind from its messages and options."""

    def call(self, request: Request) -> Request:
        provider: OpenAIProvider = providers.get(request.provider)  # type: ignore[assignment]
        kind, options = request.kind, request.options
        if kind in ("chat", "stream"):
            body = chat_body(
                request.messages,
                options,
                stream=kind == "stream",
                max_field=provider.max_tokens_field,
                stream_usage=provider.stream_usage,
                developer_role=provider.developer_role,
                renames=provider.renames,
            )
            call = HttpCall(
                "POST", "/chat/completions", json=body, stream="sse" if kind == "stream" else None
            )
        elif kind == "completion":
            call = HttpCall("POST", "/completions", json=completion_body(request.messages, options))
        elif kind == "embeddings":
            call = HttpCall("POST", "/embeddings", json=embeddings_body(request.messages, options))
        else:
            call = HttpCall("GET", "/models")
        return request.evolve(provider_request=call)


class OpenAIParseResponse(Plug):
    """Turns the answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream", "completion"):
            result = parse_chat(response.body, provider=name, response=response)
        elif kind == "embeddings":
            result = parse_embeddings(response.body, provider=name)
        elif kind == "list_models":
            result = parse_models(response.body, provider=name)
        else:
            result = validation(name, len(parse_models(response.body, provider=name)))
        return request.put_result(result)


class CompletionModel(Plug):
    """Chat models cannot do legacy completions: without a model, use a completion model,
    or refuse when the provider has none left."""

    def call(self, request: Request) -> Request:
        if request.options.get("model"):
            return request
        provider: OpenAIProvider = providers.get(request.provider)  # type: ignore[assignment]
        if provider.default_completion_model is None:
            raise ConfigError(defaults.NO_COMPLETION_MODEL)
        return request.put_options(model=provider.default_completion_model)


_CHAT_REQUEST_OPTIONS = frozenset(
    {*CHAT_OPTIONS, "seed", "tools", "max_tokens", "max_completion_tokens", "extra_body"}
)


class OpenAIProvider(HttpProvider):
    """OpenAI, and the base of every OpenAI-compatible preset."""

    name = "openai"
    default_model: ClassVar[str | None] = defaults.CHAT["openai"]
    default_embedding_model: ClassVar[str | None] = defaults.EMBEDDINGS["openai"]
    default_completion_model: ClassVar[str | None] = None
    #: legacy completions without model= use default_completion_model (else a ConfigError),
    #: not the chat default
    completion_needs_own_model: ClassVar[bool] = True
    key_env = ("OPENAI_API_KEY",)
    base_url_env = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    plugs = {
        kind: (OpenAIPrepareRequest, OpenAIParseResponse)
        for kind in ("chat", "stream", "embeddings", "completion", "list_models", "validate")
    }
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": _CHAT_REQUEST_OPTIONS,
        "stream": _CHAT_REQUEST_OPTIONS,
        "completion": frozenset({*COMPLETION_OPTIONS, "extra_body"}),
        "embeddings": frozenset({*EMBEDDING_OPTIONS, "extra_body"}),
    }
    #: the output-cap field to always use (None: OpenAI's rule, by model)
    max_tokens_field: ClassVar[str | None] = None
    #: ask for the final usage chunk with stream_options
    stream_usage: ClassVar[bool] = True
    #: the server knows the `developer` role (else it is sent as `system`)
    developer_role: ClassVar[bool] = True
    #: option names the server spells differently
    renames: ClassVar[Mapping[str, str]] = {}

    def pipeline(self, kind: str) -> list[Any]:
        specs = super().pipeline(kind)
        if kind == "completion" and self.completion_needs_own_model:
            specs.insert(1, CompletionModel)
        return specs

    def stream_decoder(self, request: Request) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        if isinstance(body, list) and body:
            body = body[0]
        error = body.get("error", body) if isinstance(body, Mapping) else body
        if isinstance(error, Mapping):
            message = error.get("message") or f"HTTP {status}"
            kind, code = error.get("type"), error.get("code")
        else:
            message = str(error).strip()[:500] if error else f"HTTP {status}"
            kind = code = None
        typed = self.error(
            status,
            message,
            headers,
            body,
            error_type=kind if isinstance(kind, str) else code if isinstance(code, str) else None,
            code=code,
        )
        if "insufficient_quota" in (kind, code):
            typed.retryable = False  # a quota 429 needs billing, not waiting
        return typed

    def stream_error(self, chunk: Mapping[str, Any]) -> ProviderError:
        """An `{"error": ...}` event inside a stream that had answered 200."""
        error = chunk["error"]
        code = error.get("code") if isinstance(error, Mapping) else None
        status = code if isinstance(code, int) and code >= 400 else 500
        return self.map_error(status, {}, chunk)
