"""Anthropic's Messages API: chat, streaming (every event type), tool use, models.

System messages move to the top-level `system`; tool results become `tool_result`
blocks in a user turn; `max_tokens`, which the API requires, defaults when not given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError, ProviderError, ResponseFormatError
from ..plug import Plug
from ..request import Request
from ..responses import ChatResponse, ModelInfo, StreamChunk, ToolCall, Usage
from ..transport import HttpCall, HttpResponse
from . import defaults
from ._http import HttpProvider
from ._messages import (
    AssembledText,
    decoded_arguments,
    function_specs,
    image_source,
    json_event,
    option_values,
    text_of,
    tool_call_fields,
    tool_choice_name,
    usage_of,
)
from ._sse import SSEEvent
from .openai import validation

HEADERS = {"anthropic-version": "2023-06-01"}
DEFAULT_MAX_TOKENS = 4096
OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "metadata": "metadata",
    "thinking": "thinking",
    "service_tier": "service_tier",
}
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
#: stream error types -> the HTTP status they stand for outside a stream
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


# -- prepare (pure) ---------------------------------------------------------------------------


def messages_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any], *, stream: bool = False
) -> dict[str, Any]:
    """The JSON body of `POST /v1/messages`."""
    system = [text_of(m.get("content")) for m in messages if m["role"] in ("system", "developer")]
    body: dict[str, Any] = {
        "model": options.get("model"),
        "max_tokens": options.get("max_tokens")
        or options.get("max_completion_tokens")
        or DEFAULT_MAX_TOKENS,
        "messages": wire_turns(messages),
    }
    if system:
        body["system"] = "\n\n".join(system)
    body |= option_values(options, OPTIONS)
    stop = options.get("stop")
    if stop is not None:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if options.get("tools"):
        body["tools"] = [
            {
                "name": s["name"],
                "description": s.get("description", ""),
                "input_schema": s["parameters"],
            }
            for s in function_specs(options["tools"])
        ]
    if options.get("tool_choice") is not None:
        body["tool_choice"] = wire_tool_choice(options["tool_choice"])
    if options.get("response_format") is not None:
        raise ConfigError(
            "Anthropic has no response_format: describe the JSON in the prompt, or force a tool with tool_choice."
        )
    if stream:
        body["stream"] = True
    return body | dict(options.get("extra_body") or {})


def wire_tool_choice(choice: Any) -> dict[str, Any]:
    name = tool_choice_name(choice)
    if name:
        return {"type": "tool", "name": name}
    mapped = {"auto": "auto", "required": "any", "any": "any", "none": "none"}.get(str(choice))
    if mapped is None:
        raise ConfigError(
            f"tool_choice {choice!r} is not understood: use 'auto', 'required', 'none' or a tool name."
        )
    return {"type": mapped}


def wire_turns(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """User and assistant turns; consecutive tool results join one user turn, as the API requires."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": text_of(message["content"]),
            }
            if turns and turns[-1]["role"] == "user" and _is_tool_turn(turns[-1]):
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
            continue
        content = message.get("content")
        calls = message.get("tool_calls") or ()
        if isinstance(content, str) and not calls:
            turns.append({"role": role, "content": content})
            continue
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}] if content else []
        else:
            blocks = [_wire_block(part) for part in content or ()]
        for call in calls:
            call_id, name, arguments = tool_call_fields(call)
            blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
        turns.append({"role": role, "content": blocks})
    return turns


def _is_tool_turn(turn: Mapping[str, Any]) -> bool:
    content = turn["content"]
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _wire_block(part: Mapping[str, Any]) -> dict[str, Any]:
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    media_type, data, url = image_source(part)
    if data:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type or "image/png", "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


