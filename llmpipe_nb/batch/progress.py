"""A progress bar that fits where the batch runs: a widget in Jupyter, rich in a terminal.

The engine only counts (see `Tally`); the display reads the counts a few times a
second from the caller's thread, so drawing never slows the requests down.
`progress=` picks it: True (where it runs), False, "widget", "rich", or a function
called with the Tally.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ConfigError, MissingDependencyError
from .engine import Tally, usd

TICK_S = 0.1


class Display(Protocol):
    def update(self, tally: Tally) -> None: ...

    def close(self, tally: Tally, note: str | None = None) -> None: ...


def summary(tally: Tally, note: str | None = None) -> str:
    """`930/1000 · 925 done · 5 failed · 12 cached · $0.013200 · ETA 4s`, for every display."""
    parts = [
        f"{tally.finished}/{tally.total}",
        f"{tally.done} done",
        f"{tally.failed} failed",
        f"{tally.cache_hits} cached",
        usd(tally.spent_usd),
    ]
    if note:
        parts.append(note)
    else:
        eta = tally.eta_s()
        if eta is not None and tally.finished < tally.total:
            parts.append(f"ETA {_duration(eta)}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class WidgetBar:
    """An ipywidgets bar with the summary beside it; green, orange or red when finished."""

    def __init__(self, total: int) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description="llm.map")
        self.label = widgets.HTML()
        self.box = widgets.HBox([self.bar, self.label])
        display(self.box)

    def update(self, tally: Tally) -> None:
        self.bar.value = tally.finished
        self.label.value = f"<code>{html.escape(summary(tally))}</code>"

    def close(self, tally: Tally, note: str | None = None) -> None:
        self.update(tally)
        self.label.value = f"<code>{html.escape(summary(tally, note))}</code>"
        stopped = note is not None or tally.finished < tally.total
        self.bar.bar_style = "warning" if stopped else "danger" if tally.failed else "success"


class RichBar:
    """A rich progress bar on stderr."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("llm.map"),
            BarColumn(),
            TextColumn("{task.fields[summary]}"),
            console=Console(stderr=True),
            auto_refresh=False,
        )
        self.task = self.progress.add_task("batch", total=total, summary="")
        self.progress.start()

    def update(self, tally: Tally) -> None:
        self.progress.update(self.task, completed=tally.finished, summary=summary(tally))
        self.progress.refresh()

    def close(self, tally: Tally, note: str | None = None) -> None:
        self.progress.update(self.task, completed=tally.finished, summary=summary(tally, note))
        self.progress.refresh()
        self.progress.stop()


class CallbackDisplay:
    """Calls the user's function with the Tally at every tick and once at the end."""

    def __init__(self, fn: Callable[[Tally], Any]) -> None:
        self.fn = fn

    def update(self, tally: Tally) -> None:
        self.fn(tally)

    def close(self, tally: Tally, note: str | None = None) -> None:
        self.fn(tally)


def in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (checked without importing IPython)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def make_display(progress: Any, total: int) -> Display | None:
    """The display `progress=` asks for; None when there is nothing to show."""
    if progress is False or progress is None or total == 0:
        return None
    if callable(progress):
        return CallbackDisplay(progress)
    if progress is True:
        if in_jupyter():
            return WidgetBar(total) if _importable("ipywidgets") else None
        if sys.stderr.isatty() and _importable("rich"):
            return RichBar(total)
        return None
    if progress == "widget":
        if not _importable("ipywidgets"):
            raise MissingDependencyError("ipywidgets", "notebook")
        return WidgetBar(total)
    if progress == "rich":
        if not _importable("rich"):
            raise MissingDependencyError("rich", "notebook")
        return RichBar(total)
    raise ConfigError(
        f"progress= takes True, False, 'widget', 'rich' or a function of the tally, not {progress!r}."
    )
