"""Building Gemini's requests: the address and API version, generation options, thinking,
tools, embeddings.

Options the user gives as raw Gemini fields (`generation_config=`, `extra_body=`) are
deep-merged into what the provider builds: a nested object such as `thinkingConfig`
joins `generationConfig` instead of replacing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import ConfigError
from .._messages import function_specs, option_values, refuse_names, tool_choice_name
from .contents import system_instruction, wire_contents

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
#: options that shape `generationConfig.thinkingConfig`
THINKING_OPTIONS = ("thinking_level", "thinking_budget", "include_thoughts")
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")
#: what google-genai 3.6 uses for API keys; every field this provider sends is there
DEFAULT_API_VERSION = "v1"
_VERSION = re.compile(r"v\d+(?:alpha|beta)?\d*")


def model_path(model: str) -> str:
    """`gemini-2.5-flash` -> `models/gemini-2.5-flash`; `tunedModels/...` stays as it is."""
    return model if "/" in model else f"models/{model}"


def api_prefix(base_url: str, version: Any) -> str:
    """The API version path to put before each call's path: `/v1` for a bare host.

    A base_url that has a path already (`.../v1beta`, a gateway's own prefix) is used as
    given; naming another version for it is refused, as one of the two would be ignored.
    """
    if version is not None and (not isinstance(version, str) or not _VERSION.fullmatch(version)):
        raise ConfigError(
            f"api_version for gemini must be an API version such as 'v1' or 'v1beta', not {version!r}."
        )
    path = urlsplit(base_url).path.rstrip("/")
    if not path:
        return f"/{version or DEFAULT_API_VERSION}"
    last = path.rsplit("/", 1)[-1]
    if version is not None and _VERSION.fullmatch(last) and last != version:
        raise ConfigError(
            f"The gemini base_url {base_url} already names API version {last}, "
            f"so api_version={version!r} would be ignored: drop one of the two."
        )
    return ""


def generate_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of `generateContent` / `streamGenerateContent`."""
    messages = list(messages)
    refuse_names(messages, "Gemini")
    body: dict[str, Any] = {"contents": wire_contents(messages)}
    system = system_instruction(messages)
    if system:
        body["systemInstruction"] = system
    config = option_values(options, GENERATION_OPTIONS)
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if cap is not None:
        config["maxOutputTokens"] = cap
    stop = options.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config |= _response_format(options.get("response_format"))
    thinking = thinking_config(options)
    if thinking:
        config["thinkingConfig"] = thinking
    config = deep_merge(config, _mapping(options, "generation_config"))
    if config:
        body["generationConfig"] = config
    if options.get("tools"):
        body["tools"] = [{"functionDeclarations": _declarations(options["tools"])}]
    if options.get("tool_choice") is not None:
        body["toolConfig"] = {"functionCallingConfig": _calling_config(options["tool_choice"])}
    safety = options.get("safety_settings")
    if safety is not None:
        body["safetySettings"] = (
            [{"category": c, "threshold": t} for c, t in safety.items()]
            if isinstance(safety, Mapping)
            else list(safety)
        )
    body = deep_merge(body, _mapping(options, "extra_body"))
    _check_thinking(body)
    return body


def thinking_config(options: Mapping[str, Any]) -> dict[str, Any]:
    """`thinkingConfig` from thinking_level, thinking_budget and include_thoughts."""
    config: dict[str, Any] = {}
    level = options.get("thinking_level")
    if level is not None:
        if not isinstance(level, str) or level.upper() not in THINKING_LEVELS:
            raise ConfigError(
                f"thinking_level must be one of {', '.join(t.lower() for t in THINKING_LEVELS)}, "
                f"not {level!r}."
            )
        config["thinkingLevel"] = level.upper()
    budget = options.get("thinking_budget")
    if budget is not None:
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < -1:
            raise ConfigError(
                "thinking_budget must be a whole number of tokens: 0 turns thinking off, "
                f"-1 lets the model decide; not {budget!r}."
            )
        config["thinkingBudget"] = budget
    include = options.get("include_thoughts")
    if include is not None:
        if not isinstance(include, bool):
            raise ConfigError(f"include_thoughts must be True or False, not {include!r}.")
        config["includeThoughts"] = include
    return config


def _check_thinking(body: Mapping[str, Any]) -> None:
    thinking = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    if "thinkingLevel" in thinking and "thinkingBudget" in thinking:
        raise ConfigError(
            "Gemini takes a thinking level or a thinking budget, not both: "
            "drop thinking_level or thinking_budget."
        )


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` merged in: objects merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _mapping(options: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = options.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{name} must be a dict of Gemini's own JSON fields, not {type(value).__name__}."
        )
    return value


def _response_format(response_format: Any) -> dict[str, Any]:
    if not response_format or response_format.get("type") == "text":
        return {}
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is not None:
        config["responseJsonSchema"] = schema
    return config


def _declarations(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Function declarations; a function without arguments leaves `parameters` out, as
    Gemini refuses an OBJECT schema with no properties."""
    specs = function_specs(tools)
    for spec in specs:
        parameters = spec["parameters"]
        if parameters.get("type") == "object" and not parameters.get("properties"):
            del spec["parameters"]
    return specs


def _calling_config(choice: Any) -> dict[str, Any]:
    name = tool_choice_name(choice)
    if name:
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {
        "mode": {"auto": "AUTO", "required": "ANY", "any": "ANY", "none": "NONE"}.get(
            str(choice), "AUTO"
        )
    }


def embed_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of `batchEmbedContents` (one request per input, in order)."""
    extra = option_values(options, EMBED_OPTIONS)
    model = model_path(str(options.get("model")))
    return {
        "requests": [
            {"model": model, "content": {"parts": [{"text": str(text)}]}} | extra for text in inputs
        ]
    }
