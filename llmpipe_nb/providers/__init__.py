"""The provider registry: names to providers, and each provider's pipeline per kind.

Built-in providers are imported only when first used, so `import llmpipe_nb` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigError, UnknownProviderError
from ..plug import Plug, build_pipeline
from .base import Provider

_BUILTIN: dict[str, str] = {
    "mock": "llmpipe_nb.providers.mock:MockProvider",
    "openai": "llmpipe_nb.providers.openai:OpenAIProvider",
    "anthropic": "llmpipe_nb.providers.anthropic:AnthropicProvider",
    "gemini": "llmpipe_nb.providers.gemini:GeminiProvider",
    "ollama": "llmpipe_nb.providers.ollama:OllamaProvider",
    "groq": "llmpipe_nb.providers.openai_compatible:GroqProvider",
    "mistral": "llmpipe_nb.providers.openai_compatible:MistralProvider",
    "openrouter": "llmpipe_nb.providers.openai_compatible:OpenRouterProvider",
    "xai": "llmpipe_nb.providers.openai_compatible:XAIProvider",
    "deepseek": "llmpipe_nb.providers.openai_compatible:DeepSeekProvider",
    "together": "llmpipe_nb.providers.openai_compatible:TogetherProvider",
    "lmstudio": "llmpipe_nb.providers.openai_compatible:LMStudioProvider",
    "vllm": "llmpipe_nb.providers.openai_compatible:VLLMProvider",
    "llamacpp": "llmpipe_nb.providers.openai_compatible:LlamaCppProvider",
    "openai_compatible": "llmpipe_nb.providers.openai_compatible:GenericProvider",
    "local": "llmpipe_nb.providers.local:LocalModelProvider",
}

_providers: dict[str, Provider] = {}
_pipelines: dict[tuple[str, str], tuple[Plug, ...]] = {}


def register(name: str, provider: Any) -> Provider:
    """Register a provider (a Provider subclass or instance) under `name`; returns the instance.

    The instance takes `name` (so errors, configuration and prices all use the name it was
    registered under); an instance already named otherwise is refused.
    """
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ConfigError(
            f"A provider name must be a non-empty string without surrounding spaces, not {name!r}."
        )
    instance = provider() if isinstance(provider, type) else provider
    if not isinstance(instance, Provider):
        raise ConfigError(f"Provider '{name}' must subclass llmpipe_nb.providers.Provider.")
    if not instance.plugs:
        raise ConfigError(
            f"Provider '{name}' has no pipelines: set its `plugs` to "
            "{kind: (PrepareRequestPlug, ParseResponsePlug)} for the kinds it supports."
        )
    if isinstance(provider, type) or not instance.name:
        instance.name = name
    elif instance.name != name:
        raise ConfigError(
            f"This provider instance is named '{instance.name}': register it as "
            f"'{instance.name}', or register its class under '{name}'."
        )
    _providers[name] = instance
    for key in [k for k in _pipelines if k[0] == name]:
        del _pipelines[key]
    return instance


def names() -> list[str]:
    """Every registered provider name, built-in or custom."""
    return sorted({*_BUILTIN, *_providers})


def get(name: str) -> Provider:
    """The provider registered as `name`; UnknownProviderError lists the known ones."""
    provider = _providers.get(name)
    if provider is not None:
        return provider
    target = _BUILTIN.get(name) if isinstance(name, str) else None
    if target is None:
        raise UnknownProviderError(str(name), names())
    module, _, cls = target.partition(":")
    provider_cls = getattr(importlib.import_module(module), cls)
    return register(name, provider_cls)


def get_pipeline(name: str, kind: str = "chat") -> tuple[Plug, ...]:
    """The provider's built pipeline for `kind` (built once, then shared: plugs are stateless)."""
    key = (name, kind)
    pipeline = _pipelines.get(key)
    if pipeline is None:
        pipeline = _pipelines[key] = build_pipeline(get(name).pipeline(kind))
    return pipeline


__all__ = ["Provider", "get", "get_pipeline", "names", "register"]
