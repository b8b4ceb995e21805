"""Models' context windows, from genai-prices' bundled table, then a short list of open models.

Outside the core because it reads genai-prices (imported on the first lookup).
"""

from __future__ import annotations

from functools import cache

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
