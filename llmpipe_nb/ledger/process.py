"""The ledger of this process, and the pipeline listener that records every finished request.

Importing this module adds the listener, so the rows start with the first request.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from .. import pipeline
from ..errors import StoreError
from ..request import Request
from . import frames
from .book import Ledger

if TYPE_CHECKING:
    import pandas as pd

LEDGER_ENV = "LLMPIPE_LEDGER"
log = logging.getLogger("llmpipe_nb.ledger")

_ledger = Ledger()
_env_path: str | None = None
_env_lock = threading.Lock()


def ledger() -> Ledger:
    """The ledger of this process: every request any pipeline finished here."""
    return _ledger


def costs(**filters: Any) -> pd.DataFrame:
    """One row per request this process finished (see `Ledger.costs` for the filters)."""
    return _ledger.costs(**frames.known_filters(filters))


def traces(**filters: Any) -> pd.DataFrame:
    """One row per plug execution of the requests this process finished."""
    return _ledger.traces(**frames.known_filters(filters))


def _record(done: Request) -> None:
    """The pipeline listener: follows LLMPIPE_LEDGER, then records the request."""
    global _env_path
    path = os.environ.get(LEDGER_ENV) or None
    if path != _env_path:
        with _env_lock:
            if path != _env_path:
                _env_path = path
                if _ledger._store is None or _ledger._from_env:
                    try:
                        _ledger.persist(path)
                        _ledger._from_env = path is not None
                    except StoreError as error:  # the rows stay in memory
                        _ledger.persist(None)
                        log.warning("%s=%s is not used: %s", LEDGER_ENV, path, error)
    _ledger.record(done)


pipeline.add_listener(_record)
