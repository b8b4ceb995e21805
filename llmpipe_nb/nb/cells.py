"""The notebook's cells, outputs and errors as prompt values: `{In[3]}`, `{Out[3]}`, `{Err}`.

After each cell the magics note the last one that failed (`FailedCell`), so `{Err}` and
`%llm fix` know the error, its traceback and the cell's own text. Asking past the
history, for an output a cell did not give, or for an error when none happened is one
sentence in the cell, and nothing is sent.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..context.renderers import TEXT_LIMITS, clip, renderer, shorter
from ..context.template import SECRET_SUFFIXES
from ..credentials import Secret
from ..errors import ConfigError

#: the names of a failing cell sent along with it, at most
MAX_NAMES = 10
_OWN = ("%llm", "%%llm")


@dataclass(frozen=True)
class Cell:
    """The source of cell `number`, as typed."""

    number: int
    source: str


@renderer(Cell)
def render_cell(cell: Cell, spec: str) -> Iterator[str]:
    """A cell as a Python block headed by its number; a long one is clipped."""
    return shorter(
        f"```python\n# In[{cell.number}]\n{clip(cell.source.strip(), limit)}\n```"
        for limit in TEXT_LIMITS
    )


@dataclass(frozen=True)
class FailedCell:
    """The last cell that raised: its number, its source and the exception."""

    number: int
    source: str
    error: BaseException


def note_failure(session: Any, result: Any) -> None:
    """After a cell: keep it if it failed (the magics' own cells aside)."""
    error = result.error_before_exec or result.error_in_exec
    source = result.info.raw_cell if result.info is not None else ""
    if error is None or source.lstrip().startswith(_OWN):
        return
    session.last_error = FailedCell(result.execution_count or 0, source, error)


def last_error(session: Any) -> BaseException:
    """The last error of the notebook, or ConfigError when none happened."""
    if session.last_error is not None:
        return session.last_error.error
    # an error from before `%load_ext llmpipe_nb`, as IPython keeps it (not the magics' own)
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if error is None or type(error).__name__ in ("CellError", "UsageError"):
        raise ConfigError(
            "{Err} is the last error, but no cell has failed yet: run the failing cell first, "
            "or take {Err} out of the prompt."
        )
    return error


def current_cell(shell: Any) -> int:
    """The number of the cell running now (its input is in the history before it runs)."""
    return len(shell.history_manager.input_hist_raw) - 1


class Cells:
    """`In` for prompts: `{In[3]}` is cell 3 as typed; `{In[-2]}` the cell before this one."""

    def __init__(self, shell: Any) -> None:
        self.raw = shell.history_manager.input_hist_raw

    def __getitem__(self, key: Any) -> Cell:
        n = _number(key, "In")
        count = len(self.raw) - 1
        index = n if n >= 0 else len(self.raw) + n
        if not 1 <= index <= count:
            raise ConfigError(
                f"{{In[{key}]}} is past the history, which has In[1] to In[{count}]: "
                "use one of those."
            )
        return Cell(index, self.raw[index])


class Outputs:
    """`Out` for prompts: `{Out[3]}` is what cell 3 returned."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.out = shell.user_ns.get("Out", {})

    def __getitem__(self, key: Any) -> Any:
        n = _number(key, "Out")
        current = current_cell(self.shell)
        if n < 0:
            n += current
        if n in self.out:
            return self.out[n]
        if not 1 <= n < current:
            raise ConfigError(
                f"{{Out[{key}]}} is past the history, which has Out[1] to Out[{current - 1}]: "
                "use one of those."
            )
        raise ConfigError(
            f"Cell {n} gave no output, so {{Out[{key}]}} is empty: use a cell that returned a value."
        )


def _number(key: Any, name: str) -> int:
    try:
        return int(key)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{{{name}[{key}]}} needs a cell number, such as {{{name}[3]}}."
        ) from None


class NotebookNamespace(Mapping[str, Any]):
    """The notebook's variables, with `In`, `Out` and `Err` for prompts (read only when used)."""

    SPECIAL = ("In", "Out", "Err")

    def __init__(self, shell: Any, session: Any) -> None:
        self.shell, self.session = shell, session

    def __getitem__(self, name: str) -> Any:
        if name == "In":
            return Cells(self.shell)
        if name == "Out":
            return Outputs(self.shell)
        if name == "Err":
            return last_error(self.session)
        return self.shell.user_ns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.SPECIAL or name in self.shell.user_ns

    def __iter__(self) -> Iterator[str]:
        return iter(self.shell.user_ns)

    def __len__(self) -> int:
        return len(self.shell.user_ns)


def names_used(shell: Any, source: str) -> tuple[list[str], list[str]]:
    """(the variables a cell reads, in order; those left out because they are secrets).

    Modules, functions, classes and IPython's own names are not values to describe.
    """
    try:
        tree = ast.parse(shell.transform_cell(source))
    except SyntaxError:
        return [], []
    loads = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    names: list[str] = []
    secrets: list[str] = []
    ns = shell.user_ns
    for name in dict.fromkeys(n.id for n in loads):
        if name not in ns or name.startswith("_") or name in ("In", "Out", "get_ipython"):
            continue
        value = ns[name]
        if isinstance(
            value, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)
        ):
            continue
        if name.upper().endswith(SECRET_SUFFIXES) or isinstance(value, Secret):
            secrets.append(name)
        elif len(names) < MAX_NAMES:
            names.append(name)
    return names, secrets
