"""The provider registry: names to providers, and each provider's built pipeline per kind.

The core looks providers up here and never imports them: the providers package registers
into it (the built-in ones as loaders, so a provider module is imported only when first
used), and `llm.providers.register` checks a custom provider before adding it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import UnknownProviderError
from .plug import Plug, build_pipeline

if TYPE_CHECKING:
    from .providers.base import Provider

_providers: dict[str, Provider] = {}
_loaders: dict[str, Callable[[], Provider]] = {}
_pipelines: dict[tuple[str, str], tuple[Plug, ...]] = {}


def add(name: str, provider: Provider) -> None:
    """Register `provider` as `name` (replacing any other), forgetting its built pipelines."""
    _providers[name] = provider
    for key in [k for k in _pipelines if k[0] == name]:
        del _pipelines[key]


def add_loader(name: str, load: Callable[[], Provider]) -> None:
    """Register `name` as a provider that `load()` imports and registers on first use."""
    _loaders[name] = load


def names() -> list[str]:
    """Every registered provider name, built-in or custom."""
    return sorted({*_loaders, *_providers})


def get(name: str) -> Provider:
    """The provider registered as `name`; UnknownProviderError lists the known ones."""
    provider = _providers.get(name)
    if provider is not None:
        return provider
    load = _loaders.get(name) if isinstance(name, str) else None
    if load is None:
        raise UnknownProviderError(str(name), names())
    return load()


def get_pipeline(name: str, kind: str = "chat") -> tuple[Plug, ...]:
    """The provider's built pipeline for `kind` (built once, then shared: plugs are stateless)."""
    key = (name, kind)
    pipeline = _pipelines.get(key)
    if pipeline is None:
        pipeline = _pipelines[key] = build_pipeline(get(name).pipeline(kind))
    return pipeline
