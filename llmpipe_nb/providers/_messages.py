"""Reading the common message shape, so each provider only writes its own wire format.

Messages arrive in the chat shape `messages.py` checks; tool calls and tools may come
in OpenAI's wire shape, a flat `{"id", "name", "arguments"}` shape, or as `ToolCall`s.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Generator, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from ..errors import ConfigError, ResponseFormatError
from ..responses import StreamChunk, ToolCall, Usage, text_chunk

EMPTY_SCHEMA = {"type": "object", "properties": {}}
PASS_BYTES = "or pass the bytes as {'type': 'image', 'data': <base64>, 'media_type': 'image/png'}"


def text_of(content: Any) -> str:
    """The text of a message content: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def tool_call_fields(call: Any) -> tuple[str, str, Any]:
    """(id, name, decoded arguments) of a tool call in any accepted shape."""
    if isinstance(call, ToolCall):
        return call.id, call.name, call.arguments
    function = call.get("function")
    source = function if isinstance(function, Mapping) else call
    arguments = source.get("arguments", source.get("args"))
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # else keep the text the model sent
            arguments = json.loads(arguments) if arguments.strip() else {}
    return (
        str(call.get("id") or ""),
        str(source.get("name") or ""),
        {} if arguments is None else arguments,
    )


def function_specs(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tools as `{"name", "description", "parameters"}`, from OpenAI's shape or the flat one."""
    specs = []
    for tool in tools:
        function = tool.get("function", tool)
        spec = {"name": function["name"], "parameters": function.get("parameters") or EMPTY_SCHEMA}
        if function.get("description"):
            spec["description"] = function["description"]
        specs.append(spec)
    return specs


def tool_choice_name(choice: Any) -> str | None:
    """The function name a tool_choice forces, if it names one."""
    if isinstance(choice, Mapping):
        function = choice.get("function", choice)
        name = function.get("name") if isinstance(function, Mapping) else None
        return str(name) if name else None
    return None


def image_source(part: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(media type, base64 data, url) of an `image_url` or `image` content part.

    A `data:` URL is decoded into its bytes, percent-encoded ones too: no API takes one
    as a URL, so passed on as such it would be refused or lost.
    """
    media_type: str | None
    data: str | None
    url: str | None
    if part.get("type") == "image_url":
        given = part["image_url"]
        media_type, data = None, None
        url = str(given.get("url") if isinstance(given, Mapping) else given)
    else:
        media_type, data, url = part.get("media_type"), part.get("data"), part.get("url")
    if not data and url and url.startswith("data:"):
        data, given_type = data_url(url)
        return given_type or media_type, data, None
    return media_type, data, url


def data_url(url: str) -> tuple[str, str | None]:
    """(base64 data, media type) of a `data:[<type>][;base64],<data>` URL, or ConfigError."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ConfigError(
            f"The data URL {url[:40]}… has no ',' before its data: write it as "
            f"data:<type>;base64,<data>, {PASS_BYTES}."
        )
    params = header.split(";")
    media_type = params[0].strip() or None
    if "base64" in params[1:]:
        return payload, media_type
    return base64.b64encode(unquote_to_bytes(payload)).decode(), media_type


def refuse_names(messages: Iterable[Mapping[str, Any]], provider: str) -> None:
    """ConfigError for a `name` on a message other than a tool result (whose call names it):
    `provider` has no field for who is speaking."""
    for index, message in enumerate(messages):
        if message.get("name") and message["role"] != "tool":
            raise ConfigError(
                f"Message {index} ({message['role']}) has a name, which {provider} has no "
                "field for: say who is speaking in the text, or leave the name out."
            )


def tool_names_by_id(messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Tool call id -> function name, from the assistant turns, for formats that answer by name."""
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            call_id, name, _ = tool_call_fields(call)
            names[call_id] = name
    return names


def decoded_arguments(provider: str, text: str) -> Any:
    """Streamed argument fragments joined: JSON decoded, `{}` when empty."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError:
        raise ResponseFormatError(
            f"{provider} streamed tool-call arguments that are not valid JSON.", provider=provider
        ) from None


#: the JSON scanner, made once: `json.loads` builds its call through two Python frames
#: per value, which a stream pays on every chunk
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def json_event(data: str, provider: str) -> dict[str, Any]:
    """A stream event's data as a JSON object, or ResponseFormatError."""
    try:
        try:
            value, end = _scan(data, 0)
        except StopIteration:  # leading space, or nothing: let json.loads judge
            end = -1
        if end != len(data):
            value = json.loads(data)
    except ValueError:
        raise ResponseFormatError(
            f"{provider} sent a stream event that is not valid JSON.", provider=provider
        ) from None
    if not isinstance(value, dict):
        raise ResponseFormatError(
            f"{provider} sent a stream event that is not a JSON object.", provider=provider
        )
    return value


def usage_of(
    input_tokens: Any = 0, output_tokens: Any = 0, cached: Any = 0, reasoning: Any = 0
) -> Usage:
    """A Usage from wire counts, where absent or null counts are 0."""
    return Usage(
        int(input_tokens or 0), int(output_tokens or 0), int(cached or 0), int(reasoning or 0)
    )


def option_values(options: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """Options renamed to wire fields (`names` maps ours to theirs), None values left out."""
    return {wire: options[ours] for ours, wire in names.items() if options.get(ours) is not None}


def _grown() -> Generator[str | None, str | None, None]:
    """The text so far, held in this frame's one reference: CPython grows a `str` that
    nothing else refers to in place on `+=`, so the text is never copied whole and the
    finished answer is the very string that was grown. `send(piece)` adds a piece;
    `send(None)` gives the text back."""
    text = ""
    out = None
    while True:
        piece = yield out
        if piece is None:
            out = text
        else:
            out = None
            text += piece


class AssembledText:
    """A stream's text so far, grown in place: a 20 MB answer takes 20 MB, not a buffer
    plus the copy that turns it into a `str`."""

    __slots__ = ("_send", "count")

    def __init__(self) -> None:
        grower = _grown()
        next(grower)
        self._send = grower.send
        self.count = 0

    def add(self, text: str) -> StreamChunk:
        """Keep the text and return it as the next numbered chunk."""
        self._send(text)
        self.count += 1
        return text_chunk(text, self.count - 1)

    @property
    def text(self) -> str:
        return self._send(None)  # type: ignore[return-value]
