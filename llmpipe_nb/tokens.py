"""Token estimates and context windows that work offline, for context-window management.

The estimate is ~4 characters per token (OpenAI's published rule of thumb for English)
plus a small per-message overhead; it is documented as an estimate wherever shown. No
tokenizer is used: the exact ones need downloaded vocabularies or a key. Context windows
come from genai-prices' bundled table, then from a short list of open models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """Estimated tokens in `text` (never 0 for non-empty text)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_message_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated prompt tokens of chat messages, including per-message overhead."""
    total = 0
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            total += estimate_tokens(content)
        elif isinstance(content, list):
            total += sum(
                estimate_tokens(p.get("text", "")) for p in content if isinstance(p, Mapping)
            )
        total += MESSAGE_OVERHEAD
    return total


#: context windows of open models served locally (Ollama, vLLM, ...), which the price
#: table does not list; longest matching prefix wins
LOCAL_CONTEXT_WINDOWS: dict[str, int] = {
    "mock": 128_000,
    "llama3.1": 128_000,
    "llama3.2": 128_000,
    "llama3.3": 128_000,
    "llama-3.1": 128_000,
    "llama-3.2": 128_000,
    "llama-3.3": 128_000,
    "llama3": 8_192,
    "llama-3": 8_192,
    "llama2": 4_096,
    "mistral-large": 128_000,
    "mistral-small": 32_000,
    "mistral-nemo": 128_000,
    "mistral": 32_000,
    "mixtral": 32_000,
    "qwen2.5": 32_768,
    "qwen3": 40_960,
    "gemma3": 128_000,
    "gemma2": 8_192,
    "phi4": 16_384,
    "phi3": 128_000,
    "deepseek-r1": 128_000,
}


def context_window(model: str | None, provider: str | None = None) -> int | None:
    """The model's context window in tokens, if known (genai-prices' table, then open models)."""
    if not model:
        return None
    window = _priced_window(provider, model)
    if window:
        return window
    name = model.lower().rsplit("/", 1)[-1]
    matches = [p for p in LOCAL_CONTEXT_WINDOWS if name.startswith(p)]
    return LOCAL_CONTEXT_WINDOWS[max(matches, key=len)] if matches else None


@cache
def _priced_window(provider: str | None, model: str) -> int | None:
    from genai_prices import Usage, calc_price

    try:
        found = calc_price(Usage(input_tokens=1), model, provider_id=provider)
    except (LookupError, ValueError):
        if provider is None:
            return None
        return _priced_window(None, model)
    window = found.model.context_window
    return int(window) if window else None
