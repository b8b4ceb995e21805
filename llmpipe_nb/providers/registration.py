"""Putting providers in the core's registry: `llm.providers.register`, and the built-in ones.

The built-in providers are registered as loaders, so each module is imported only when
its provider is first used and `import llmpipe_nb` stays fast.
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

from .. import registry
from ..errors import ConfigError
from .base import Provider

BUILTIN: dict[str, str] = {
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
    "perplexity": "llmpipe_nb.providers.openai_compatible:PerplexityProvider",
    "azure": "llmpipe_nb.providers.azure:AzureProvider",
    "bedrock": "llmpipe_nb.providers.bedrock:BedrockProvider",
    "vertex": "llmpipe_nb.providers.vertex:VertexProvider",
    "local": "llmpipe_nb.providers.local:LocalModelProvider",
}


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
    registry.add(name, instance)
    return instance


def _load_builtin(name: str, target: str) -> Provider:
    module, _, cls = target.partition(":")
    return register(name, getattr(importlib.import_module(module), cls))


for _name, _target in BUILTIN.items():
    registry.add_loader(_name, partial(_load_builtin, _name, _target))
