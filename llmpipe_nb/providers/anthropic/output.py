"""How much and what shape the model writes: `thinking`, `output_config` and `max_tokens`.

Thinking tokens count toward `max_tokens`, so when thinking may be on and no cap is
given, the default cap leaves room for it: the budget plus the usual cap for manual
thinking, a larger cap for adaptive thinking and for Claude 4.7 and later (which may
think without being asked). Effort and structured output share `output_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ...structured.dialects import for_dialect
from .generations import default_sampling_only

DEFAULT_MAX_TOKENS = 4096
#: the cap when the model may think: room for its thinking and a full answer
THINKING_MAX_TOKENS = 16384
MIN_BUDGET = 1024
THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
EFFORTS = ("low", "medium", "high", "xhigh", "max")


def output_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """`max_tokens`, and `thinking` and `output_config` when asked for."""
    model = options.get("model")
    thinking = _thinking(options.get("thinking"), model)
    fields: dict[str, Any] = {"max_tokens": _max_tokens(options, thinking, model)}
    if thinking is not None:
        fields["thinking"] = thinking
    config: dict[str, Any] = {}
    effort = options.get("effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise ConfigError(f"effort must be one of {', '.join(EFFORTS)}, not {effort!r}.")
        config["effort"] = effort
    output_format = _format(options.get("response_format"))
    if output_format is not None:
        config["format"] = output_format
    if config:
        fields["output_config"] = config
    if _forces_tool(options.get("tool_choice")) and (thinking or {}).get("type") == "enabled":
        raise ConfigError(
            "Anthropic refuses a forced tool_choice with manual thinking ('enabled'): "
            "use tool_choice='auto', or turn thinking off."
        )
    return fields


def _thinking(thinking: Any, model: Any) -> dict[str, Any] | None:
    if thinking is None:
        return None
    if not isinstance(thinking, Mapping) or thinking.get("type") not in THINKING_TYPES:
        raise ConfigError(
            f"thinking must be a dict whose type is one of {', '.join(THINKING_TYPES)}, "
            f"such as {{'type': 'adaptive'}}, not {thinking!r}."
        )
    if thinking["type"] != "enabled":
        return dict(thinking)
    if default_sampling_only(model):
        raise ConfigError(
            f"{model} has no manual thinking ('enabled' with a budget): use "
            "thinking={'type': 'adaptive'}, with effort= to set how hard it thinks."
        )
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_BUDGET:
        raise ConfigError(
            f"thinking {{'type': 'enabled'}} needs budget_tokens, a whole number of at least "
            f"{MIN_BUDGET}, not {budget!r}."
        )
    return dict(thinking)


def _max_tokens(options: Mapping[str, Any], thinking: dict[str, Any] | None, model: Any) -> int:
    kind = (thinking or {}).get("type")
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if kind == "enabled":
        budget = thinking["budget_tokens"]  # type: ignore[index]
        if cap is None:
            return int(budget + DEFAULT_MAX_TOKENS)
        if budget >= cap:
            raise ConfigError(
                f"thinking budget_tokens ({budget}) must be less than max_tokens ({cap}), "
                "which also holds the answer: raise max_tokens or lower the budget."
            )
    if cap is not None:
        return int(cap)
    thinks = kind in ("adaptive", "between_tools") or (
        kind is None and default_sampling_only(model)
    )
    return THINKING_MAX_TOKENS if thinks else DEFAULT_MAX_TOKENS


def _format(response_format: Any) -> dict[str, Any] | None:
    """OpenAI's `response_format` as `output_config.format`: Anthropic needs the schema, in
    its subset (objects closed, the keywords it lacks moved into descriptions)."""
    if response_format is None or response_format.get("type") == "text":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if response_format.get("type") != "json_schema" or not isinstance(schema, Mapping):
        raise ConfigError(
            "Anthropic's structured output needs a JSON schema: pass response_format="
            "{'type': 'json_schema', 'json_schema': {'schema': {...}}}, or force a tool "
            "with tool_choice."
        )
    return {"type": "json_schema", "schema": for_dialect(schema, "anthropic")[0]}


def _forces_tool(choice: Any) -> bool:
    if isinstance(choice, Mapping):
        return choice.get("type") != "auto" and choice.get("type") != "none"
    return choice in ("required", "any")
