"""The OpenAI-compatible family: one preset per server, each a base URL, a key variable and quirks.

Everything else is the OpenAI provider. `openai_compatible` is the generic one: give it
`base_url` (and a key if the server wants one) to reach any server that speaks
`/chat/completions`.
"""

from __future__ import annotations

from typing import ClassVar

from . import defaults
from .openai import OpenAIParseResponse, OpenAIPrepareRequest, OpenAIProvider

_ALL = ("chat", "stream", "embeddings", "completion", "list_models", "validate")


def _plugs(*kinds: str) -> dict[str, tuple[type, type]]:
    return {kind: (OpenAIPrepareRequest, OpenAIParseResponse) for kind in kinds}


class CompatibleProvider(OpenAIProvider):
    """A server that speaks OpenAI's wire format: `max_tokens`, and only the roles all know."""

    default_embedding_model: ClassVar[str | None] = None
    default_completion_model: ClassVar[str | None] = None
    completion_needs_own_model = False
    max_tokens_field = "max_tokens"
    developer_role = False
    plugs = _plugs(*_ALL)


class GroqProvider(CompatibleProvider):
    """Groq; streamed usage arrives in `x_groq.usage` (read as well as `usage`)."""

    name = "groq"
    default_model = defaults.CHAT["groq"]
    key_env = ("GROQ_API_KEY",)
    base_url_env = "GROQ_BASE_URL"
    default_base_url = "https://api.groq.com/openai/v1"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class MistralProvider(CompatibleProvider):
    """Mistral: the seed is `random_seed`, and `stream_options` is not accepted."""

    name = "mistral"
    default_model = defaults.CHAT["mistral"]
    default_embedding_model = defaults.EMBEDDINGS["mistral"]
    key_env = ("MISTRAL_API_KEY",)
    base_url_env = "MISTRAL_BASE_URL"
    default_base_url = "https://api.mistral.ai/v1"
    stream_usage = False
    renames = {"seed": "random_seed"}
    plugs = _plugs("chat", "stream", "embeddings", "list_models", "validate")


class OpenRouterProvider(CompatibleProvider):
    """OpenRouter: keep-alive comment lines in streams, integer error codes."""

    name = "openrouter"
    default_model = defaults.CHAT["openrouter"]
    key_env = ("OPENROUTER_API_KEY",)
    base_url_env = "OPENROUTER_BASE_URL"
    default_base_url = "https://openrouter.ai/api/v1"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class XAIProvider(CompatibleProvider):
    name = "xai"
    default_model = defaults.CHAT["xai"]
    key_env = ("XAI_API_KEY",)
    base_url_env = "XAI_BASE_URL"
    default_base_url = "https://api.x.ai/v1"
    price_provider = "x-ai"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class DeepSeekProvider(CompatibleProvider):
    name = "deepseek"
    default_model = defaults.CHAT["deepseek"]
    key_env = ("DEEPSEEK_API_KEY",)
    base_url_env = "DEEPSEEK_BASE_URL"
    default_base_url = "https://api.deepseek.com/v1"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class TogetherProvider(CompatibleProvider):
    name = "together"
    default_model = defaults.CHAT["together"]
    default_embedding_model = defaults.EMBEDDINGS["together"]
    key_env = ("TOGETHER_API_KEY",)
    base_url_env = "TOGETHER_BASE_URL"
    default_base_url = "https://api.together.xyz/v1"


class LocalProvider(CompatibleProvider):
    """A server on the user's machine: no key needed, priced at $0, the model is whatever it serves."""

    default_model = None
    requires_key = False
    local = True


class LMStudioProvider(LocalProvider):
    name = "lmstudio"
    key_env = ("LMSTUDIO_API_KEY",)
    base_url_env = "LMSTUDIO_BASE_URL"
    default_base_url = "http://127.0.0.1:1234/v1"


class VLLMProvider(LocalProvider):
    """vLLM; its error bodies carry the HTTP status as an integer `code` (flat before v0.10.1)."""

    name = "vllm"
    key_env = ("VLLM_API_KEY",)
    base_url_env = "VLLM_BASE_URL"
    default_base_url = "http://127.0.0.1:8000/v1"


class LlamaCppProvider(LocalProvider):
    """llama.cpp's llama-server; answers 503 while the model loads (a retryable ServerError)."""

    name = "llamacpp"
    key_env = ("LLAMACPP_API_KEY",)
    base_url_env = "LLAMACPP_BASE_URL"
    default_base_url = "http://127.0.0.1:8080/v1"


class GenericProvider(CompatibleProvider):
    """Any OpenAI-compatible server: `base_url` is required, a key only if the server asks."""

    name = "openai_compatible"
    default_model = None
    key_env = ("OPENAI_COMPATIBLE_API_KEY",)
    base_url_env = "OPENAI_COMPATIBLE_BASE_URL"
    default_base_url = None
    requires_key = False
