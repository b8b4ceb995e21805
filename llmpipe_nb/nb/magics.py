"""%%llm and %llm: ask a model from a cell, watch the answer arrive, keep what comes back.

The cell magic runs the synchronous pipeline (which never touches asyncio, so it works
under a kernel's running event loop), shows the answer in one output that it updates
as chunks arrive, and keeps the response in `_`, `Out[n]` and `--output VAR`. Library
errors show as one line, not as a traceback from inside the library.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shlex
from dataclasses import dataclass, field, fields, replace
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.text import dedent

from .. import api, providers, views
from ..builder import Builder, build
from ..errors import ConfigError, LLMPipeError
from ..plugs.validate_provider import check_request_options
from .interpolate import fill
from .live import LiveAnswer, PrintedAnswer, can_update

_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("target",),
        {"nargs": "?", "metavar": "PROVIDER[:MODEL]", "help": "where to send the prompt"},
    ),
    (("--model", "-m"), {"help": "the model (beats the one after the colon)"}),
    (("--temperature", "-t"), {"type": float, "help": "sampling temperature, 0 to 2"}),
    (("--max-tokens",), {"type": int, "help": "the most tokens to generate"}),
    (("--system", "-s"), {"help": "a system message"}),
    (("--format", "-f"), {"choices": views.FORMATS, "help": "how to show the answer"}),
    (
        ("--stream",),
        {"action": argparse.BooleanOptionalAction, "help": "show the answer as it arrives"},
    ),
    (
        ("--cache",),
        {"action": argparse.BooleanOptionalAction, "help": "answer repeats from the cache"},
    ),
    (
        ("--pipeline", "-p"),
        {"metavar": "NAME", "help": "run a pipeline named with %%llm pipeline define"},
    ),
    (("--chat", "-c"), {"metavar": "NAME", "help": "continue the conversation NAME across cells"}),
    (("--output", "-o"), {"metavar": "VAR", "help": "also keep the response in the variable VAR"}),
    (("--no-interpolate",), {"action": "store_true", "help": "send {braces} as written"}),
    (("--tag",), {"action": "append", "default": [], "help": "label the ledger row (repeatable)"}),
]
_TAKES_VALUE = {
    flag
    for flags, kw in _OPTIONS
    if flags[0].startswith("-") and kw.get("action") in (None, "append")
    for flag in flags
}


USAGE = (
    "%%llm [PROVIDER[:MODEL]] [--model M] [--temperature T] [--max-tokens N] [--system TEXT] "
    f"[--format {'|'.join(views.FORMATS)}] [--stream|--no-stream] [--cache|--no-cache] "
    "[--pipeline NAME] [--chat NAME] [--output VAR] [--no-interpolate] [--tag TAG]"
)


def _parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%%llm",
        usage=USAGE.replace("%", "%%"),  # argparse formats with %
        description="The cell is the prompt.",
        formatter_class=argparse.HelpFormatter,
    )
    for flags, kw in _OPTIONS:
        parser.add_argument(*flags, **kw)
    return parser


PARSER = _parser()


@dataclass
class Defaults:
    """What `%llm config` sets for the kernel's life."""

    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    format: str = "markdown"
    stream: bool = True
    cache: bool | None = None
    update_interval: float = 0.1


HELP = dedent(
    f"""\
    {USAGE}
        The cell is the prompt; {{name}} is filled from your variables ({{{{ }}}} for braces).

    %llm PROVIDER[:MODEL] [options] prompt...   ask in one line; returns the response
    %llm list                                   providers, keys, default models
    %llm config [key=value ...] [--reset]       defaults for this kernel's life
    %llm pipeline define NAME EXPR              name a builder (or plug list) for --pipeline
    %llm pipelines                              the named pipelines
    %llm reset [CHAT]                           forget one conversation, or all
    %llm costs                                  the cost summary so far
    %llm help                                   this text

    config keys: {", ".join(f.name for f in fields(Defaults))}
    """
)


@dataclass
class Chat:
    """A conversation kept across cells: its system message and the exchanges so far."""

    system: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _setting(name: str, raw: str) -> Any:
    """A `%llm config` value converted to the setting's type, or ConfigError saying why not."""
    if raw == "":
        return getattr(Defaults(), name)
    try:
        if name in ("stream", "cache"):
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError
            return raw.lower() in _TRUE
        if name in ("temperature", "update_interval"):
            value: Any = float(raw)
        elif name == "max_tokens":
            value = int(raw)
        else:
            value = raw
    except ValueError:
        raise ConfigError(f"%llm config {name}={raw!r} is not a valid value for {name}.") from None
    if name == "format" and value not in views.FORMATS:
        raise ConfigError(
            f"%llm config format must be one of {', '.join(views.FORMATS)}, not {raw!r}."
        )
    if name == "update_interval" and value < 0:
        raise ConfigError("%llm config update_interval must be a number of seconds >= 0.")
    if name == "provider":
        providers.get(value)
    check_request_options({name: value})
    return value


