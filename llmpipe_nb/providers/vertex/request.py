"""Vertex AI's addresses and the bodies that are its own: the host for a location, the
publisher a model belongs to, Claude's Messages body as Vertex takes it, and `:predict`
embeddings. Gemini's bodies are the Gemini API's (`providers/gemini`), unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ConfigError
from .._messages import option_values
from ..anthropic import messages_body
from ..anthropic import rules as anthropic_rules

#: what Vertex's Claude models take in the body's `anthropic_version`; a dated Messages
#: API version (such as current anthropic SDKs send there) may be asked for instead
DEFAULT_ANTHROPIC_VERSION = "vertex-2023-10-16"
#: the Messages API version whose rules apply to the body under the Vertex version
_VERTEX_RULES = "2023-06-01"
#: `:predict` embedding options -> (where they go, their field)
PREDICT_OPTIONS = {"task_type": "task_type", "title": "title"}
PREDICT_PARAMETERS = {"dimensions": "outputDimensionality", "auto_truncate": "autoTruncate"}


def host(location: str) -> str:
    """The API host for a location: `global`, the `us` / `eu` multi-regions, or a region."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def publisher(model: str) -> str:
    """`anthropic` for Claude models, `google` for the rest (Gemini, embeddings)."""
    return "anthropic" if model.startswith("claude") else "google"


def model_root(project: str, location: str, model: str) -> str:
    """The path of a publisher model in a project and location, before its `:action`."""
    return (
        f"/v1/projects/{project}/locations/{location}/publishers/{publisher(model)}/models/{model}"
    )


def anthropic_version(options: Mapping[str, Any], extra: Mapping[str, Any]) -> tuple[str, str]:
    """(the `anthropic_version` to send, the Messages API version whose rules the body follows)."""
    version = options.get("anthropic_version") or extra.get("anthropic_version")
    if version is None or version == DEFAULT_ANTHROPIC_VERSION:
        return DEFAULT_ANTHROPIC_VERSION, _VERTEX_RULES
    dated = anthropic_rules.api_version({"api_version": version}, {})
    return dated, dated


def claude_body(
    messages: Iterable[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    stream: bool,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Anthropic's Messages body as Vertex takes it: the model is in the address, not the
    body, and `anthropic_version` is in the body, not a header."""
    sent, rules_version = anthropic_version(options, extra)
    body = messages_body(messages, options, stream=stream, version=rules_version)
    body.pop("model", None)
    return {"anthropic_version": sent, **body}


def predict_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The body of `:predict` for text embeddings: one instance per input."""
    fields = option_values(options, PREDICT_OPTIONS)
    body: dict[str, Any] = {"instances": [{"content": str(text)} | fields for text in inputs]}
    parameters = option_values(options, PREDICT_PARAMETERS)
    if parameters:
        body["parameters"] = parameters
    return body


def one_instance_only(model: str) -> bool:
    """Gemini embedding models take one instance per `:predict` call."""
    return model.startswith("gemini-embedding")


def refuse_foreign(options: Mapping[str, Any], own: frozenset[str], model: str) -> None:
    """ConfigError for an option of the other publisher's models (it would be dropped)."""
    foreign = sorted(set(options) - own)
    if foreign:
        raise ConfigError(
            f"{model} on Vertex AI does not take {', '.join(foreign)} (an option of "
            f"{'Gemini' if publisher(model) == 'anthropic' else 'Claude'} models): remove it."
        )
