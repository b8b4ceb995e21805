"""The `llmpipe` command line.

    llmpipe costs [--db PATH]     the cost summary of a persisted ledger, as a table
    llmpipe demo [--notebook PATH] [--out DIR]
                                  run the quickstart notebook headless, offline

Each command is a subparser whose `run(args)` returns the exit status; add one with
`commands.add_parser(...)` in `build_parser` and `set_defaults(run=...)`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .errors import LLMPipeError, MissingDependencyError
from .ledger import LEDGER_ENV, Ledger


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmpipe", description="LLM requests as pipelines of plugs: tools for the terminal."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    costs = commands.add_parser(
        "costs",
        help="print the cost summary of a persisted ledger",
        description="Print the cost summary (per provider and model) of a ledger file.",
    )
    costs.add_argument(
        "--db", metavar="PATH", help=f"the ledger's SQLite file (default: ${LEDGER_ENV})"
    )
    costs.set_defaults(run=run_costs)

    demo = commands.add_parser(
        "demo",
        help="run the quickstart notebook headless in a Jupyter kernel, offline",
        description="Run a notebook top to bottom in a real Jupyter kernel against the mock "
        "provider, write the executed notebook and an HTML page of it, and print a summary.",
    )
    demo.add_argument(
        "--notebook", metavar="PATH", help="the notebook (default: notebooks/01_quickstart.ipynb)"
    )
    demo.add_argument(
        "--out", metavar="DIR", default="build/demo", help="where to write (default: build/demo)"
    )
    demo.set_defaults(run=run_demo)
    return parser


def run_costs(args: argparse.Namespace) -> int:
    try:
        from rich.console import Console
    except ImportError:
        raise MissingDependencyError("rich", "notebook") from None

    path = args.db or os.environ.get(LEDGER_ENV)
    if not path:
        print(
            f"llmpipe costs: no ledger file given: pass --db PATH or set {LEDGER_ENV}.",
            file=sys.stderr,
        )
        return 2
    ledger = Ledger.open(path)
    if not len(ledger):
        print(f"No requests recorded in {path} yet.")
        return 0
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"Ledger {path}", markup=False, highlight=False)
    console.print(ledger)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from . import demo

    result = demo.run(args.notebook, args.out)
    print(result.summary())
    return 0 if result.error is None else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmpipe` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except LLMPipeError as error:
        print(f"llmpipe: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
