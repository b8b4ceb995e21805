"""Token estimates that work offline, for context-window management and rate limits.

The estimate is ~4 characters per token (OpenAI's published rule of thumb for English)
plus a small per-message overhead; it is documented as an estimate wherever shown. No
tokenizer is used: the exact ones need downloaded vocabularies or a key. The windows the
estimates are measured against are in `context_windows.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
