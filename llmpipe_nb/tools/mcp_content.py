"""What an MCP server sends back, in the shapes the tool loop and the chat messages take.

A tool's result becomes the tool's value (structured content where the server gives it,
else its text; `isError` raises `MCPToolError`, whose text the loop sends to the model);
a resource becomes its text or bytes; a prompt becomes chat messages. Tool names become
ones every provider accepts, and a server's URL is shown without what may hide a token.
"""

from __future__ import annotations

import base64
import re
from typing import Any


class MCPToolError(Exception):
    """The server answered a call with `isError`: its text goes back to the model."""


def tool_name(name: str, prefix: str = "") -> str:
    """A name every provider takes: other characters become '_', at most 64 characters."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{prefix}{name}")
    if not safe or not (safe[0].isalpha() or safe[0] == "_"):
        safe = f"_{safe}"
    return safe[:64]


def shown_url(url: str) -> str:
    """The URL without user info, query or fragment (where tokens hide)."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url.split("?")[0].split("#")[0]
    authority, slash, path = rest.partition("/")
    authority = authority.rpartition("@")[2]
    return f"{head}://{authority}{slash}{path}".split("?")[0].split("#")[0]


def result_of(result: Any) -> Any:
    """A `CallToolResult` as the tool's value: structured content where given, else the text."""
    text = "\n".join(filter(None, (block_text(block) for block in result.content or ())))
    if result.is_error:
        raise MCPToolError(text or "the server reported an error without a message")
    if result.structured_content is not None:
        return result.structured_content
    return text


def block_text(block: Any) -> str:
    """One content block as text; what cannot be text is named with its type and size."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(block.data) * 3 // 4
        return f"[{kind} {block.mime_type}, about {size} bytes]"
    if kind == "resource":
        inner = block.resource
        text = getattr(inner, "text", None)
        return text if isinstance(text, str) else f"[resource {inner.uri}]"
    if kind == "resource_link":
        return f"[resource {block.uri}]"
    return f"[{kind or 'unknown'} content]"


def resource_value(answer: Any) -> str | bytes:
    """A `ReadResourceResult`'s text (its parts joined), or its bytes when it has no text."""
    texts = [part.text for part in answer.contents if isinstance(getattr(part, "text", None), str)]
    if texts or not answer.contents:
        return "\n".join(texts)
    return b"".join(base64.b64decode(part.blob) for part in answer.contents)


def prompt_messages(answer: Any) -> list[dict[str, Any]]:
    """A `GetPromptResult` as chat messages (text, or an image part)."""
    messages = []
    for message in answer.messages:
        content = message.content
        if getattr(content, "type", "") == "image":
            part = {"type": "image", "data": content.data, "media_type": content.mime_type}
            messages.append({"role": message.role, "content": [part]})
        else:
            messages.append({"role": message.role, "content": block_text(content)})
    return messages
