"""The `llmpipe_nb` logger tree: silent unless asked, one DEBUG line per plug, shown in a cell on request.

Every module logs under `llmpipe_nb.<module>` (`llmpipe_nb.pipeline`,
`llmpipe_nb.plugs.retry_policy`, `llmpipe_nb.providers.openai.options`, ...). The root of
the tree has a NullHandler, so nothing prints until the application configures logging
or calls `log_to_notebook`. The per-plug lines come from a pipeline listener that asks
the logger first, so with DEBUG off a request pays one level check.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .. import pipeline
from ..errors import ConfigError, redact
from ..request import Request

ROOT = "llmpipe_nb"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(levelname)s %(name)s: %(message)s"

root = logging.getLogger(ROOT)
root.addHandler(logging.NullHandler())
steps_log = logging.getLogger("llmpipe_nb.pipeline")


def log_steps(done: Request) -> None:
    """DEBUG: each plug of a finished request (name, µs, outcome), then the request itself."""
    if not steps_log.isEnabledFor(logging.DEBUG):
        return
    for step in done.trace:
        note = "" if step.note is None else f" ({redact(str(step.note))})"
        steps_log.debug(
            "%s %s: %.1f µs, %s%s", done.id, step.plug, step.duration_ns / 1000, step.outcome, note
        )
    steps_log.debug(
        "%s %s/%s %s in %.1f µs",
        done.id,
        done.provider,
        done.kind,
        done.state,
        done.metadata.get("duration_ns", 0) / 1000,
    )


pipeline.add_listener(log_steps)


class _Redacting(logging.Filter):
    """Scrubs keys from a record before the cell shows it (every message is scrubbed at its
    source too: this is the last guard)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class CellHandler(logging.StreamHandler):
    """Writes to the `sys.stderr` of the moment, which in Jupyter is the running cell's output."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))
        self.addFilter(_Redacting())

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """The stream is always the current stderr."""


def log_to_notebook(level: int | str | None = "INFO") -> None:
    """Show the library's log lines at `level` and above in the cell output (None or "off": stop).

    `level` is a name (debug, info, warning, error) or a `logging` number.
    """
    for handler in [h for h in root.handlers if isinstance(h, CellHandler)]:
        root.removeHandler(handler)
    if level is None or (isinstance(level, str) and level.strip().lower() == "off"):
        root.setLevel(logging.NOTSET)
        return
    number = _level(level)
    root.setLevel(number)
    root.addHandler(CellHandler())


def _level(level: Any) -> int:
    if isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return level
    if isinstance(level, str) and level.strip().upper() in LEVELS:
        return int(logging.getLevelName(level.strip().upper()))
    raise ConfigError(
        f"The log level must be one of {', '.join(n.lower() for n in LEVELS)} or off, "
        f"not {level!r}."
    )
