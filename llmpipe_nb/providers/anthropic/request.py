"""The body of `POST /v1/messages`, built from the common chat shape (pure functions).

System messages move to the top-level `system`, which takes only text, so an image
there is refused rather than dropped. A part's fields beyond the common shape
(`cache_control`, `citations`) go onto its block as given, so the API judges them instead
of their vanishing; a system part with such a field makes `system` a list of blocks, and
a tool's `strict` and `cache_control` are sent too. Tool results become `tool_result` blocks in a
user turn, with their images as image blocks inside. An assistant message's
`reasoning` goes back first in its turn, unchanged: models with thinking on refuse a
tool loop whose thinking blocks were dropped or altered. Only Anthropic's own parts are
sent (`thinking` with its signature, `redacted_thinking`); other providers' reasoning
means nothing to Claude and is left out.
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
from . import rules
from .output import output_fields

OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "metadata": "metadata",
    "service_tier": "service_tier",
    "cache_control": "cache_control",
    "inference_geo": "inference_geo",
    "speed": "speed",
}


def messages_body(
    messages: Iterable[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    stream: bool = False,
    version: str = rules.DEFAULT_VERSION,
) -> dict[str, Any]:
    """The JSON body of `POST /v1/messages`, as API `version` accepts it."""
    messages = list(messages)
    refuse_names(messages, "Anthropic")
    system = _system(messages)
    body: dict[str, Any] = {"model": options.get("model"), **output_fields(options)}
    body["messages"] = wire_turns(messages)
    if system:
        body["system"] = system
    body |= option_values(options, OPTIONS)
    stop = options.get("stop")
    if stop is not None:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if options.get("tools"):
        body["tools"] = wire_tools(options["tools"])
    if options.get("tool_choice") is not None:
        body["tool_choice"] = wire_tool_choice(options["tool_choice"])
    if stream:
        body["stream"] = True
    return rules.apply(body | dict(options.get("extra_body") or {}), version)


def _system(messages: Iterable[Mapping[str, Any]]) -> str | list[dict[str, Any]]:
    """The system and developer messages' text, or their text blocks when a part carries a
    field of its own; ConfigError for one holding an image."""
    texts, blocks = [], []
    for index, message in enumerate(messages):
        if message["role"] not in ("system", "developer"):
            continue
        content = message.get("content")
        if isinstance(content, list) and any(p["type"] != "text" for p in content):
            raise ConfigError(
                f"Message {index} ({message['role']}) holds an image, but Anthropic takes only "
                "text as the system prompt: move the image to a user message."
            )
        texts.append(text_of(content))
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        blocks += [_wire_block(part) for part in parts if part["text"]]
    if any(set(block) != {"type", "text"} for block in blocks):
        return blocks
    return "\n\n".join(texts)


def wire_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tools as Anthropic's definitions, with a `strict` or `cache_control` given on them."""
    tools = list(tools)
    wired = []
    for tool, spec in zip(tools, function_specs(tools), strict=True):
        function = tool.get("function", tool)
        wire = {
            "name": spec["name"],
            "description": spec.get("description", ""),
            "input_schema": spec["parameters"],
        }
        for key in ("strict", "cache_control"):
            value = function.get(key, tool.get(key))
            if value is not None:
                wire[key] = value
        wired.append(wire)
    return wired


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
            result = message["content"]
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": [_wire_block(p) for p in result] if isinstance(result, list) else result,
            }
            if message.get("is_error"):
                block["is_error"] = True
            if turns and turns[-1]["role"] == "user" and _is_tool_turn(turns[-1]):
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
            continue
        content = message.get("content")
        calls = message.get("tool_calls") or ()
        reasoning = reasoning_blocks(message.get("reasoning")) if role == "assistant" else []
        if isinstance(content, str) and not calls and not reasoning:
            turns.append({"role": role, "content": content})
            continue
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}] if content else []
        else:
            blocks = [_wire_block(part) for part in content or ()]
        for call in calls:
            call_id, name, arguments = tool_call_fields(call)
            blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
        turns.append({"role": role, "content": reasoning + blocks})
    return turns


def reasoning_blocks(parts: Any) -> list[dict[str, Any]]:
    """Anthropic's own reasoning parts as wire blocks, in order; other providers' are left out."""
    if parts is None:
        return []
    if not isinstance(parts, (list, tuple)):
        raise ConfigError(
            "An assistant message's 'reasoning' must be a list of ReasoningParts, "
            f"as ChatResponse.message gives it, not {type(parts).__name__}."
        )
    blocks = []
    for part in parts:
        kind, text, signature, data = _reasoning_fields(part)
        if kind == "thinking" and signature:
            blocks.append({"type": "thinking", "thinking": text or "", "signature": signature})
        elif kind == "redacted_thinking" and data:
            blocks.append({"type": "redacted_thinking", "data": data})
    return blocks


def _reasoning_fields(part: Any) -> tuple[Any, Any, Any, Any]:
    """(kind, text, signature, data) of a ReasoningPart, its dict, or a wire block dict."""
    if isinstance(part, ReasoningPart):
        return part.kind, part.text, part.signature, part.data
    if isinstance(part, Mapping):
        if "kind" in part:
            return part["kind"], part.get("text"), part.get("signature"), part.get("data")
        return part.get("type"), part.get("thinking"), part.get("signature"), part.get("data")
    raise ConfigError(
        f"A reasoning part must be a ReasoningPart or a dict, not {type(part).__name__}."
    )


def _is_tool_turn(turn: Mapping[str, Any]) -> bool:
    content = turn["content"]
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


#: the fields of each common part type that its block is built from; any other goes on as given
_PART_FIELDS = {
    "text": ("type", "text"),
    "image_url": ("type", "image_url", "media_type"),
    "image": ("type", "data", "url", "media_type"),
}


def _wire_block(part: Mapping[str, Any]) -> dict[str, Any]:
    fields = _PART_FIELDS[part["type"]]
    own = {k: v for k, v in part.items() if k not in fields and v is not None}
    if part["type"] == "text":
        return {"type": "text", "text": part["text"], **own}
    media_type, data, url = image_source(part)
    source: dict[str, Any]
    if data:
        source = {"type": "base64", "media_type": media_type or "image/png", "data": data}
    else:
        source = {"type": "url", "url": url}
    return {"type": "image", "source": source, **own}
