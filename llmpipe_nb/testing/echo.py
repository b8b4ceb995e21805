"""The fake servers' deterministic content, public so tests can compute what to expect.

Replies echo the last user (or tool) text, token counts are word counts, embeddings
are derived from a hash of the text: the same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from collections.abc import Iterator

__all__ = ["echo", "pieces", "token_count", "vector"]

_PIECE = re.compile(r"\S+\s*|\s+")


def echo(text: str) -> str:
    """The reply text for a prompt."""
    return f"Echo: {text}"


def pieces(text: str, count: int | None = None) -> Iterator[str]:
    """The stream pieces of `text`: one per word, or the words cycled to `count` pieces."""
    words = _PIECE.findall(text) or [""]
    if count is None:
        return iter(words)
    return itertools.islice(itertools.cycle(words), count)


def token_count(*texts: str) -> int:
    """A stand-in token count: the number of words, at least one."""
    return max(1, sum(len(text.split()) for text in texts))


def vector(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic embedding in [-1, 1) that only depends on the text."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values += [(n / 2**31) - 1.0 for n in struct.unpack("<8I", digest)]
        counter += 1
    return [round(v, 6) for v in values[:dimensions]]