class CellError(Exception):
    """A library error shown in the notebook as one line, without a traceback."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(f"{type(error).__name__}: {error}")

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def _split_target(target: str | None) -> tuple[str | None, str | None]:
    if not target:
        return None, None
    provider, _, model = target.partition(":")
    return provider or None, model or None


_TOKEN = re.compile(r"""\s*("[^"]*"|'[^']*'|\S+)""")


def split_line(line: str) -> tuple[str, str]:
    """`PROVIDER [options] prompt...` -> (the options part, the prompt as written)."""
    pos, expect_value = 0, False
    head: list[str] = []
    while True:
        match = _TOKEN.match(line, pos)
        if match is None:
            break
        token = match.group(1)
        starts_option = token.startswith("-") and not expect_value
        if head and not expect_value and not starts_option:
            break
        head.append(token)
        pos = match.end()
        expect_value = starts_option and token in _TAKES_VALUE
    return " ".join(head), line[pos:].strip()


@magics_class
class LLMMagics(Magics):
    """`%%llm` and `%llm`; the defaults, conversations and named pipelines live as long as the kernel."""

    shell: Any

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.defaults = Defaults()
        self.chats: dict[str, Chat] = {}
        self.pipelines: dict[str, Builder] = {}

    # -- asking ----------------------------------------------------------------------------

    @line_cell_magic
    def llm(self, line: str, cell: str | None = None) -> Any:
        """%%llm PROVIDER[:MODEL] [options]: the cell is the prompt.  %llm help: every command."""
        if cell is not None:
            return self._ask(_parse(line), cell, live=True)
        command, _, rest = line.strip().partition(" ")
        handler = {
            "list": self._list,
            "config": self._config,
            "pipeline": self._pipeline,
            "pipelines": self._pipelines,
            "reset": self._reset,
            "costs": self._costs,
            "help": self._help,
            "": self._help,
        }.get(command)
        if handler is not None:
            return handler(rest.strip())
        head, prompt = split_line(line)
        args = _parse(head)
        if args.stream:
            raise UsageError(
                "%llm one-liners return the response without streaming: use %%llm to stream."
            )
        return self._ask(args, prompt, live=False)

    def _ask(self, args: argparse.Namespace, prompt: str, *, live: bool) -> Any:
        if args.output is not None and (
            not args.output.isidentifier() or keyword.iskeyword(args.output)
        ):
            raise UsageError(f"--output {args.output!r} is not a variable name.")
        prompt = prompt.strip("\n").rstrip()  # blank lines around the prompt are not part of it
        try:
            if not args.no_interpolate:
                prompt = fill(prompt, self.shell.user_ns)
            if not prompt.strip():
                where = "in the cell under %%llm" if live else "after the options: %llm mock Hi!"
                raise UsageError(f"The prompt is empty: write it {where}.")
            builder, chat = self._builder(args, prompt)
        except LLMPipeError as error:
            raise CellError(error) from error
        fmt = args.format or self.defaults.format
        if not live:
            result = self._run(builder)
        else:
            stream = self.defaults.stream if args.stream is None else args.stream
            if args.stream is None and "stream" not in providers.get(builder.provider).kinds:
                stream = False  # streaming is the default only where the provider can stream
            result = self._show(builder, fmt, stream)
        if chat is not None:
            chat.messages += [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": result.content},
            ]
        if args.output:
            self.shell.user_ns[args.output] = result
        if not live:
            return result
        self.shell.displayhook.update_user_ns(result)  # `_` and Out[n], as if the cell returned it
        return None

    def _run(self, builder: Builder) -> Any:
        try:
            return builder.execute()
        except LLMPipeError as error:
            raise CellError(error) from error

    def _show(self, builder: Builder, fmt: str, stream: bool) -> Any:
        """Run and render: streamed into one updating output, or printed in a terminal."""
        model = builder.options.get("model")
        who = f"{builder.provider} · {model}" if model else builder.provider
        view: LiveAnswer | PrintedAnswer
        if can_update(self.shell):
            view = LiveAnswer(who, fmt, self.defaults.update_interval)
        else:
            view = PrintedAnswer(who)
        try:
            if not stream:
                result = builder.execute()
            else:
                view.start()
                answer = builder.stream()
                for chunk in answer:
                    view.add(chunk.content)
                result = answer.response
        except LLMPipeError as error:
            view.fail(error)
            raise CellError(error) from error
        except KeyboardInterrupt as interrupt:
            view.fail(interrupt)
            raise
        view.finish(result, fmt)
        return result

    def _builder(self, args: argparse.Namespace, prompt: str) -> tuple[Builder, Chat | None]:
        """The builder for this cell, and the conversation it continues (if any)."""
        d = self.defaults
        provider, model = _split_target(args.target)
        chat = self.chats.setdefault(args.chat, Chat()) if args.chat else None
        if chat is not None and args.system:
            chat.system = args.system  # a conversation keeps its system message
        system = args.system or (chat.system if chat else None) or d.system
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        messages += [*(chat.messages if chat else ()), {"role": "user", "content": prompt}]
        if args.pipeline:
            base = self.pipelines.get(args.pipeline)
            if base is None:
                known = ", ".join(self.pipelines) or "none yet"
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
        for key, value in (
            ("model", model),
            ("temperature", d.temperature if args.temperature is None else args.temperature),
            ("max_tokens", d.max_tokens if args.max_tokens is None else args.max_tokens),
            ("cache", d.cache if args.cache is None else args.cache),
        ):
            if value is not None:
                options[key] = value
        if options:
            builder = builder.with_options(**options)
        if args.tag:
            builder = builder.with_tags(*args.tag)
        return builder, chat

    # -- commands --------------------------------------------------------------------------

    def _list(self, rest: str) -> views.View:
        rows = []
        for name in providers.names():
            provider = providers.get(name)
            if not provider.requires_key:
                key = "not needed"
            else:
                try:
                    provider.resolve_config({})
                    key = "✅ configured"
                except LLMPipeError:
                    key = f"❌ set {provider.key_env[0] if provider.key_env else 'a key'}"
            rows.append([name, key, provider.default_model or "-", ", ".join(provider.kinds)])
        return views.table_view("Providers", ["provider", "key", "default model", "kinds"], rows)

    def _config(self, rest: str) -> views.View:
        names = [f.name for f in fields(Defaults)]
        for token in _words(rest):
            if token == "--reset":
                self.defaults = Defaults()
                continue
            name, eq, raw = token.partition("=")
            if not eq or name not in names:
                raise UsageError(
                    f"%llm config takes key=value pairs with keys {', '.join(names)} "
                    f"(or --reset), not {token!r}."
                )
            try:
                self.defaults = replace(self.defaults, **{name: _setting(name, raw)})
            except LLMPipeError as error:
                raise CellError(error) from error
        rows = [
            [f.name, views.shown(f.name, getattr(self.defaults, f.name))] for f in fields(Defaults)
        ]
        return views.table_view("%llm defaults", ["setting", "value"], rows)

    def _pipeline(self, rest: str) -> Any:
        verb, _, rest = rest.partition(" ")
        name, _, expr = rest.strip().partition(" ")
        if verb != "define" or not name.isidentifier() or not expr.strip():
            raise UsageError(
                "usage: %llm pipeline define NAME EXPR   (EXPR gives a builder or a list of plugs)"
            )
        try:
            value = self.shell.ev(expr)
        except Exception as error:
            if isinstance(error, NameError) and error.name == "llm":
                raise UsageError(
                    "The pipeline expression uses llm, which this notebook has not imported: "
                    "run `import llmpipe_nb as llm` first."
                ) from None
            raise UsageError(
                f"The pipeline expression failed: {type(error).__name__}: {error}"
            ) from None
        try:
            if not isinstance(value, Builder):
                if not isinstance(value, (list, tuple)):
                    raise ConfigError(
                        f"A pipeline is a builder (llm.build(...)...) or a list of plugs, "
                        f"not {type(value).__name__}."
                    )
                value = build(self.defaults.provider or api.default_provider()).with_pipeline(value)
            info = value.inspect_pipeline()
        except LLMPipeError as error:
            raise CellError(error) from error
        self.pipelines[name] = value
        return info

    def _pipelines(self, rest: str) -> views.View:
        if not self.pipelines:
            raise UsageError(
                "No named pipelines yet: define one with %llm pipeline define NAME EXPR."
            )
        rows = [
            [name, f"{b.provider}/{b.kind}", " → ".join(b.inspect_pipeline().names)]
            for name, b in self.pipelines.items()
        ]
        return views.table_view("Named pipelines", ["name", "provider/kind", "plugs"], rows)

    def _reset(self, rest: str) -> None:
        if not rest:
            self.chats.clear()
            print("Forgot every conversation.")
            return
        if rest not in self.chats:
            raise UsageError(
                f"No conversation named '{rest}' (known: {', '.join(self.chats) or 'none'})."
            )
        del self.chats[rest]
        print(f"Forgot the conversation '{rest}'.")

    def _costs(self, rest: str) -> Any:
        from ..ledger import ledger

        return ledger()

    def _help(self, rest: str) -> views.View:
        return views.View(views.frame(f'<pre class="lp-pre">{views.esc(HELP)}</pre>'), HELP)


def _words(line: str) -> list[str]:
    """Shell-like words: quotes group and are removed (`--system 'Be brief.'`)."""
    try:
        return shlex.split(line)
    except ValueError as error:
        raise UsageError(f"{error} in {line!r}: close the quote.") from None


def _parse(line: str) -> argparse.Namespace:
    try:
        return PARSER.parse_args(_words(line))
    except UsageError as error:
        raise UsageError(f"{error}\nusage: {USAGE}") from None


LLMMagics.llm.__doc__ = f"{HELP}\n{PARSER.format_help()}"  # what `%llm?` and `%%llm?` show
