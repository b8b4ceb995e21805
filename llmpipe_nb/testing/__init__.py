"""Loopback fake servers that speak the providers' wire formats, for tests and demos.

`FakeServer("openai" | "anthropic" | "gemini" | "ollama")` serves real HTTP on
127.0.0.1 with deterministic replies (`echo`) and faults on request (`faults`). The
OpenAI and Anthropic fakes also run Batch API jobs, steered by `batch_script`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmpipe_nb.testing import echo, faults
from llmpipe_nb.testing.faults import Fault
from llmpipe_nb.testing.wire import RecordedRequest

if TYPE_CHECKING:
    from llmpipe_nb.testing.server import FakeServer

__all__ = ["FakeServer", "Fault", "RecordedRequest", "echo", "faults"]


def __getattr__(name: str) -> object:
    # Imported on first use so `python -m llmpipe_nb.testing.server` runs the module once.
    if name == "FakeServer":
        from llmpipe_nb.testing.server import FakeServer

        return FakeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
