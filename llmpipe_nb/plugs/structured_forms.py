"""The forms a structured request takes on the wire, and which one a server accepts.

A provider lists its forms best first (`Provider.structured_for(model)`): OpenAI's
`json_schema` response format (which the Anthropic, Gemini, Ollama and vLLM plugs turn
into their own fields), `json_object` with the schema beside it (llama-cpp-python's
server), `guided_json` (vLLM before 0.12), one forced `tool` (Anthropic models or
servers without `output_config`), or `prompt`: the schema written into the system
message, the answer validated and, on request, repaired. The first form is used until
a server refuses it; the next one that works is then remembered per base URL (and list
of forms, so models of one server that take different forms keep theirs) for the
session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, ProviderError
from ..structured import Schema

FORMS = ("json_schema", "json_object", "guided_json", "tool", "prompt")
#: the statuses a server refuses a form with (llama-cpp-python's is a 500)
REFUSED = (400, 422, 500)
#: words in the refusal that show the form was what the server refused
_NAMES = {
    "json_schema": ("response_format", "json_schema", "output_config", "structured"),
    "json_object": ("response_format", "json_object"),
    "guided_json": ("guided_json", "guided"),
    "tool": ("tool_choice", "tools", "toolchoice"),  # toolChoice: Bedrock's Converse
    "prompt": (),
}
_remembered: dict[tuple[str, str | None, tuple[str, ...]], str] = {}


def chosen_form(
    provider: str,
    forms: tuple[str, ...],
    base_url: str | None,
    options: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> str:
    """The form for this request: asked per call (`schema_form=`), set for the provider
    (`llm.configure(p, extra={"schema_form": ...})`), remembered for its server, or its best."""
    asked = options.get("schema_form") or extra.get("schema_form")
    if asked is not None:
        if asked not in forms:
            raise ConfigError(
                f"schema_form={asked!r} is not one '{provider}' takes for this model: use one "
                f"of {', '.join(forms)}."
            )
        return str(asked)
    return _remembered.get((provider, base_url, forms), forms[0])


def refused_form(error: BaseException | None, form: str) -> bool:
    """Whether `error` is a server refusing the structured-output form (not anything else)."""
    if not isinstance(error, ProviderError) or error.status_code not in REFUSED:
        return False
    said = f"{error.message} {json.dumps(error.body, default=str)}".lower()
    return any(name in said for name in _NAMES.get(form, ()))


def next_form(provider: str, forms: tuple[str, ...], base_url: str | None, form: str) -> str | None:
    """The form after `form` in the model's list, now remembered for its server."""
    if form not in forms or forms.index(form) + 1 >= len(forms):
        return None
    after = forms[forms.index(form) + 1]
    _remembered[(provider, base_url, forms)] = after
    return after


def apply_form(
    form: str, schema: Schema, options: dict[str, Any], messages: tuple[Any, ...], dialect: str
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The options and messages that ask for `schema` in `form`."""
    for taken in ("response_format", "guided_json", "structured_outputs"):
        if options.get(taken) is not None:
            raise ConfigError(f"Pass schema= or {taken}=, not both: schema= sets {taken} itself.")
    options["schema_form"] = form
    if form == "json_schema":
        options["response_format"] = schema.response_format(dialect)
    elif form == "json_object":
        options["response_format"] = {"type": "json_object", "schema": schema.json_schema}
        messages = with_instructions(messages, schema)
    elif form == "guided_json":
        options["extra_body"] = {
            **(options.get("extra_body") or {}),
            "guided_json": schema.json_schema,
        }
    elif form == "tool":
        if options.get("tools") or options.get("tool_choice") is not None:
            raise ConfigError(
                "schema= is asked as a forced tool here, so it cannot go with tools=: "
                "ask for the structured answer in its own request."
            )
        wire, _ = schema.wire(dialect)
        options["tools"] = [
            {
                "name": schema.name,
                "description": f"Give the answer as {schema.name}.",
                "parameters": wire,
            }
        ]
        options["tool_choice"] = {"type": "function", "function": {"name": schema.name}}
    else:
        messages = with_instructions(messages, schema)
    return options, messages


def with_instructions(messages: tuple[Any, ...], schema: Schema) -> tuple[Any, ...]:
    """The messages with the schema asked for in the system message (added when none)."""
    text = schema.instructions()
    if (
        messages
        and messages[0].get("role") == "system"
        and isinstance(messages[0].get("content"), str)
    ):
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{text}"}
        return (first, *messages[1:])
    return ({"role": "system", "content": text}, *messages)
