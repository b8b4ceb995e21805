"""The body of Bedrock's Converse API (`/model/{id}/converse`, `/converse-stream`), one shape
for every model Bedrock serves (pure functions).

Content is a list of blocks per turn: `text`, `image` (`format` and base64 `bytes`; an
image by URL is refused, as Converse takes only bytes or S3), `toolUse`, `toolResult`,
and `reasoningContent` (a model's signed reasoning, sent back unchanged). System
messages go to `system`; consecutive turns of one role are joined (Converse wants them
alternating); sampling and the output cap go in `inferenceConfig`; options only some
models know go in `additionalModelRequestFields` (`additional_fields=`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ConfigError
from ...responses import ReasoningPart
from .._messages import (
    function_specs,
    image_source,
    option_values,
    refuse_names,
    text_of,
    tool_call_fields,
    tool_choice_name,
)

INFERENCE_OPTIONS = {"temperature": "temperature", "top_p": "topP"}
#: Converse's own top-level fields, by option name
FIELDS = {
    "additional_fields": "additionalModelRequestFields",
    "guardrail_config": "guardrailConfig",
    "performance_config": "performanceConfig",
    "service_tier": "serviceTier",
    "request_metadata": "requestMetadata",
}
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}


def converse_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of `converse` / `converse-stream` (the model is in the address)."""
    messages = list(messages)
    refuse_names(messages, "Bedrock")
    body: dict[str, Any] = {"messages": wire_turns(messages)}
    system = [
        {"text": text_of(m.get("content"))}
        for m in messages
        if m["role"] in ("system", "developer") and text_of(m.get("content"))
    ]
    if system:
        body["system"] = system
    inference = option_values(options, INFERENCE_OPTIONS)
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if cap is not None:
        inference["maxTokens"] = cap
    stop = options.get("stop")
    if stop is not None:
        inference["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if inference:
        body["inferenceConfig"] = inference
    if options.get("tools"):
        tools = [
            {
                "toolSpec": {
                    "name": spec["name"],
                    "description": spec.get("description") or spec["name"],
                    "inputSchema": {"json": spec["parameters"]},
                }
            }
            for spec in function_specs(options["tools"])
        ]
        config: dict[str, Any] = {"tools": tools}
        if options.get("tool_choice") is not None and options["tool_choice"] != "none":
            config["toolChoice"] = _tool_choice(options["tool_choice"])
        if options.get("tool_choice") != "none":
            body["toolConfig"] = config
    body |= option_values(options, FIELDS)
    return body | dict(options.get("extra_body") or {})


def _tool_choice(choice: Any) -> dict[str, Any]:
    name = tool_choice_name(choice)
    if name:
        return {"tool": {"name": name}}
    if choice in ("required", "any"):
        return {"any": {}}
    if choice == "auto":
        return {"auto": {}}
    raise ConfigError(
        f"tool_choice {choice!r} is not understood: use 'auto', 'required', 'none' or a tool name."
    )


def wire_turns(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """User and assistant turns of content blocks; tool results in a user turn."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            blocks = [_tool_result(message)]
            role = "user"
        else:
            blocks = _reasoning(message.get("reasoning")) if role == "assistant" else []
            content = message.get("content")
            if isinstance(content, str):
                blocks += [{"text": content}] if content else []
            else:
                blocks += [_block(part) for part in content or ()]
            for call in message.get("tool_calls") or ():
                call_id, name, arguments = tool_call_fields(call)
                blocks.append({"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    result = message.get("content")
    content = [_block(p) for p in result] if isinstance(result, list) else [{"text": str(result)}]
    result = {"toolUseId": message["tool_call_id"], "content": content}
    if message.get("is_error"):
        result["status"] = "error"
    return {"toolResult": result}


def _block(part: Mapping[str, Any]) -> dict[str, Any]:
    if part["type"] == "text":
        return {"text": part["text"]}
    media_type, data, url = image_source(part)
    if not data:
        raise ConfigError(
            f"Bedrock takes images as bytes, not by URL ({str(url)[:60]}): pass "
            "{'type': 'image', 'data': <base64>, 'media_type': 'image/png'}."
        )
    fmt = _FORMATS.get(media_type or "image/png")
    if fmt is None:
        raise ConfigError(
            f"Bedrock takes PNG, JPEG, GIF or WebP images, not {media_type}: convert the image."
        )
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _reasoning(parts: Any) -> list[dict[str, Any]]:
    """A model's own signed reasoning, sent back first in its turn; others' left out."""
    blocks: list[dict[str, Any]] = []
    for part in parts or ():
        if isinstance(part, ReasoningPart) and part.kind == "reasoning" and part.signature:
            text = {"text": part.text, "signature": part.signature}
            blocks.append({"reasoningContent": {"reasoningText": text}})
        elif isinstance(part, ReasoningPart) and part.kind == "redacted_reasoning" and part.data:
            blocks.append({"reasoningContent": {"redactedContent": part.data}})
    return blocks
