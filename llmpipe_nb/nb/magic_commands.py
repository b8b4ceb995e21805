"""The `%llm` line subcommands: list, config, pipeline define, pipelines, reset, costs, log,
replay, fix, explain, help.

Each takes the shell, the kernel's session and the rest of the line, and returns what
the cell shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from IPython.core.error import UsageError
from IPython.utils.text import dedent

from .. import api, registry, views
from ..builder import Builder, build
from ..errors import ConfigError, LLMPipeError
from ..observability import log_to_notebook
from .assist import explain, fix
from .magic_args import USAGE, words
from .magic_cell import CellError
from .magic_settings import Defaults, Session, setting

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
    %llm log LEVEL                              log lines in the cell: debug, info, warning, off
    %llm replay PATH [--mode auto|record|replay] [--realtime]
                                                every request through the recording at PATH
    %llm replay off | %llm replay               end it | what it has done so far
    %llm fix [PROVIDER[:MODEL]] [options]       explain the last error; the fixed cell goes below
    %llm explain [PROVIDER[:MODEL]] [options]   explain the cell above
    %llm help                                   this text

    config keys: {", ".join(f.name for f in fields(Defaults))}
    """
)


def list_providers(shell: Any, session: Session, rest: str) -> views.View:
    """Every provider, whether its key is set, its default model and its kinds."""
    rows = []
    for name in registry.names():
        provider = registry.get(name)
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


def config(shell: Any, session: Session, rest: str) -> views.View:
    """Set `key=value` defaults (or `--reset` them), then show them all."""
    names = [f.name for f in fields(Defaults)]
    for token in words(rest):
        if token == "--reset":
            session.defaults = Defaults()
            continue
        name, eq, raw = token.partition("=")
        if not eq or name not in names:
            raise UsageError(
                f"%llm config takes key=value pairs with keys {', '.join(names)} "
                f"(or --reset), not {token!r}."
            )
        try:
            session.defaults = replace(session.defaults, **{name: setting(name, raw)})
        except LLMPipeError as error:
            raise CellError(error) from error
    rows = [
        [f.name, views.shown(f.name, getattr(session.defaults, f.name))] for f in fields(Defaults)
    ]
    return views.table_view("%llm defaults", ["setting", "value"], rows)


def define_pipeline(shell: Any, session: Session, rest: str) -> Any:
    """`pipeline define NAME EXPR`: keep a builder (or a plug list) for `--pipeline NAME`."""
    verb, _, rest = rest.partition(" ")
    name, _, expr = rest.strip().partition(" ")
    if verb != "define" or not name.isidentifier() or not expr.strip():
        raise UsageError(
            "usage: %llm pipeline define NAME EXPR   (EXPR gives a builder or a list of plugs)"
        )
    try:
        value = shell.ev(expr)
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
            provider = session.defaults.provider or api.default_provider()
            value = build(provider).with_pipeline(value)
        info = value.inspect_pipeline()
    except LLMPipeError as error:
        raise CellError(error) from error
    session.pipelines[name] = value
    return info


def list_pipelines(shell: Any, session: Session, rest: str) -> views.View:
    """The named pipelines and their plugs."""
    if not session.pipelines:
        raise UsageError("No named pipelines yet: define one with %llm pipeline define NAME EXPR.")
    rows = [
        [name, f"{b.provider}/{b.kind}", " → ".join(b.inspect_pipeline().names)]
        for name, b in session.pipelines.items()
    ]
    return views.table_view("Named pipelines", ["name", "provider/kind", "plugs"], rows)


def reset(shell: Any, session: Session, rest: str) -> None:
    """Forget one conversation, or all."""
    if not rest:
        session.chats.clear()
        print("Forgot every conversation.")
        return
    if rest not in session.chats:
        raise UsageError(
            f"No conversation named '{rest}' (known: {', '.join(session.chats) or 'none'})."
        )
    del session.chats[rest]
    print(f"Forgot the conversation '{rest}'.")


def costs(shell: Any, session: Session, rest: str) -> Any:
    """The process ledger, which shows its cost summary."""
    from ..ledger import ledger

    return ledger()


def show_logs(shell: Any, session: Session, rest: str) -> None:
    """`log LEVEL`: the library's log lines at LEVEL and above show in the cell; `log off` stops."""
    if not rest:
        raise UsageError("usage: %llm log debug|info|warning|error|off")
    try:
        log_to_notebook(rest)
    except LLMPipeError as error:
        raise UsageError(str(error)) from None
    if rest.lower() == "off":
        print("llmpipe_nb log lines are off.")
    else:
        print(f"llmpipe_nb log lines at {rest.upper()} and above show in the cell output.")


def replay(shell: Any, session: Session, rest: str) -> Any:
    """`replay PATH [--mode M] [--realtime]`: every request of the session through the
    recording at PATH; `replay off` ends it; `replay` alone tells what it did so far."""
    from ..plugs.replay_session import MODES, current, describe
    from ..plugs.replay_session import replay as start

    usage = (
        "usage: %llm replay PATH [--mode auto|record|replay] [--realtime]   or   %llm replay off"
    )
    tokens = words(rest)
    if not tokens:
        print(describe(current()))
        return None
    if tokens == ["off"]:
        was = current()
        start(None)
        print("Replay is off." if was is None else f"Replay is off: {was!r}.")
        return None
    path, mode, realtime = None, None, False
    it = iter(tokens)
    for token in it:
        name, eq, value = token.partition("=")
        if name == "--mode":
            mode = value if eq else next(it, None)
            if mode not in MODES:
                raise UsageError(f"--mode takes {', '.join(MODES)}, not {mode!r}.\n{usage}")
        elif token == "--realtime":
            realtime = True
        elif path is None and not token.startswith("-"):
            path = token
        else:
            raise UsageError(f"Unexpected {token!r}.\n{usage}")
    if path is None:
        raise UsageError(usage)
    try:
        recording = start(path, mode, realtime=realtime)
    except LLMPipeError as error:
        raise CellError(error) from error
    print(describe(recording))
    return None


def show_help(shell: Any, session: Session, rest: str) -> views.View:
    """Every command and option."""
    return views.View(views.frame(f'<pre class="lp-pre">{views.esc(HELP)}</pre>'), HELP)


COMMANDS: dict[str, Callable[[Any, Session, str], Any]] = {
    "list": list_providers,
    "config": config,
    "pipeline": define_pipeline,
    "pipelines": list_pipelines,
    "reset": reset,
    "costs": costs,
    "log": show_logs,
    "replay": replay,
    "fix": fix,
    "explain": explain,
    "help": show_help,
    "": show_help,
}
