"""Asking from a cell: the builder for a prompt (options, defaults, the conversation it
continues, a named pipeline), the prompt rendered from the notebook within its budget,
then the answer streamed into one output or returned, or, with `--dry-run`, what would
be sent, with nothing sent.

The synchronous pipeline is used (it never touches asyncio, so it works under a kernel's
running event loop). Library errors show as one line, not as a traceback from inside
the library.
"""

from __future__ import annotations

import argparse
import keyword
import re
from collections.abc import Sequence
from typing import Any

from IPython.core.error import UsageError

from .. import api, registry
from ..builder import Builder, build
from ..context import Field, dry_run
from ..errors import LLMPipeError
from .interpolate import pieces_of, render
from .live import LiveAnswer, PrintedAnswer, can_update, tool_line
from .magic_args import split_target
from .magic_schema import schema_named, tools_named
from .magic_settings import Chat, Defaults, Session


class CellError(Exception):
    """A library error shown in the notebook as one line, without a traceback."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(f"{type(error).__name__}: {error}")

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def ask(
    shell: Any,
    session: Session,
    args: argparse.Namespace,
    prompt: str | Sequence[str | Field],
    *,
    live: bool,
    next_cell: bool = False,
) -> Any:
    """Send `prompt` (a template, or ready pieces) with the magic's options; show it live (a
    cell) or return it (a line). With `next_cell`, or `--format code`, the answer's code
    goes into a new cell below, not run."""
    if args.output is not None and (
        not args.output.isidentifier() or keyword.iskeyword(args.output)
    ):
        raise UsageError(
            f"--output {args.output!r} is not a variable name: use a Python name such as answer."
        )
    where = "in the cell under %%llm" if live else "after the options: %llm mock Hi!"
    try:
        if isinstance(prompt, str):
            prompt = prompt.strip("\n").rstrip()  # blank lines around the prompt are not part of it
            pieces = [prompt] if args.no_interpolate else pieces_of(shell, session, prompt)
        else:
            pieces = list(prompt)
        builder, chat = make_builder(session, args, "")
        message = render(builder, pieces, args.budget)
        if not message.text.strip():
            raise UsageError(f"The prompt is empty: write it {where}.")
        builder = builder.with_messages([*builder.messages[:-1], dict(message)])
        if args.schema:
            builder = builder.with_schema(schema_named(shell, args.schema))
        if args.tools:
            builder = builder.with_tools(tools_named(shell, args.tools))
    except LLMPipeError as error:
        raise CellError(error) from error
    defaults = session.defaults
    fmt = args.format or defaults.format
    stream = False
    if live:
        stream = defaults.stream if args.stream is None else args.stream
        if args.stream is None and "stream" not in registry.get(builder.provider).kinds:
            stream = False  # streaming is the default only where the provider can stream
    if args.dry_run:
        try:
            preview = dry_run(builder._streaming() if stream else builder)
        except LLMPipeError as error:
            raise CellError(error) from error
        if args.output:
            shell.user_ns[args.output] = preview
        return preview
    result = show(shell, defaults, builder, fmt, stream) if live else run(builder)
    if chat is not None:
        chat.messages += [
            {"role": "user", "content": message.content},
            {"role": "assistant", "content": result.content},
        ]
    if args.output:
        shell.user_ns[args.output] = result.parsed if args.schema else result
    if next_cell or fmt == "code":
        code = code_of(result.content or "", fenced_only=next_cell)
        if code:
            shell.set_next_input(code, replace=False)
    if not live:
        return result
    shell.displayhook.update_user_ns(result)  # `_` and Out[n], as if the cell returned it
    return None


_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def code_of(text: str, *, fenced_only: bool) -> str | None:
    """The answer's Python code: its first ```python block (else its first ``` block), else
    the whole answer unless `fenced_only`."""
    blocks = [(lang.lower(), code) for lang, code in _FENCE.findall(text)]
    for lang, code in blocks:
        if lang in ("python", "py", "ipython", "python3"):
            return code.strip("\n")
    if blocks:
        return blocks[0][1].strip("\n")
    return None if fenced_only else text.strip() or None


def run(builder: Builder) -> Any:
    """The response, or CellError."""
    try:
        return builder.execute()
    except LLMPipeError as error:
        raise CellError(error) from error


def show(shell: Any, defaults: Defaults, builder: Builder, fmt: str, stream: bool) -> Any:
    """Run and render: streamed into one updating output, or printed in a terminal."""
    model = builder.options.get("model")
    who = f"{builder.provider} · {model}" if model else builder.provider
    view: LiveAnswer | PrintedAnswer
    if can_update(shell):
        view = LiveAnswer(who, fmt, defaults.update_interval)
    else:
        view = PrintedAnswer(who)
    try:
        if not stream:
            result = builder.execute()
        else:
            view.start()
            answer = builder.stream()
            for chunk in answer:
                line = tool_line(chunk)
                if line is not None:
                    view.tool(line)
                else:
                    view.add(chunk.content, chunk.partial)
            result = answer.response
    except LLMPipeError as error:
        view.fail(error)
        raise CellError(error) from error
    except KeyboardInterrupt as interrupt:
        view.fail(interrupt)
        raise
    view.finish(result, fmt)
    return result


def make_builder(
    session: Session, args: argparse.Namespace, prompt: str
) -> tuple[Builder, Chat | None]:
    """The builder for this cell, and the conversation it continues (if any)."""
    d = session.defaults
    provider, model = split_target(args.target)
    chat = session.chats.setdefault(args.chat, Chat()) if args.chat else None
    if chat is not None and args.system:
        chat.system = args.system  # a conversation keeps its system message
    system = args.system or (chat.system if chat else None) or d.system
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages += [*(chat.messages if chat else ()), {"role": "user", "content": prompt}]
    if args.pipeline:
        base = session.pipelines.get(args.pipeline)
        if base is None:
            known = ", ".join(session.pipelines) or "none yet"
            raise UsageError(
                f"No pipeline named '{args.pipeline}' (defined: {known}): "
                f"define it with %llm pipeline define {args.pipeline} EXPR."
            )
        if provider and provider != base.provider:
            raise UsageError(
                f"Pipeline '{args.pipeline}' runs on provider '{base.provider}', not '{provider}': "
                "leave PROVIDER out, or define another pipeline."
            )
        builder = base.with_messages(messages)
    else:
        builder = build(provider or d.provider or api.default_provider(), messages)
    options: dict[str, Any] = {}
    # the default model goes with the default provider, never to a provider named otherwise
    default_model = d.model if provider in (None, d.provider) and not args.pipeline else None
    model = args.model or model or default_model
    cache = cache_of(d, args)
    for key, value in (
        ("model", model),
        ("temperature", d.temperature if args.temperature is None else args.temperature),
        ("max_tokens", d.max_tokens if args.max_tokens is None else args.max_tokens),
        ("cache", cache if isinstance(cache, bool) else None),
    ):
        if value is not None:
            options[key] = value
    if options:
        builder = builder.with_options(**options)
    if isinstance(cache, str):
        builder = builder.with_cache(**cache_options(d, cache))
    if args.tag:
        builder = builder.with_tags(*args.tag)
    return builder, chat


def cache_of(d: Defaults, args: argparse.Namespace) -> bool | str | None:
    """The cell's cache: `--cache=STORE`, else `--cache`/`--no-cache`, else the default."""
    if getattr(args, "cache_store", None) is not None:
        return args.cache_store
    return d.cache if args.cache is None else args.cache


def cache_options(d: Defaults, store: str) -> dict[str, Any]:
    """`with_cache` options for a store the magics keep: a persistent store keeps answers
    until cleared (no ttl); the memory one for the cache's usual hour."""
    if store == "memory":
        return {"store": "memory"}
    where = {"path": d.cache_path} if store == "sqlite" else {"url": d.cache_url}
    return {"ttl": None, "store": store, **{k: v for k, v in where.items() if v}}
