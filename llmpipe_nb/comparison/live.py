"""Showing a comparison while it runs: one notebook output updated in place, a rich table
in a terminal, or the caller's function.

The caller's thread redraws (the notebook convention for display updates), a few times
a second and only when a cell changed; a redraw re-sends the whole grid, so redraws are
spaced further apart when rendering gets slow, keeping display time under a fifth of the
run. The last redraw carries the finished grid.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ConfigError, MissingDependencyError
from .result import Comparison

INTERVAL_S = 0.1


class Live(Protocol):
    def update(self) -> None: ...
    def close(self) -> None: ...


class NotebookGrid:
    """The grid in one notebook output (`display_id`), updated in place, then a final render."""

    def __init__(
        self,
        comparison: Comparison,
        interval: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from IPython.display import display

        self.comparison = comparison
        self.interval = interval
        self.clock = clock
        self.updates = 0
        self._version = comparison.version
        self._cost = 0.0  # seconds the last redraw took
        self._last = clock()
        bundle, metadata = self._bundle("streaming")
        self._handle = display(bundle, raw=True, metadata=metadata, display_id=True)

    def update(self) -> None:
        version = self.comparison.version
        now = self.clock()
        if version == self._version or now - self._last < max(self.interval, 4 * self._cost):
            return
        self._version = version
        bundle, metadata = self._bundle("streaming")
        self._handle.update(bundle, raw=True, metadata=metadata)
        self.updates += 1
        self._last = self.clock()
        self._cost = self._last - now

    def close(self) -> None:
        bundle, metadata = self._bundle("final")
        self._handle.update(bundle, raw=True, metadata=metadata)

    def _bundle(self, stage: str) -> tuple[dict[str, str], dict[str, Any]]:
        cmp = self.comparison
        bundle = {"text/plain": repr(cmp), "text/html": cmp._repr_html_()}
        return bundle, {"llmpipe": {"stage": stage, "comparison_id": cmp.id}}


class TerminalGrid:
    """A rich table redrawn in place on the terminal."""

    def __init__(self, comparison: Comparison) -> None:
        from rich.live import Live as RichLive

        self.comparison = comparison
        self._version = comparison.version
        self._live = RichLive(comparison.__rich__(), auto_refresh=False, transient=False)
        self._live.start()

    def update(self) -> None:
        version = self.comparison.version
        if version != self._version:
            self._version = version
            self._live.update(self.comparison.__rich__(), refresh=True)

    def close(self) -> None:
        self._live.update(self.comparison.__rich__(), refresh=True)
        self._live.stop()


class CallbackGrid:
    """Calls the user's function with the comparison at every redraw and once at the end."""

    def __init__(self, comparison: Comparison, fn: Callable[[Comparison], Any]) -> None:
        self.comparison = comparison
        self.fn = fn

    def update(self) -> None:
        self.fn(self.comparison)

    def close(self) -> None:
        self.fn(self.comparison)


def _notebook_shell() -> bool:
    """Whether an IPython shell whose outputs can be updated in place is running
    (terminal IPython's base publisher prints instead); checked without importing IPython."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython
    from IPython.core.displaypub import DisplayPublisher

    shell = get_ipython()
    return shell is not None and type(shell.display_pub) is not DisplayPublisher


def _rich_terminal() -> bool:
    if not sys.stdout.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def make_live(live: Any, comparison: Comparison, interval: float = INTERVAL_S) -> Live | None:
    """The display `live=` asks for: True picks the notebook, then a terminal, else none."""
    if live is False or live is None:
        return None
    if callable(live):
        return CallbackGrid(comparison, live)
    if live is True:
        if _notebook_shell():
            return NotebookGrid(comparison, interval)
        return TerminalGrid(comparison) if _rich_terminal() else None
    if live == "rich":
        try:
            return TerminalGrid(comparison)
        except ImportError:
            raise MissingDependencyError("rich", "notebook") from None
    raise ConfigError(
        f"live= takes True, False, 'rich' or a function of the comparison, not {live!r}."
    )
