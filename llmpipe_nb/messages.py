"""Chat messages and texts to embed: checked once when a request is made, so nothing
malformed is ever sent.

A message is a plain dict in the common chat shape: `{"role", "content"}` where content
is a string or a list of parts (`{"type": "text", "text"}`, `{"type": "image_url",
"image_url": {"url"}}`, `{"type": "image", "data"|"url", "media_type"}`). Assistant
messages may carry `tool_calls` and `reasoning` (a list of `ReasoningPart`s, as
`ChatResponse.message` gives them, to be sent back unchanged); tool results are `{"role": "tool", "tool_call_id",
"content"}`. A message may also carry a `name` (sent where the API has a place for it,
refused where it has none) and Ollama's own `tool_name` and `thinking`. Any other field
is refused rather than dropped. Providers translate this one shape into their wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

ROLES = ("system", "developer", "user", "assistant", "tool")
PART_TYPES = ("text", "image_url", "image")
FIELDS = (
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "is_error",
    "reasoning",
    "tool_name",
    "thinking",
)
#: values of an unknown field that say nothing (an SDK's message dump has `refusal: None`)
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def normalize_messages(messages: Any) -> tuple[dict[str, Any], ...]:
    """Return the messages as a tuple of dicts, or raise ConfigError naming the bad one."""
    if isinstance(messages, str):
        return ({"role": "user", "content": messages},)
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, (list, tuple)):
        raise ConfigError(
            f"Messages must be a string or a list of {{'role', 'content'}} dicts, "
            f"not {type(messages).__name__}."
        )
    if not messages:
        raise ConfigError(
            "There are no messages to send: give a prompt string or a list of messages."
        )
    return tuple(_check(i, m) for i, m in enumerate(messages))


def normalize_inputs(inputs: Any) -> tuple[str, ...]:
    """Texts to embed as a tuple of strings, or ConfigError naming the bad one (nothing is sent)."""
    if isinstance(inputs, str):
        inputs = (inputs,)
    elif isinstance(inputs, (Mapping, set, frozenset, bytes)) or not hasattr(inputs, "__iter__"):
        raise ConfigError(
            "Inputs to embed must be a non-empty string or a list of strings, "
            f"not {type(inputs).__name__}."
        )
    texts = tuple(inputs)
    if not texts:
        raise ConfigError(
            "There is nothing to embed: give a non-empty string or a list of strings."
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(
                "Inputs to embed must be a non-empty string or a list of strings; "
                f"item {i} is {type(text).__name__}."
            )
        if not text:
            raise ConfigError(f"Input {i} to embed is an empty string: remove it or give text.")
    return texts


def _check(index: int, message: Any) -> dict[str, Any]:
    where = f"Message {index}"
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if not isinstance(message, Mapping):
        raise ConfigError(
            f"{where} is a {type(message).__name__}: pass a dict with 'role' and 'content'."
        )
    role = message.get("role")
    if role is None:
        raise ConfigError(f"{where} has no 'role': add one of {', '.join(ROLES)}.")
    if role not in ROLES:
        raise ConfigError(f"{where} has unknown role {role!r}: use one of {', '.join(ROLES)}.")
    unknown = next((k for k, v in message.items() if k not in FIELDS and v not in _EMPTY), None)
    if unknown is not None:
        raise ConfigError(
            f"{where} ({role}) has a field {unknown!r}, which is sent to no provider: keep to "
            f"{', '.join(FIELDS)}, and put images in the content as parts."
        )
    content = message.get("content")
    if content is None:
        if not (role == "assistant" and (message.get("tool_calls") or message.get("reasoning"))):
            raise ConfigError(f"{where} ({role}) has no 'content': add the text of the message.")
    elif isinstance(content, list):
        for j, part in enumerate(content):
            _check_part(f"{where}, part {j}", part)
    elif not isinstance(content, str):
        raise ConfigError(
            f"{where} ({role}) has content of type {type(content).__name__}: "
            "use a string or a list of content parts."
        )
    if role == "tool" and not message.get("tool_call_id"):
        raise ConfigError(
            f"{where} is a tool result without 'tool_call_id': add the id of the call it answers."
        )
    return dict(message)


def _check_part(where: str, part: Any) -> None:
    if not isinstance(part, Mapping) or part.get("type") not in PART_TYPES:
        raise ConfigError(f"{where} must be a dict whose 'type' is one of {', '.join(PART_TYPES)}.")
    kind = part["type"]
    if kind == "text" and not isinstance(part.get("text"), str):
        raise ConfigError(f"{where} is a text part without a string 'text'.")
    if kind == "image_url":
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        if not isinstance(url, str):
            raise ConfigError(
                f"{where} is an image_url part without a URL: use {{'image_url': {{'url': ...}}}}."
            )
    if kind == "image" and not (part.get("data") or part.get("url")):
        raise ConfigError(f"{where} is an image part without 'data' (base64) or 'url'.")


def count_images(messages: Any) -> int:
    """How many image parts the (normalised) messages carry."""
    return sum(
        1
        for m in messages
        if isinstance(m, Mapping) and isinstance(m.get("content"), list)
        for p in m["content"]
        if isinstance(p, Mapping) and p.get("type") in ("image", "image_url")
    )
