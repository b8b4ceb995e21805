"""`%%llm --compare a b c`: the cell's prompt sent to each model, streamed into one grid.

The cell's options and the `%llm config` defaults (temperature, max tokens, system
message, cache, format, update interval) apply to every model; a conversation or a named
pipeline belongs to one provider, so neither goes with --compare. `--schema NAME` asks
every model for that type, its fields becoming the table's columns. The Comparison is the
cell's value (`_`), and `--output VAR` keeps it too.
"""

from __future__ import annotations

import argparse
import keyword
from typing import Any

from IPython.core.error import UsageError

from ..comparison.api import prepare, run_sync
from ..comparison.live import NotebookGrid, TerminalGrid
from ..comparison.result import Comparison
from ..context import compose
from ..context.prompts import DEFAULT_BUDGET
from ..errors import LLMPipeError
from .interpolate import pieces_of
from .live import can_update
from .magic_cell import CellError, cache_of, cache_options
from .magic_schema import schema_named
from .magic_settings import Session


def compare_cell(shell: Any, session: Session, args: argparse.Namespace, prompt: str) -> None:
    """Run the cell's prompt on every model of --compare, showing the grid as it fills."""
    for flag, value in (
        ("PROVIDER[:MODEL]", args.target),
        ("--model", args.model),
        ("--chat", args.chat),
        ("--pipeline", args.pipeline),
        ("--dry-run", args.dry_run),
    ):
        if value:
            raise UsageError(
                f"{flag} does not go with --compare: name every model after --compare, "
                "as in %%llm --compare openai:gpt-6-luna anthropic:claude-haiku-5-5"
            )
    if args.output is not None and (
        not args.output.isidentifier() or keyword.iskeyword(args.output)
    ):
        raise UsageError(
            f"--output {args.output!r} is not a variable name: use a Python name such as cmp."
        )
    d = session.defaults
    prompt = prompt.strip("\n").rstrip()
    try:
        if not args.no_interpolate:
            prompt = _rendered(shell, session, prompt, args.budget or DEFAULT_BUDGET)
        if not prompt.strip():
            raise UsageError("The prompt is empty: write it in the cell under %%llm --compare.")
        options = {
            k: v
            for k, v in (
                ("temperature", d.temperature if args.temperature is None else args.temperature),
                ("max_tokens", d.max_tokens if args.max_tokens is None else args.max_tokens),
            )
            if v is not None
        }
        cache = cache_of(d, args)
        comparison, run = prepare(
            [prompt],
            models=args.compare,
            system=args.system or d.system,
            schema=schema_named(shell, args.schema) if args.schema else None,
            features={
                "cache": cache_options(d, cache) if isinstance(cache, str) else cache or None
            },
            tags=args.tag,
            format=args.format or d.format,
            options=options,
        )
    except LLMPipeError as error:
        raise CellError(error) from error
    stream = d.stream if args.stream is None else args.stream
    run_sync(comparison, run, _display(shell, comparison, d.update_interval) if stream else None)
    if not stream:
        _show(shell, comparison)
    if args.output:
        shell.user_ns[args.output] = comparison
    shell.displayhook.update_user_ns(comparison)  # `_` and Out[n], as if the cell returned it


def _display(shell: Any, comparison: Comparison, interval: float) -> NotebookGrid | TerminalGrid:
    """One notebook output updated in place, or a rich table in terminal IPython."""
    if can_update(shell):
        return NotebookGrid(comparison, interval)
    return TerminalGrid(comparison)


def _show(shell: Any, comparison: Comparison) -> None:
    from IPython.display import display

    display(comparison)


def _rendered(shell: Any, session: Session, template: str, budget: int) -> str:
    """The cell's prompt with its `{fields}` rendered from the notebook, as one text."""
    content = compose(pieces_of(shell, session, template), budget=budget).content
    if not isinstance(content, str):
        raise UsageError(
            "--compare sends text prompts only: leave the figure or image out of the prompt, "
            "or describe it in words."
        )
    return content
