"""The columns of a comparison: `"provider:model"` strings or `(provider, model, {options})`
triples, checked strictly, each with a header that shows what sets it apart.

The model is everything after the first colon, so Ollama tags such as
`"ollama:llama3.2:3b"` keep theirs. A triple's options are request options for that
column alone (`temperature`, `max_tokens`, ...), plus `system` for its system message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import providers
from ..errors import ConfigError
from ..views import shown

_EXAMPLE = "'openai:gpt-6-luna'"
_LABEL_VALUE_CHARS = 32


@dataclass(frozen=True)
class Column:
    """One model with its settings, and the header the grid shows for it."""

    provider: str
    model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    def settings(self) -> dict[str, Any]:
        """What tells this column apart from another of the same model."""
        return {**({"system": self.system} if self.system is not None else {}), **self.options}


def parse_models(models: Any) -> list[Column]:
    """The columns of `models=`, labelled; ConfigError says what is wrong with the first bad one."""
    if isinstance(models, (str, bytes)) or not isinstance(models, Sequence):
        raise ConfigError(
            f"models= takes a list of models such as [{_EXAMPLE}, 'anthropic:claude-haiku-5-5'], "
            f"not {type(models).__name__}."
        )
    if not models:
        raise ConfigError(f"models= is empty: name at least one model, such as {_EXAMPLE}.")
    columns = [parse_model(m) for m in models]
    return label(columns)


def parse_model(spec: Any) -> Column:
    """One `"provider:model"` string, or a `(provider, model)` pair or `(provider, model, options)` triple."""
    if isinstance(spec, str):
        provider, colon, model = spec.strip().partition(":")
        if not colon or not provider or not model or any(c.isspace() for c in spec.strip()):
            hint = (
                f": name the model too, as in '{provider}:<model>'"
                if provider in providers.names() and not model
                else f", such as {_EXAMPLE}"
            )
            raise ConfigError(f"Model {spec!r} is not written 'provider:model'{hint}.")
        return _column(provider, model, {}, spec)
    if isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        provider, model, *rest = spec
        options = rest[0] if rest else {}
        if not isinstance(provider, str) or not isinstance(model, str) or not provider or not model:
            raise ConfigError(
                f"Model {spec!r} must start with the provider and the model as strings, "
                "such as ('openai', 'gpt-6-luna', {'temperature': 0})."
            )
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"The third item of model {spec!r} must be a dict of options, "
                f"not {type(options).__name__}."
            )
        return _column(provider, model, options, spec)
    raise ConfigError(
        f"Model {spec!r} is neither a 'provider:model' string nor a (provider, model, options) "
        f"tuple: write it like {_EXAMPLE}."
    )


def _column(provider: str, model: str, options: Mapping[str, Any], spec: Any) -> Column:
    providers.get(provider)  # an unknown provider: UnknownProviderError suggests the close one
    opts = dict(options)
    if "model" in opts:
        raise ConfigError(
            f"Model {spec!r} sets 'model' in its options: the model is the second item."
        )
    system = opts.pop("system", None)
    if system is not None and not isinstance(system, str):
        raise ConfigError(f"The system option of model {spec!r} must be a string.")
    return Column(provider, model, opts, system)


class _Unset:
    """A setting a column leaves at the provider's default."""


_UNSET = _Unset()


def label(columns: list[Column]) -> list[Column]:
    """Each column headed `provider:model`, plus the settings that differ from the other
    columns of the same model; the same model with the same settings twice is refused."""
    out: list[Column] = []
    seen: dict[str, int] = {}
    for position, column in enumerate(columns):
        mine = column.settings()
        if any(c.name == column.name and c.settings() == mine for c in columns[:position]):
            raise ConfigError(
                f"Model '{column.name}' is listed twice with the same settings: drop one, or give "
                "each its own options, as in ('openai', 'gpt-6-luna', {'temperature': 1})."
            )
        twins = [c for c in columns if c.name == column.name]
        keys = sorted({k for t in twins for k in t.settings()})
        differing = [
            k
            for k in keys
            if any(t.settings().get(k, _UNSET) != mine.get(k, _UNSET) for t in twins)
        ]
        parts = [_setting(k, mine.get(k, _UNSET)) for k in differing]
        text = column.name + (" · " + ", ".join(parts) if parts else "")
        seen[text] = seen.get(text, 0) + 1  # settings that differ only in a masked value
        out.append(replace(column, label=f"{text} #{seen[text]}" if seen[text] > 1 else text))
    return out


def _setting(key: str, value: Any) -> str:
    if value is _UNSET:
        return f"{key} default"
    text = shown(key, value, 1000)
    if len(text) > _LABEL_VALUE_CHARS:
        text = text[: _LABEL_VALUE_CHARS - 1] + "…"
    return f"{key}={text}"
