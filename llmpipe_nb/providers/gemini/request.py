"""Building Gemini's request bodies: roles, parts, generation options, tools, embeddings.

Roles map to `user`/`model`, system messages to `systemInstruction`, tool results to
`functionResponse` parts of one user turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .._messages import (
    function_specs,
    image_source,
    option_values,
    text_of,
    tool_call_fields,
    tool_choice_name,
    tool_names_by_id,
)

GENERATION_OPTIONS = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "n": "candidateCount",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}
EMBED_OPTIONS = {"task_type": "taskType", "dimensions": "outputDimensionality", "title": "title"}


def model_path(model: str) -> str:
    """`gemini-2.5-flash` -> `models/gemini-2.5-flash`; `tunedModels/...` stays as it is."""
    return model if "/" in model else f"models/{model}"


def generate_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of `generateContent` / `streamGenerateContent`."""
    messages = list(messages)
    system = [text_of(m.get("content")) for m in messages if m["role"] in ("system", "developer")]
    body: dict[str, Any] = {"contents": wire_contents(messages)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = option_values(options, GENERATION_OPTIONS)
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if cap is not None:
        config["maxOutputTokens"] = cap
    stop = options.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config |= _response_format(options.get("response_format"))
    if config:
        body["generationConfig"] = config
    if options.get("tools"):
        body["tools"] = [{"functionDeclarations": function_specs(options["tools"])}]
    if options.get("tool_choice") is not None:
        body["toolConfig"] = {"functionCallingConfig": _calling_config(options["tool_choice"])}
    safety = options.get("safety_settings")
    if safety is not None:
        body["safetySettings"] = (
            [{"category": c, "threshold": t} for c, t in safety.items()]
            if isinstance(safety, Mapping)
            else list(safety)
        )
    return body | dict(options.get("extra_body") or {})


def _response_format(response_format: Any) -> dict[str, Any]:
    if not response_format or response_format.get("type") == "text":
        return {}
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is not None:
        config["responseJsonSchema"] = schema
    return config


def _calling_config(choice: Any) -> dict[str, Any]:
    name = tool_choice_name(choice)
    if name:
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {
        "mode": {"auto": "AUTO", "required": "ANY", "any": "ANY", "none": "NONE"}.get(
            str(choice), "AUTO"
        )
    }


def wire_contents(messages: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`contents` turns: assistant -> model, tool results -> functionResponse parts of one user turn."""
    names = tool_names_by_id(messages)
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            part = {
                "functionResponse": {
                    "name": names.get(message["tool_call_id"], ""),
                    "response": _tool_result(message),
                }
            }
            if (
                contents
                and contents[-1]["role"] == "user"
                and "functionResponse" in contents[-1]["parts"][0]
            ):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
            continue
        parts = _wire_parts(message.get("content"))
        for call in message.get("tool_calls") or ():
            _, name, arguments = tool_call_fields(call)
            parts.append({"functionCall": {"name": name, "args": arguments}})
        contents.append({"role": "model" if role == "assistant" else "user", "parts": parts})
    return contents


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    text = text_of(message.get("content"))
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
        if data:
            parts.append({"inlineData": {"mimeType": media_type or "image/png", "data": data}})
        else:
            parts.append({"fileData": {"mimeType": media_type or "image/jpeg", "fileUri": url}})
    return parts


def embed_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of `batchEmbedContents` (one request per input, in order)."""
    extra = option_values(options, EMBED_OPTIONS)
    model = model_path(str(options.get("model")))
    return {
        "requests": [
            {"model": model, "content": {"parts": [{"text": str(text)}]}} | extra for text in inputs
        ]
    }
