"""The `llmpipe` command line.

    llmpipe costs [--db PATH]     the cost summary of a persisted ledger, as a table
    llmpipe models [--check] [--db PATH]
                                  the model lifecycle table; with --check, the models a
                                  ledger used, their status and replacement
    llmpipe demo [--notebook PATH] [--out DIR]
                                  run the quickstart notebook headless, offline
    llmpipe batch list|show ID|cancel ID [--db PATH]
                                  the provider batch jobs of llm.map(..., engine="batch")
    llmpipe replay show|stats PATH
                                  the requests a recording (llm.replay) holds; its totals
    llmpipe replay prune PATH [--older-than DAYS] [--provider P] [--model M] [--dry-run]
                                  delete recordings

Each command is a subparser whose `run(args)` returns the exit status; add one with
`commands.add_parser(...)` in `build_parser` and `set_defaults(run=...)`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from . import lifecycle
from .errors import LLMPipeError, MissingDependencyError
from .ledger import LEDGER_ENV, Ledger
from .ledger.rows import COST_COLUMNS


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
    _add_ledger_db(costs)
    costs.set_defaults(run=run_costs)

    models = commands.add_parser(
        "models",
        help="print the model lifecycle table, or check the models a ledger used",
        description="Print the bundled model lifecycle table (status, retirement date, "
        "replacement). With --check, list the models recorded in a ledger file with their "
        "status, and exit with status 1 if any is deprecated or retired.",
    )
    models.add_argument(
        "--check", action="store_true", help="check the models recorded in a ledger file"
    )
    _add_ledger_db(models)
    models.set_defaults(run=run_models)

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
    _add_batch(commands)

    replay = commands.add_parser(
        "replay",
        help="show, count or prune the requests of a recording made with llm.replay",
        description="Inspect a recording made with llm.replay(PATH): `show` lists its "
        "requests, `stats` gives its totals and compression, `prune` deletes recordings "
        "older than --older-than DAYS, or of --provider / --model.",
    )
    replay.add_argument("action", choices=("show", "stats", "prune"))
    replay.add_argument("path", metavar="PATH", help="the recording's SQLite file")
    replay.add_argument("--older-than", type=float, metavar="DAYS", help="prune: recorded before")
    replay.add_argument("--provider", help="prune: only this provider's recordings")
    replay.add_argument("--model", help="prune: only this model's recordings")
    replay.add_argument("--dry-run", action="store_true", help="prune: list, delete nothing")
    replay.set_defaults(run=run_replay)
    return parser


def _add_batch(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="list, show or cancel the provider batch jobs of llm.map(..., engine='batch')",
        description="The provider batch jobs this machine submitted, from any kernel.",
    )
    actions = batch.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every job, oldest first")
    listing.add_argument("--refresh", action="store_true", help="poll the unfinished jobs")
    show = actions.add_parser("show", help="one job's status, polled from the provider")
    cancel = actions.add_parser("cancel", help="ask the provider to stop a job")
    for action, parser in (("list", listing), ("show", show), ("cancel", cancel)):
        if action != "list":
            parser.add_argument("id", help="the job id, or a provider batch id")
        parser.add_argument(
            "--db", metavar="PATH", help="the job store (default: $LLMPIPE_BATCH_JOBS)"
        )
        parser.set_defaults(run=run_batch, action=action)


def _add_ledger_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", help=f"the ledger's SQLite file (default: ${LEDGER_ENV})"
    )


def _ledger_path(args: argparse.Namespace, command: str) -> str | None:
    """--db, else $LLMPIPE_LEDGER; None, after saying so, when neither is given."""
    path: str | None = args.db or os.environ.get(LEDGER_ENV)
    if not path:
        print(
            f"llmpipe {command}: no ledger file given: pass --db PATH or set {LEDGER_ENV}.",
            file=sys.stderr,
        )
    return path


def run_batch(args: argparse.Namespace) -> int:
    from .batch import commands

    return int(getattr(commands, f"run_{args.action}")(args))


def run_costs(args: argparse.Namespace) -> int:
    try:
        from rich.console import Console
    except ImportError:
        raise MissingDependencyError("rich", "notebook") from None

    path = _ledger_path(args, "costs")
    if not path:
        return 2
    ledger = Ledger.open(path)
    if not len(ledger):
        print(f"No requests recorded in {path} yet.")
        return 0
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"Ledger {path}", markup=False, highlight=False)
    console.print(ledger)
    return 0


def run_models(args: argparse.Namespace) -> int:
    columns = ("status", "retires", "replacement")
    if not args.check:
        rows = [(r.provider, r.model, *_status(r)) for r in lifecycle.entries()]
        print(f"Model lifecycle table, checked {_checked()}:")
        _print_table(("provider", "model", *columns), rows)
        return 0
    path = _ledger_path(args, "models --check")
    if not path:
        return 2
    counts: dict[tuple[str, str], int] = {}
    provider_at, model_at = COST_COLUMNS.index("provider"), COST_COLUMNS.index("model")
    for row in Ledger.open(path).rows().costs:
        if row[model_at]:
            key = (row[provider_at], row[model_at])
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        print(f"No models recorded in {path} yet.")
        return 0
    table = [
        (provider, model, str(n), *_status(lifecycle.lookup(provider, model)))
        for (provider, model), n in sorted(counts.items())
    ]
    print(f"Models in {path} (lifecycle table checked {_checked()}):")
    _print_table(("provider", "model", "requests", *columns), table)
    flagged = sum(row[3] in ("deprecated", "retired") for row in table)
    if flagged:
        print(f"{flagged} of them {'is' if flagged == 1 else 'are'} deprecated or retired.")
    return 1 if flagged else 0


def _status(row: lifecycle.ModelLifecycle | None) -> tuple[str, str, str]:
    if row is None:
        return "unknown", "-", "-"
    return row.status, row.retires or "-", row.replacement or "-"


def _checked() -> str:
    """The date the lifecycle table was last checked (the latest of its rows)."""
    return max((r.checked for r in lifecycle.entries()), default="never")


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(x) for x in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())


def run_demo(args: argparse.Namespace) -> int:
    from . import demo

    result = demo.run(args.notebook, args.out)
    print(result.summary())
    return 0 if result.error is None else 1


def run_replay(args: argparse.Namespace) -> int:
    from .stores.cassette import Cassette

    writes = args.action == "prune" and not args.dry_run
    cassette = Cassette(args.path, writable=writes)
    try:
        entries = cassette.entries()
        if args.action == "show":
            rows = [
                (
                    e.key[:12],
                    e.kind,
                    e.provider,
                    e.model or "-",
                    _usd(e.cost_usd),
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(e.recorded_at)),
                    _first_text(e.request),
                )
                for e in entries
            ]
            print(f"{len(rows)} recordings in {args.path}:")
            _print_table(("key", "kind", "provider", "model", "cost", "recorded", "prompt"), rows)
            return 0
        if args.action == "stats":
            stored, plain = cassette.sizes()
            groups: dict[tuple[str, str, str], list[float]] = {}
            for e in entries:
                groups.setdefault((e.provider, e.model or "-", e.kind), []).append(e.cost_usd or 0)
            info = cassette.info()
            print(
                f"Recording {args.path}: {len(entries)} requests, made by llmpipe_nb "
                f"{info.get('created_by', '?')}; answers {plain:,} bytes, stored in {stored:,} "
                f"({_ratio(stored, plain)} smaller); a full replay saves "
                f"{_usd(sum(e.cost_usd or 0 for e in entries))}."
            )
            table = [(*k, str(len(v)), _usd(sum(v))) for k, v in sorted(groups.items())]
            _print_table(("provider", "model", "kind", "requests", "recorded cost"), table)
            return 0
        if args.older_than is None and args.provider is None and args.model is None:
            print(
                "llmpipe replay prune: say what to delete with --older-than DAYS, --provider "
                "or --model (Recording.prune() deletes what a full run did not use).",
                file=sys.stderr,
            )
            return 2
        cutoff = None if args.older_than is None else time.time() - args.older_than * 86400
        doomed = [
            e
            for e in entries
            if (cutoff is None or e.recorded_at < cutoff)
            and args.provider in (None, e.provider)
            and args.model in (None, e.model)
        ]
        if args.dry_run:
            print(f"Would delete {len(doomed)} of {len(entries)} recordings from {args.path}.")
            return 0
        gone = cassette.delete([e.key for e in doomed])
        print(f"Deleted {gone} of {len(entries)} recordings from {args.path}.")
        return 0
    finally:
        cassette.close()


def _usd(cost: float | None) -> str:
    return "-" if cost is None else f"${cost:.6f}"


def _ratio(stored: int, plain: int) -> str:
    return f"{1 - stored / plain:.0%}" if plain else "0%"


def _first_text(request: dict[str, object]) -> str:
    """The last message's text, clipped, to recognise a recording by."""
    messages = request.get("messages") or [""]
    last = messages[-1] if isinstance(messages, list) else ""
    text = last.get("content", "") if isinstance(last, dict) else last
    text = " ".join(str(text).split())
    return text if len(text) <= 48 else text[:47] + "…"


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
