"""The answer's text shown in the format the user asked for; model HTML only in a sandbox."""

from __future__ import annotations

import json

from ._html import esc
from .markdown import markdown_html

FORMATS = ("markdown", "text", "code", "json", "html")
_SANDBOX_CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
)


def _unfence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        return stripped[3:-3].split("\n", 1)[-1] if "\n" in stripped else stripped[3:-3]
    return text


def answer_html(text: str, format: str = "markdown") -> str:
    """The answer's text rendered as `format`: markdown, text, code, json or html (sandboxed)."""
    if format == "markdown":
        return markdown_html(text)
    if format == "code":
        return f'<pre class="lp-pre"><code>{esc(_unfence(text))}</code></pre>'
    if format == "json":
        try:
            pretty = json.dumps(json.loads(_unfence(text)), indent=2, ensure_ascii=False)
        except ValueError:
            return f'<pre class="lp-pre">{esc(text)}</pre><div class="lp-note">not valid JSON</div>'
        return f'<pre class="lp-pre"><code>{esc(pretty)}</code></pre>'
    if format == "html":
        # The model's HTML in a sandbox: no scripts, no access to the page, nothing fetched.
        doc = _SANDBOX_CSP + text
        return f'<iframe class="lp-frame" sandbox="" srcdoc="{esc(doc)}"></iframe>'
    return f'<pre class="lp-pre">{esc(text)}</pre>'
