"""The rows of a comparison: each prompt as written, or each prompt template over each data row.

With data, the batch's renderer fills the templates (or calls the prompt functions) and
checks them before anything is sent, exactly as `llm.map` does; a row whose template
field is empty is not sent and carries its ConfigError in every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..batch.rows import Rendered, Renderer, render_all, to_rows
from ..errors import ConfigError
from ..messages import normalize_messages
from .cells import Row


def prompt_list(prompts: Any) -> list[Any]:
    """A prompt, or a list of them, as a non-empty list."""
    if isinstance(prompts, str) or callable(prompts):
        return [prompts]
    if not isinstance(prompts, Sequence) or not prompts:
        raise ConfigError(
            "prompts must be a prompt string or a non-empty list of them (templates or functions "
            f"of the row when rows are given), not {prompts!r}."
        )
    return list(prompts)


def expand(prompts: Any, data: Any = None) -> tuple[list[Row], list[Rendered]]:
    """One grid row per prompt (per prompt and data row with data), and the messages of each."""
    items = prompt_list(prompts)
    if data is None:
        return _as_written(items)
    rows = to_rows(data)
    out_rows: list[Row] = []
    out_messages: list[Rendered] = []
    for prompt in items:
        rendered = render_all(Renderer(prompt, rows), rows.items)
        name = prompt if isinstance(prompt, str) else getattr(prompt, "__name__", repr(prompt))
        for key, messages in zip(rows.index, rendered, strict=True):
            text = "" if isinstance(messages, ConfigError) else user_text(messages)
            out_rows.append(Row(name, key, text))
            out_messages.append(messages)
    return out_rows, out_messages


def _as_written(items: list[Any]) -> tuple[list[Row], list[Rendered]]:
    rows: list[Row] = []
    messages: list[Rendered] = []
    for position, prompt in enumerate(items):
        if not isinstance(prompt, str):
            kind = "a function" if callable(prompt) else type(prompt).__name__
            raise ConfigError(
                f"Prompt {position} is {kind}: without rows each prompt is a string sent as written; "
                "pass the data as the second argument to fill templates or call functions."
            )
        if not prompt.strip():
            raise ConfigError(f"Prompt {position} is empty: write the question to send.")
        rows.append(Row(prompt, None, prompt))
        messages.append(normalize_messages(prompt))
    return rows, messages


def user_text(messages: Sequence[dict[str, Any]]) -> str:
    """The last user message's text, which is what the grid shows for its row."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(
                p.get("text", "") for p in content or () if isinstance(p, dict) and "text" in p
            )
    return ""
