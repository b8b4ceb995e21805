"""How a request becomes the key of its recording, and how a miss is explained.

The key is a SHA-256 of the normalised request:

- the provider, the kind (chat, stream, completion, embeddings) and the model (the
  provider's default when none is given, so changing the default misses);
- every option except where and how the request is sent (`api_key`, `base_url`,
  `timeout`, `headers`), the per-call `cache` control, credential-named options, and the
  options in `ignore` (`ignore=["temperature", "user"]`);
- the messages (or the texts to embed), with `whitespace="collapse"` (the default) turning
  every run of whitespace into one space and trimming the ends, so re-indenting a prompt
  still replays; `whitespace="exact"` keeps every character;
- the base URL only with `match_base_url=True`: by default a recording made against the
  real API replays against any server of the same provider.

A `key` function (Request -> str) replaces all of this; the normalised request is still
stored, to explain misses. The API key is never part of either.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .. import registry
from ..credentials import is_secret_name
from ..errors import ConfigError, LLMPipeError
from ..request import Request
from .validate_provider import CONFIG_OPTIONS

SCHEME = 1  # bumped if the normalisation ever changes, so old keys are not misread
LEFT_OUT = CONFIG_OPTIONS | {"cache"}
WHITESPACE = ("collapse", "exact")


@dataclasses.dataclass(frozen=True)
class KeyRules:
    """What a recording's key is made of (see the module's docstring)."""

    ignore: frozenset[str] = frozenset()
    whitespace: str = "collapse"
    match_base_url: bool = False
    key: Callable[[Request], str] | None = None

    @classmethod
    def of(
        cls,
        ignore: Collection[str] = (),
        whitespace: str = "collapse",
        match_base_url: bool = False,
        key: Callable[[Request], str] | None = None,
    ) -> KeyRules:
        if isinstance(ignore, str) or not all(isinstance(n, str) for n in ignore):
            raise ConfigError(
                f"ignore= takes a list of option names, such as ['temperature', 'user'], "
                f"not {ignore!r}."
            )
        if whitespace not in WHITESPACE:
            raise ConfigError(f"whitespace= must be 'collapse' or 'exact', not {whitespace!r}.")
        if key is not None and not callable(key):
            raise ConfigError(f"key= takes a function Request -> str, not {key!r}.")
        return cls(frozenset(ignore), whitespace, bool(match_base_url), key)

    def payload(self, request: Request) -> dict[str, Any]:
        """The normalised request: what the key is made of, as stored in the recording."""
        options = {
            k: v
            for k, v in request.options.items()
            if k not in LEFT_OUT and k not in self.ignore and k != "model" and not is_secret_name(k)
        }
        payload: dict[str, Any] = {
            "provider": request.provider,
            "kind": request.kind,
            "model": model_for(request),
            "options": options,
            "messages": [self._message(m) for m in request.messages],
        }
        if self.match_base_url:
            payload["base_url"] = _base_url(request)
        # through JSON and back: what is compared later is exactly what was stored
        return json.loads(json.dumps(payload, sort_keys=True, default=_plain))

    def key_of(self, request: Request, payload: Mapping[str, Any]) -> str:
        if self.key is not None:
            custom = self.key(request)
            if not isinstance(custom, str) or not custom:
                raise ConfigError(
                    f"The replay key function returned {custom!r}: it must return a non-empty string."
                )
            return "custom:" + custom
        blob = json.dumps([SCHEME, payload], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def _message(self, message: Any) -> Any:
        if self.whitespace == "exact":
            return message
        if isinstance(message, str):  # a text to embed, or a completion's prompt
            return _squeeze(message)
        if not isinstance(message, Mapping):
            return message
        out = dict(message)
        content = out.get("content")
        if isinstance(content, str):
            out["content"] = _squeeze(content)
        elif isinstance(content, (list, tuple)):
            out["content"] = [
                {**p, "text": _squeeze(p["text"])}
                if isinstance(p, Mapping) and isinstance(p.get("text"), str)
                else p
                for p in content
            ]
        return out


def model_for(request: Request) -> str | None:
    """The model the request will use: its own, else the default FetchConfig would fill in
    (found without needing the API key, so a replay works without one)."""
    model = request.options.get("model")
    if model:
        return str(model)
    provider = registry.get(request.provider)
    explicit = {k: request.options[k] for k in CONFIG_OPTIONS if k in request.options}
    try:
        configured = provider.resolve_config(explicit).default_model
    except LLMPipeError:  # no key here: the configured default cannot be read either
        configured = None
    return (
        (provider.default_embedding_model if request.kind == "embeddings" else None)
        or configured
        or provider.default_model
    )


def _base_url(request: Request) -> str | None:
    if request.options.get("base_url"):
        return str(request.options["base_url"])
    provider = registry.get(request.provider)
    try:
        return provider.resolve_config({}).base_url
    except LLMPipeError:
        return provider.default_base_url


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return repr(value)


# -- explaining a miss -------------------------------------------------------------------


def differences(recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """How `wanted` differs from a `recorded` request, in words, most telling first."""
    found: list[str] = []
    for field in ("provider", "kind", "model", "base_url"):
        if recorded.get(field) != wanted.get(field):
            found.append(f"{field} {wanted.get(field)!r} (recorded {recorded.get(field)!r})")
    was, now = recorded.get("options", {}), wanted.get("options", {})
    for name in sorted({*was, *now}):
        if name not in was:
            found.append(f"option {name}={now[name]!r} (not recorded)")
        elif name not in now:
            found.append(f"no option {name} (recorded {name}={was[name]!r})")
        elif was[name] != now[name]:
            found.append(f"option {name}={now[name]!r} (recorded {was[name]!r})")
    before, after = recorded.get("messages", []), wanted.get("messages", [])
    if len(before) != len(after):
        found.append(f"{len(after)} messages (recorded {len(before)})")
    for n, (old, new) in enumerate(zip(before, after, strict=False), start=1):
        if old != new:
            found.append(f"message {n}{_role(new)}: {_changed(_text(old), _text(new))}")
    return found


def nearest(
    candidates: Iterable[tuple[str, Mapping[str, Any]]], wanted: Mapping[str, Any]
) -> tuple[str | None, list[str]]:
    """The key of the recorded request closest to `wanted`, and how they differ: the fewest
    differences, then the most similar messages."""
    best: tuple[str | None, list[str]] = (None, [])
    best_rank: tuple[int, float] | None = None
    text = json.dumps(wanted.get("messages"), sort_keys=True, ensure_ascii=False)
    for key, recorded in candidates:
        found = differences(recorded, wanted)
        if best_rank is not None and len(found) > best_rank[0]:
            continue
        recorded_text = json.dumps(recorded.get("messages"), sort_keys=True, ensure_ascii=False)
        rank = (len(found), -difflib.SequenceMatcher(None, recorded_text, text).quick_ratio())
        if best_rank is None or rank < best_rank:
            best, best_rank = (key, found), rank
    return best


def _role(message: Any) -> str:
    return f" ({message['role']})" if isinstance(message, Mapping) and "role" in message else ""


def _text(message: Any) -> str:
    if isinstance(message, Mapping):
        content = message.get("content")
        if isinstance(content, str):
            return content
        return json.dumps(message, sort_keys=True, ensure_ascii=False)
    return str(message)


def _changed(old: str, new: str, width: int = 48) -> str:
    """The two texts around where they first differ."""
    at = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    start = max(0, at - width // 3)

    def clip(text: str) -> str:
        piece = text[start : start + width]
        return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")

    return f"{clip(new)!r} (recorded {clip(old)!r})"
