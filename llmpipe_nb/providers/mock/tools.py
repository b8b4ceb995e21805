"""The mock's tool use: which calls it asks for, and its answer once their results are back.

When a chat offers tools and the conversation's last message is not a tool result, the
mock asks for every offered tool once, in the order given (parallel calls when there are
several). Each call's arguments are a valid instance of the tool's schema, built from its
required properties only (optional ones keep their defaults) by the code behind the mock's
structured answers (`structured.example_of`), seeded with the last user message: a string
is a name from the prompt ("Paris" in "Weather in Paris?"), a number one the prompt gives
where it fits, an enum value the prompt names. The call ids come from a hash of the tool and
the prompt, so the same chat always gets the same calls. `tool_choice="none"` asks for none.

Once the results are back (the last message is a tool result), the mock answers with text
that quotes each result, so a demo shows the tools' output reaching the answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...structured import example_of

#: how much of one tool result the mock's answer quotes
QUOTED = 200


def tool_calls(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The calls the mock asks for: one per offered tool, or none (see the module doc)."""
    specs = [_flat(tool) for tool in body.get("tools") or ()]
    messages: Sequence[Any] = body.get("messages") or []
    if (
        not specs
        or not messages
        or body.get("tool_choice") == "none"
        or _role(messages[-1]) == "tool"
    ):
        return []
    prompt = _user_text(messages)
    calls = []
    for index, spec in enumerate(specs):
        name = str(spec.get("name", ""))
        digest = hashlib.sha256(f"{index}:{name}:{prompt}".encode()).hexdigest()[:12]
        calls.append(
            {"id": f"call_{digest}", "name": name, "arguments": arguments_for(spec, prompt)}
        )
    return calls


def arguments_for(spec: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """A valid instance of the tool's schema, with its required properties only."""
    schema = spec.get("parameters") or spec.get("input_schema") or {}
    if not isinstance(schema, Mapping):
        return {}
    required = [name for name in schema.get("required") or () if isinstance(name, str)]
    properties = schema.get("properties") or {}
    trimmed = {
        **schema,
        "type": "object",
        "properties": {name: properties[name] for name in required if name in properties},
        "required": required,
    }
    value = example_of(trimmed, prompt)
    return value if isinstance(value, dict) else {}


def tool_answer(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The answer to the tool results that end the conversation, quoting them; else None."""
    results: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if _role(message) != "tool":
            break
        results.insert(0, message)
    if not results:
        return None
    quoted = "; ".join(
        f"{message.get('name') or 'a tool'} said {_clip(_text(message.get('content')))}"
        for message in results
    )
    question = _clip(_user_text(messages), 80)
    return f"From the tools: {quoted} (the mock provider's deterministic answer to: {question})"


def _flat(tool: Any) -> Mapping[str, Any]:
    """A tool spec as {name, description, parameters}, whether flat or OpenAI-shaped."""
    if not isinstance(tool, Mapping):
        return {}
    function = tool.get("function")
    return function if isinstance(function, Mapping) else tool


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, Mapping) else None


def _user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if _role(message) == "user":
            return _text(message.get("content"))
    return ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return json.dumps(content, ensure_ascii=False, default=str)


def _clip(text: str, n: int = QUOTED) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
