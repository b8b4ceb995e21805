"""The sources a web-grounded answer cites (Perplexity's `search_results` and `citations`),
listed under the answer in HTML and in its text twin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._html import esc

_SHOWN = 10


def sources(result: Any) -> list[tuple[str, str]]:
    """(title, url) of each source the answer's raw body names, in its order."""
    raw = getattr(result, "raw", None)
    if not isinstance(raw, Mapping):
        return []
    found = []
    for item in raw.get("search_results") or ():
        if isinstance(item, Mapping) and isinstance(item.get("url"), str):
            found.append((str(item.get("title") or item["url"]), item["url"]))
    if not found:
        found = [(url, url) for url in raw.get("citations") or () if isinstance(url, str)]
    return found


def _safe_url(url: str) -> str | None:
    return url if url.startswith(("https://", "http://")) else None


def sources_html(result: Any) -> str:
    items = []
    for number, (title, url) in enumerate(sources(result)[:_SHOWN], 1):
        link = _safe_url(url)
        label = f"[{number}] {esc(title)}"
        items.append(
            f'<li><a href="{esc(link)}" target="_blank" rel="noopener noreferrer">{label}</a></li>'
            if link
            else f"<li>{label} <code>{esc(url)}</code></li>"
        )
    return f'<div class="lp-note">sources</div><ul>{"".join(items)}</ul>' if items else ""


def sources_text(result: Any) -> str:
    return "".join(
        f"\n[{number}] {title} <{url}>" for number, (title, url) in enumerate(sources(result), 1)
    )
