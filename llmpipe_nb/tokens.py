"""Token estimates that work offline, for context-window management and rate limits.

The estimate is ~4 characters per token (OpenAI's published rule of thumb for English)
plus a small per-message overhead; it is documented as an estimate wherever shown. No
tokenizer ships with the library (the exact ones need downloaded vocabularies or a key),
but one can be registered per provider (`register_tokenizer`), and prompt budgets count
with it where one is at hand. The windows the estimates are measured against are in
`context_windows.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: provider -> a function (text, model) -> tokens; see register_tokenizer
_tokenizers: dict[str, Callable[[str, str | None], int]] = {}

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


def register_tokenizer(provider: str, count: Callable[[str, str | None], int] | None) -> None:
    """Count `provider`'s tokens with `count(text, model)` (None forgets it), e.g. tiktoken's."""
    if count is None:
        _tokenizers.pop(provider, None)
    else:
        _tokenizers[provider] = count


def tokenizer_for(provider: str | None) -> Callable[[str, str | None], int] | None:
    """The registered tokenizer of `provider`, if any."""
    return _tokenizers.get(provider) if provider else None


def count_tokens(text: str, provider: str | None = None, model: str | None = None) -> int:
    """Tokens in `text`: the provider's registered tokenizer where there is one, else the estimate."""
    count = tokenizer_for(provider)
    return estimate_tokens(text) if count is None else int(count(text, model))
