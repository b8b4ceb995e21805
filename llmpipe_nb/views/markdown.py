"""Markdown rendered with raw HTML disabled, so a model's answer cannot inject markup."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import redact
from ._html import esc


@cache
def parser() -> Any:
    """The one Markdown parser (the rich view parses with it too), built on first use."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def markdown_html(text: str) -> str:
    """Markdown rendered with raw HTML disabled; plain escaped text if markdown-it-py is absent."""
    try:
        md = parser()
    except ImportError:
        return f'<pre class="lp-pre">{esc(text)}</pre>'
    return str(md.render(redact(text)))
