"""The conversation as Gemini's `contents`: turns, parts, media types, and model turns echoed.

Assistant turns become `model` turns, tool results `functionResponse` parts of one user
turn. The system instruction and a function response take only text, so an image in
either is refused rather than dropped. A model turn that came from a `ChatResponse` goes
back as it was received: thought parts, signed text parts and function calls in their
order, each with its `thoughtSignature` (Gemini 3 refuses a function call echoed
without it).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import ConfigError
from ...responses import ReasoningPart, ToolCall
from .._messages import image_source, text_of, tool_call_fields, tool_names_by_id

#: the image types Gemini reads (not every Python knows them all); others from Python's table
_SUFFIX_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".gif": "image/gif",
}
_BUILTIN_TYPES = mimetypes.MimeTypes(filenames=())  # no system files: the same on every machine
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def system_instruction(messages: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """`systemInstruction` from the system and developer messages, which must be text."""
    texts = []
    for index, message in enumerate(messages):
        if message["role"] in ("system", "developer"):
            _refuse_images(index, message, "the system instruction")
            texts.append(text_of(message.get("content")))
    return {"parts": [{"text": "\n\n".join(texts)}]} if texts else None


def wire_contents(messages: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`contents` turns: assistant -> model, tool results -> functionResponse parts of one user turn."""
    names = tool_names_by_id(messages)
    contents: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            _refuse_images(index, message, "a tool result")
            name = names.get(message["tool_call_id"]) or message.get("name") or ""
            part = {"functionResponse": {"name": name, "response": _tool_result(message)}}
            if (
                contents
                and contents[-1]["role"] == "user"
                and "functionResponse" in contents[-1]["parts"][0]
            ):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
            continue
        if role == "assistant":
            contents.append({"role": "model", "parts": model_parts(message)})
        else:
            contents.append({"role": "user", "parts": _wire_parts(message.get("content"))})
    return contents


def model_parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An assistant message as a model turn's parts, in the order the model sent them.

    Reasoning parts sit at their `offset` in the text (or, without one, where their text
    is found); text between them goes as plain parts; function calls close the turn.
    Reasoning of another provider (Anthropic thinking, say) is not Gemini's and is left out.
    """
    content = message.get("content")
    given = (_reasoning(r) for r in message.get("reasoning") or ())
    reasoning = [r for r in given if r.kind in _KINDS]
    calls = [_call_part(call) for call in message.get("tool_calls") or ()]
    if not reasoning or not isinstance(content, (str, type(None))):
        return _wire_parts(content) + calls
    text = content or ""
    parts: list[dict[str, Any]] = []
    cursor = 0
    for piece in reasoning:
        at = _position(piece, text, cursor)
        if at > cursor:
            parts.append({"text": text[cursor:at]})
            cursor = at
        part: dict[str, Any] = {"text": piece.text}
        if piece.kind == "thought":
            part["thought"] = True
        elif text.startswith(piece.text, cursor):
            cursor += len(piece.text)
        if piece.signature:
            part["thoughtSignature"] = piece.signature
        parts.append(part)
    if cursor < len(text):
        parts.append({"text": text[cursor:]})
    return parts + calls


_KINDS = ("thought", "signature")


def _reasoning(value: Any) -> ReasoningPart:
    """A ReasoningPart, also from its dict form (a conversation saved as JSON)."""
    if isinstance(value, ReasoningPart):
        return value
    if isinstance(value, Mapping):
        fields = ("kind", "text", "signature", "data", "offset")
        return ReasoningPart(**{k: value[k] for k in fields if value.get(k) is not None})
    raise ConfigError(
        f"An assistant message's reasoning holds a {type(value).__name__}: "
        "send back the ReasoningParts of reply.message unchanged."
    )


def _position(piece: ReasoningPart, text: str, cursor: int) -> int:
    if piece.offset is not None:
        return min(max(piece.offset, cursor), len(text))
    if piece.kind == "signature" and piece.text:
        found = text.find(piece.text, cursor)
        return cursor if found < 0 else found
    return len(text) if piece.kind == "signature" else cursor


def _call_part(call: Any) -> dict[str, Any]:
    _, name, arguments = tool_call_fields(call)
    part: dict[str, Any] = {"functionCall": {"name": name, "args": arguments}}
    signature = call.signature if isinstance(call, ToolCall) else call.get("signature")
    if signature:
        part["thoughtSignature"] = signature
    return part


def _refuse_images(index: int, message: Mapping[str, Any], where: str) -> None:
    content = message.get("content")
    if isinstance(content, list) and any(p["type"] != "text" for p in content):
        raise ConfigError(
            f"Message {index} ({message['role']}) holds an image, but Gemini takes only text "
            f"in {where}: move the image to a user message."
        )


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    """The `response` object: a JSON object result as it is, other text under `result`, a
    failed run's text under `error` (the keys Gemini's docs give the model)."""
    text = text_of(message.get("content"))
    if message.get("is_error"):
        return {"error": text}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"result": text}


def _wire_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content or ():
        if part["type"] == "text":
            parts.append({"text": part["text"]})
            continue
        media_type, data, url = image_source(part)
        media_type = part.get("media_type") or media_type
        if data:
            media_type = media_type or _sniffed(data)
            parts.append({"inlineData": {"mimeType": media_type, "data": data}})
        else:
            media_type = media_type or _from_suffix(str(url))
            parts.append({"fileData": {"mimeType": media_type, "fileUri": url}})
    return parts


def _from_suffix(url: str) -> str:
    """The media type a URL's file name shows (`.png` -> image/png), or ConfigError."""
    address = urlsplit(url)
    path = address.path.lower()
    suffix = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    media_type = _SUFFIX_TYPES.get(suffix) or _BUILTIN_TYPES.guess_type(path)[0]
    if media_type is None:
        shown = f"{address.scheme}://{address.netloc}{address.path}" if address.scheme else url
        raise ConfigError(
            f"Gemini needs the media type of {shown}, and its name does not show one: "
            "add 'media_type' to the part, e.g. {'type': 'image_url', 'image_url': {'url': ...}, "
            "'media_type': 'image/png'}."
        )
    return media_type


def _sniffed(data: str) -> str:
    """The media type of base64 data from its first bytes, or ConfigError."""
    try:
        head = base64.b64decode(data[:24] + "=" * (-len(data[:24]) % 4))
    except (binascii.Error, ValueError):
        head = b""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    raise ConfigError(
        "Gemini needs the media type of inline data, and its first bytes are not a PNG, "
        "JPEG, GIF, WebP or PDF: add 'media_type' to the part, e.g. 'image/heic'."
    )
