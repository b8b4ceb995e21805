"""The magics' command line: the options, the usage line, and splitting a one-line
`%llm PROVIDER [options] prompt...` into its options and its prompt."""

from __future__ import annotations

import argparse
import re
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..views import FORMATS
from .magic_settings import cache_choice, number, whole_number


def _typed(convert: Any, name: str) -> Any:
    """An argparse type that refuses a value with what `name` accepts."""

    def check(raw: str) -> Any:
        try:
            return convert(name, raw)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return check


_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("target",),
        {"nargs": "?", "metavar": "PROVIDER[:MODEL]", "help": "where to send the prompt"},
    ),
    (("--model", "-m"), {"help": "the model (beats the one after the colon)"}),
    (
        ("--temperature", "-t"),
        {"type": _typed(number, "temperature"), "help": "sampling temperature, 0 to 2"},
    ),
    (
        ("--max-tokens",),
        {"type": _typed(whole_number, "max_tokens"), "help": "the most tokens to generate"},
    ),
    (("--system", "-s"), {"help": "a system message"}),
    (("--format", "-f"), {"choices": FORMATS, "help": "how to show the answer"}),
    (
        ("--stream",),
        {"action": argparse.BooleanOptionalAction, "help": "show the answer as it arrives"},
    ),
    (
        ("--cache",),
        {"action": argparse.BooleanOptionalAction, "help": "answer repeats from the cache"},
    ),
    (  # --cache=STORE, rewritten to this by `parse`: argparse cannot give --cache both forms
        ("--cache-store",),
        {"type": _typed(cache_choice, "cache"), "help": argparse.SUPPRESS},
    ),
    (
        ("--pipeline", "-p"),
        {"metavar": "NAME", "help": "run a pipeline named with %%llm pipeline define"},
    ),
    (("--chat", "-c"), {"metavar": "NAME", "help": "continue the conversation NAME across cells"}),
    (("--output", "-o"), {"metavar": "VAR", "help": "also keep the response in the variable VAR"}),
    (("--schema",), {"metavar": "NAME", "help": "answer as the type NAME (--output keeps it)"}),
    (
        ("--tools",),
        {"metavar": "F,G", "help": "let the model call the functions F, G (comma-separated)"},
    ),
    (("--no-interpolate",), {"action": "store_true", "help": "send {braces} as written"}),
    (
        ("--budget", "-b"),
        {
            "type": _typed(whole_number, "budget"),
            "metavar": "TOKENS",
            "help": "the most tokens the prompt may take (default: a quarter of the context window)",
        },
    ),
    (("--dry-run",), {"action": "store_true", "help": "show what would be sent; send nothing"}),
    (("--tag",), {"action": "append", "default": [], "help": "label the ledger row (repeatable)"}),
    (
        ("--compare",),
        {
            "nargs": "+",
            "metavar": "PROVIDER:MODEL",
            "help": "send the cell to each model, side by side in one grid",
        },
    ),
]
_TAKES_VALUE = {
    flag
    for flags, kw in _OPTIONS
    if flags[0].startswith("-") and kw.get("action") in (None, "append")
    for flag in flags
}


USAGE = (
    "%%llm [PROVIDER[:MODEL]] [--model M] [--temperature T] [--max-tokens N] [--system TEXT] "
    f"[--format {'|'.join(FORMATS)}] [--stream|--no-stream] "
    "[--cache[=memory|sqlite|redis]|--no-cache] "
    "[--pipeline NAME] [--chat NAME] [--output VAR] [--schema NAME] [--tools F,G] "
    "[--no-interpolate] [--budget TOKENS] [--dry-run] [--tag TAG] [--compare PROVIDER:MODEL ...]"
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


def split_target(target: str | None) -> tuple[str | None, str | None]:
    """`PROVIDER:MODEL` -> (provider, model), either None when left out."""
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


def words(line: str) -> list[str]:
    """Shell-like words: quotes group and are removed (`--system 'Be brief.'`)."""
    try:
        return shlex.split(line)
    except ValueError as error:
        raise UsageError(f"{error} in {line!r}: close the quote.") from None


def parse(line: str) -> argparse.Namespace:
    """The options of a magic line, or UsageError with the usage line."""
    tokens = [
        "--cache-store=" + w.partition("=")[2] if w.startswith("--cache=") else w
        for w in words(line)
    ]
    try:
        return PARSER.parse_args(tokens)
    except UsageError as error:
        raise UsageError(f"{error}\nusage: {USAGE}") from None
