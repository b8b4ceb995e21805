"""What the API version and the model allow, applied to the finished body before it is sent.

Version `2026-10-21` (the default, as current SDKs send) removed `temperature`, `top_p`
and `top_k`, and refuses a `document` block in an assistant turn and non-empty
`citations` on user text. Claude 4.7 and later accept only default sampling values
under any version, and Claude 4.6 and later refuse a final assistant turn (prefill).
Sampling parameters the API would refuse are left out with a
warning, once per model and version; user-side citations are stripped (they annotate
text the model reads unchanged); an assistant-side document is refused, because moving
it would rewrite the conversation the model sees. The checks run on the body after
`extra_body` is merged, so hand-built wire messages get them too. The API takes at most
four `cache_control` breakpoints in one request; more is refused here, before sending.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ... import notices
from ...errors import ConfigError
from .generations import at_least, default_sampling_only

DEFAULT_VERSION = "2026-10-21"
#: the version whose rules apply to it and every later one
STRICT_VERSION = "2026-10-21"
SAMPLING = ("temperature", "top_p", "top_k")
_SAMPLING_DEFAULTS = {"temperature": 1, "top_p": 1}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_warned: set[tuple[str, str]] = set()


def api_version(options: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    """The `anthropic-version` to send: the per-call option, else the configured one, else the default."""
    version = options.get("api_version") or extra.get("api_version") or DEFAULT_VERSION
    if not isinstance(version, str) or not _DATE.fullmatch(version):
        raise ConfigError(
            f"api_version must be an Anthropic API version date such as '{DEFAULT_VERSION}' "
            f"or '2023-06-01', not {version!r}."
        )
    return version


def apply(body: dict[str, Any], version: str) -> dict[str, Any]:
    """`body` as the API version and the model accept it, or ConfigError for what cannot be fixed."""
    _sampling(body, version)
    _prefill(body)
    _breakpoints(body)
    if version >= STRICT_VERSION and isinstance(body.get("messages"), list):
        body["messages"] = [_turn(i, turn, version) for i, turn in enumerate(body["messages"])]
    return body


def _sampling(body: dict[str, Any], version: str) -> None:
    given = {name: body[name] for name in SAMPLING if body.get(name) is not None}
    model = str(body.get("model"))
    strict = version >= STRICT_VERSION
    if strict or default_sampling_only(model):
        for name in SAMPLING:
            body.pop(name, None)
        changed = [name for name, value in given.items() if _SAMPLING_DEFAULTS.get(name) != value]
        if changed:
            _warn_once(model, version, changed, strict)
        return
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive"):
        top_p = given.get("top_p", 1)
        if given.get("temperature", 1) != 1 or "top_k" in given or not 0.95 <= top_p <= 1:
            raise ConfigError(
                f"With thinking on, {model} takes no temperature or top_k and only a top_p "
                "from 0.95 to 1: leave them out, or turn thinking off."
            )
    if "temperature" in given and "top_p" in given and at_least(model, (4, 5)):
        raise ConfigError(f"{model} takes temperature or top_p, not both: leave one of them out.")


def _prefill(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if isinstance(last, Mapping) and last.get("role") == "assistant":
        model = body.get("model")
        if at_least(model, (4, 6)):
            raise ConfigError(
                f"{model} does not continue a final assistant message (prefill): end the "
                "conversation with a user message, and ask for JSON with response_format."
            )


MAX_BREAKPOINTS = 4


def _breakpoints(body: Mapping[str, Any]) -> None:
    """ConfigError for more `cache_control` marks on tools, system and message blocks than
    the API takes (it answers 400 for the whole request)."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    blocks += system if isinstance(system, list) else []
    for turn in body.get("messages") or []:
        content = turn.get("content") if isinstance(turn, Mapping) else None
        for block in content if isinstance(content, list) else []:
            blocks.append(block)
            inner = block.get("content") if isinstance(block, Mapping) else None
            blocks += inner if isinstance(inner, list) else []  # a tool result's blocks
    marked = sum(1 for b in blocks if isinstance(b, Mapping) and b.get("cache_control"))
    if marked > MAX_BREAKPOINTS:
        raise ConfigError(
            f"The request marks {marked} blocks with cache_control, and Anthropic takes at "
            f"most {MAX_BREAKPOINTS}: keep the marks on the last block of the longest "
            "prefixes you reuse (the tools, the system prompt, the latest turns)."
        )


def _warn_once(model: str, version: str, names: list[str], strict: bool) -> None:
    if (model, version) in _warned:
        return
    _warned.add((model, version))
    given = f"{' and '.join(names)} {'was' if len(names) == 1 else 'were'} not sent to {model}"
    if strict:
        why = f"Anthropic API version {version} has no temperature, top_p or top_k, so {given}"
    else:
        why = (
            f"{model} accepts only the default temperature, top_p and top_k (Claude 4.7 and "
            f"later), so {given} (API version {version})"
        )
    older = (
        ", or pass api_version='2023-06-01', which still takes them on this model"
        if strict and not default_sampling_only(model)
        else ""
    )
    notices.warn(
        __name__,
        f"{why}: steer it with effort= (thinking effort, sent as output_config.effort) "
        f"or the prompt instead{older}.",
        stacklevel=2,
    )


def _turn(index: int, turn: Any, version: str) -> Any:
    content = turn.get("content") if isinstance(turn, Mapping) else None
    if not isinstance(content, list):
        return turn
    if turn.get("role") == "assistant":
        if any(isinstance(b, Mapping) and b.get("type") == "document" for b in content):
            raise ConfigError(
                f"Turn {index} of the conversation is an assistant turn holding a document, "
                f"which Anthropic API version {version} refuses: send the document in a user "
                "message instead."
            )
        return turn
    if turn.get("role") == "user":
        return {**turn, "content": [_uncited(block) for block in content]}
    return turn


def _uncited(block: Any) -> Any:
    """A user block without non-empty `citations`, in text nested in results too."""
    if not isinstance(block, Mapping):
        return block
    if block.get("type") == "text" and block.get("citations"):
        return {k: v for k, v in block.items() if k != "citations"}
    if block.get("type") in ("search_result", "tool_result") and isinstance(
        block.get("content"), list
    ):
        return {**block, "content": [_uncited(inner) for inner in block["content"]]}
    return block