# -- parse (pure) -----------------------------------------------------------------------------


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Anthropic counts cached input apart; ours includes it in input_tokens."""
    if not usage:
        return Usage()
    read = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    return usage_of(
        (usage.get("input_tokens") or 0) + read + written, usage.get("output_tokens"), read
    )


def parse_message(
    body: Any, *, provider: str, response: HttpResponse | None = None
) -> ChatResponse:
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise ResponseFormatError(
            f"{provider} answered without message content.", provider=provider
        )
    blocks = body["content"]
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = tuple(
        ToolCall(b["id"], b["name"], b.get("input") or {})
        for b in blocks
        if b.get("type") == "tool_use"
    )
    raw_finish = body.get("stop_reason")
    return ChatResponse(
        content=text,
        model=body.get("model"),
        provider=provider,
        finish_reason=FINISH_REASONS.get(raw_finish or "", "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usage")),
        tool_calls=calls,
        id=body.get("id"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    return [
        ModelInfo(m["id"], provider, context_window=m.get("max_input_tokens"), raw=m)
        for m in body.get("data") or ()
    ]


# -- streaming --------------------------------------------------------------------------------


class AnthropicStreamDecoder:
    """Message events to StreamChunks; `ping` and unknown events are skipped, `error` raises."""

    def __init__(self, provider: AnthropicProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._message: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}
        self._raw_usage: dict[str, Any] = {}

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        data = json_event(event.data, self.provider.name)
        kind = event.event if event.event != "message" else data.get("type")
        if kind == "error":
            raise self.provider.stream_error(data)
        if kind == "message_start":
            self._message = dict(data.get("message") or {})
            self._merge_usage(self._message.get("usage"))
        elif kind == "content_block_start":
            self._blocks[data["index"]] = dict(data.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._delta(data["index"], data.get("delta") or {})
        elif kind == "message_delta":
            self._message.update(data.get("delta") or {})
            self._merge_usage(data.get("usage"))
        elif kind == "message_stop":
            self.complete = True
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamChunk]:
        if delta.get("type") == "input_json_delta":
            self._json.setdefault(index, []).append(delta.get("partial_json") or "")
        elif delta.get("type") == "text_delta" and delta.get("text"):
            return [self._text.add(delta["text"])]
        return []

    def _merge_usage(self, usage: Mapping[str, Any] | None) -> None:
        """message_delta counts are cumulative: the latest value wins."""
        if usage:
            self._raw_usage |= {k: v for k, v in usage.items() if v is not None}
            self.usage = parse_usage(self._raw_usage)

    def result(self) -> dict[str, Any]:
        content = []
        for index, block in sorted(self._blocks.items()):
            if block.get("type") == "text":
                content.append({"type": "text", "text": self.partial_text})
            elif block.get("type") == "tool_use":
                arguments = decoded_arguments(
                    self.provider.name, "".join(self._json.get(index, []))
                )
                content.append(block | {"input": arguments})
        return self._message | {"content": content, "usage": self._raw_usage}


# -- plugs and provider -------------------------------------------------------------------------


class AnthropicPrepareRequest(Plug):
    """Builds the Messages call (or the model list call)."""

    def call(self, request: Request) -> Request:
        if request.kind in ("chat", "stream"):
            stream = request.kind == "stream"
            body = messages_body(request.messages, request.options, stream=stream)
            call = HttpCall(
                "POST", "/v1/messages", json=body, headers=HEADERS, stream="sse" if stream else None
            )
        else:
            call = HttpCall("GET", "/v1/models", headers=HEADERS, params={"limit": "1000"})
        return request.evolve(provider_request=call)


class AnthropicParseResponse(Plug):
    """Turns the answer into a ChatResponse, a model list, or a validation result."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name = request.provider
        if request.kind in ("chat", "stream"):
            return request.put_result(
                parse_message(response.body, provider=name, response=response)
            )
        models = parse_models(response.body, provider=name)
        return request.put_result(
            models if request.kind == "list_models" else validation(name, len(models))
        )


class AnthropicProvider(HttpProvider):
    """Anthropic (Claude). No embeddings or legacy completions: the API has none."""

    name = "anthropic"
    default_model = defaults.CHAT["anthropic"]
    key_env = ("ANTHROPIC_API_KEY",)
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"
    plugs = {
        kind: (AnthropicPrepareRequest, AnthropicParseResponse)
        for kind in ("chat", "stream", "list_models", "validate")
    }
    request_options = {
        kind: frozenset(
            {
                *OPTIONS,
                "max_tokens",
                "max_completion_tokens",
                "stop",
                "tools",
                "tool_choice",
                "response_format",  # refused with the way to get JSON instead
                "extra_body",
            }
        )
        for kind in ("chat", "stream")
    }
    auth_header = "x-api-key"
    auth_prefix = ""

    def stream_decoder(self, request: Request) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        error = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(error, Mapping):
            message, kind = error.get("message") or f"HTTP {status}", error.get("type")
        else:
            message, kind = (str(body).strip()[:500] or f"HTTP {status}"), None
        request_id = body.get("request_id") if isinstance(body, Mapping) else None
        return self.error(status, message, headers, body, error_type=kind, request_id=request_id)

    def stream_error(self, data: Mapping[str, Any]) -> ProviderError:
        """An `error` event after the 200: typed by its error type, as the status would have been."""
        kind = (data.get("error") or {}).get("type")
        return self.map_error(ERROR_STATUS.get(str(kind), 500), {}, data)
