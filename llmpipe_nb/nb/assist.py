"""`%llm fix` and `%llm explain`: ask about the last error, or about the cell above.

Each sends the cell as typed, its error with the traceback (fix) or its output (explain),
and the variables the cell reads, rendered by type within the budget; names that say
they hold secrets are left out, and the prompt says so. `%llm fix` puts the corrected
cell of the answer into a new cell below, which is never run by itself. Both take the
options of `%%llm` (`%llm fix openai --budget 2000 --dry-run`).
"""

from __future__ import annotations

from typing import Any

from ..context import Field
from ..errors import ConfigError
from .cells import Cell, FailedCell, current_cell, last_error, names_used
from .magic_args import parse
from .magic_cell import CellError, ask
from .magic_settings import Session

FIX = (
    "This notebook cell failed. Say in one or two sentences why, then give the whole "
    "corrected cell in one ```python block."
)
EXPLAIN = "Explain briefly what this notebook cell does, and what its result shows."


def fix(shell: Any, session: Session, rest: str) -> Any:
    """Explain the last error and propose the corrected cell, as the next cell (not run)."""
    args = parse(rest)
    try:
        failed = session.last_error or FailedCell(0, "", last_error(session))
    except ConfigError as error:
        raise CellError(error) from error
    pieces: list[str | Field] = [FIX]
    if failed.source:
        pieces += [
            "\n\nThe cell:\n",
            Field(f"{{In[{failed.number}]}}", Cell(failed.number, failed.source)),
        ]
    pieces += ["\n\nThe error:\n", Field("{Err}", failed.error)]
    pieces += variables(shell, failed.source)
    return ask(shell, session, args, pieces, live=True, next_cell=True)


def explain(shell: Any, session: Session, rest: str) -> Any:
    """Explain the cell run before this one, with its output or its error."""
    args = parse(rest)
    number = current_cell(shell) - 1
    raw = shell.history_manager.input_hist_raw
    if number < 1:
        raise CellError(
            ConfigError("There is no cell before this one to explain: run a cell first.")
        )
    source = raw[number]
    pieces: list[str | Field] = [
        EXPLAIN,
        "\n\nThe cell:\n",
        Field(f"{{In[{number}]}}", Cell(number, source)),
    ]
    outputs = shell.user_ns.get("Out", {})
    if number in outputs:
        pieces += ["\n\nIts result:\n", Field(f"{{Out[{number}]}}", outputs[number])]
    failed = session.last_error
    if failed is not None and failed.number == number:
        pieces += ["\n\nIts error:\n", Field("{Err}", failed.error)]
    pieces += variables(shell, source)
    return ask(shell, session, args, pieces, live=True)


def variables(shell: Any, source: str) -> list[str | Field]:
    """The variables `source` reads, each as `name = <rendering>`; secrets named, not shown."""
    names, secrets = names_used(shell, source)
    pieces: list[str | Field] = []
    if names:
        pieces.append("\n\nThe variables it reads:")
        for name in names:
            pieces += [f"\n{name} = ", Field(f"{{{name}}}", shell.user_ns[name])]
    if secrets:
        pieces.append(f"\n\n(Left out because they hold secrets: {', '.join(secrets)}.)")
    return pieces
