"""Warnings that reach the logging tree too: what a notebook shows, a log collects."""

from __future__ import annotations

import logging
import warnings


def warn(
    logger: str, message: str, category: type[Warning] = UserWarning, stacklevel: int = 2
) -> None:
    """`warnings.warn(message, category, stacklevel)` from the caller, and the same message
    at WARNING on the logger named `logger` (the caller's `__name__`)."""
    logging.getLogger(logger).warning("%s", message)
    warnings.warn(message, category, stacklevel=stacklevel + 1)
