"""%%llm and %llm: ask a model from a cell, watch the answer arrive, keep what comes back.

This module only wires the magic to its parts: `magic_args` reads the command line,
`magic_cell` asks and shows the answer, `magic_commands` runs the line subcommands,
and `magic_settings` keeps what lives as long as the kernel.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from .cells import note_failure
from .magic_args import PARSER, parse, split_line
from .magic_cell import CellError, ask
from .magic_commands import COMMANDS, HELP
from .magic_settings import Session


@magics_class
class LLMMagics(Magics):
    """`%%llm` and `%llm`; the defaults, conversations and named pipelines live as long as the kernel."""

    shell: Any

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.session = Session()
        if shell is not None:
            shell.events.register("post_run_cell", self.after_cell)

    def after_cell(self, result: Any) -> None:
        """Keep the last cell that failed, for `{Err}` and `%llm fix`."""
        note_failure(self.session, result)

    @no_var_expand  # {name} is the magic's to render (by type, secrets refused), not IPython's
    @line_cell_magic
    def llm(self, line: str, cell: str | None = None) -> Any:
        """%%llm PROVIDER[:MODEL] [options]: the cell is the prompt.  %llm help: every command."""
        if cell is not None:
            args = parse(line)
            if args.compare:  # loaded on first use: it brings the batch engine and pandas
                from .magic_compare import compare_cell

                return compare_cell(self.shell, self.session, args, cell)
            return ask(self.shell, self.session, args, cell, live=True)
        command, _, rest = line.strip().partition(" ")
        handler = COMMANDS.get(command)
        if handler is not None:
            return handler(self.shell, self.session, rest.strip())
        head, prompt = split_line(line)
        args = parse(head)
        if args.compare:
            raise UsageError("--compare streams one grid from a cell: use %%llm --compare a b.")
        if args.stream:
            raise UsageError(
                "%llm one-liners return the response without streaming: use %%llm to stream."
            )
        return ask(self.shell, self.session, args, prompt, live=False)


LLMMagics.llm.__doc__ = f"{HELP}\n{PARSER.format_help()}"  # what `%llm?` and `%%llm?` show

__all__ = ["CellError", "LLMMagics", "split_line"]
