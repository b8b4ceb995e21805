"""Request bodies for OpenAI's chat and legacy-completion endpoints (pure functions of data)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ConfigError
from .._messages import image_source, text_of, tool_call_fields

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


def chat_body(
    messages: Iterable[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    stream: bool = False,
    max_field: str = "max_completion_tokens",
    stream_usage: bool = True,
    developer_role: bool = True,
    renames: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of `POST /chat/completions`; the output cap goes in `max_field`, whichever
    of `max_tokens` and `max_completion_tokens` the user gave."""
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
        body[max_field] = cap
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body | dict(options.get("extra_body") or {})


def completion_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of the legacy `POST /completions`: one prompt text, so nothing is dropped."""
    turns = list(messages)
    content = turns[0].get("content") if len(turns) == 1 and turns[0]["role"] == "user" else None
    parts = content if isinstance(content, list) else ()
    if not isinstance(content, str) and (not parts or any(p["type"] != "text" for p in parts)):
        raise ConfigError(
            "A legacy completion takes one prompt text, not roles, turns or images: "
            "pass a string, or use llm.chat for a conversation."
        )
    prompt = text_of(content)
    body: dict[str, Any] = {"model": options.get("model"), "prompt": prompt}
    body |= {key: options[key] for key in COMPLETION_OPTIONS if options.get(key) is not None}
    return body | dict(options.get("extra_body") or {})
