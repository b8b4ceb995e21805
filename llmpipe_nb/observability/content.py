"""Message content for a span, in the GenAI conventions' JSON shape; only when asked for.

`gen_ai.input.messages` and `gen_ai.output.messages` hold the conversation as
`[{"role", "parts": [{"type": "text", "content"}, ...]}]`. Images are named by their
kind, never inlined (a base64 picture would swamp the exporter), and the whole text
passes through `redact`, so a key pasted into a prompt is not exported either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import redact
from ..request import Request

#: request kinds whose messages are a conversation
CHAT_KINDS = ("chat", "stream", "completion")


def content_attributes(done: Request) -> dict[str, str]:
    """The input and output messages of a chat request as JSON strings (empty for other kinds)."""
    if done.kind not in CHAT_KINDS:
        return {}
    attrs = {"gen_ai.input.messages": _dump([_message(m) for m in done.messages])}
    output = _output(done.result)
    if output is not None:
        attrs["gen_ai.output.messages"] = _dump([output])
    return attrs


def _dump(value: Any) -> str:
    return redact(json.dumps(value, ensure_ascii=False, default=str))


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = message.get("role")
    parts = _parts(message.get("content"))
    if role == "tool":
        parts = [
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": message.get("content"),
            }
        ]
    parts += [_tool_call(c) for c in message.get("tool_calls") or ()]
    return {"role": role, "parts": parts}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, list):
        return []
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text":
            parts.append({"type": "text", "content": part.get("text")})
        else:  # an image: its kind, not its bytes
            parts.append({"type": "blob", "modality": "image"})
    return parts


def _tool_call(call: Any) -> dict[str, Any]:
    if isinstance(call, Mapping):
        function = call.get("function")
        function = function if isinstance(function, Mapping) else call
        return {
            "type": "tool_call",
            "id": call.get("id"),
            "name": function.get("name"),
            "arguments": function.get("arguments"),
        }
    return {
        "type": "tool_call",
        "id": getattr(call, "id", None),
        "name": getattr(call, "name", None),
        "arguments": getattr(call, "arguments", None),
    }


def _output(result: Any) -> dict[str, Any] | None:
    content = getattr(result, "content", None)
    if not isinstance(content, str):
        return None
    parts = _parts(content) if content else []
    parts += [_tool_call(c) for c in getattr(result, "tool_calls", ())]
    out: dict[str, Any] = {"role": "assistant", "parts": parts}
    finish = getattr(result, "finish_reason", None)
    if finish:
        out["finish_reason"] = finish
    return out
