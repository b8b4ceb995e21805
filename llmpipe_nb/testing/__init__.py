"""Loopback fake servers that speak the providers' wire formats, for tests and demos.

`FakeServer("openai" | "anthropic" | "gemini" | "ollama")` serves real HTTP on
127.0.0.1 with deterministic replies (`echo`) and faults on request (`faults`).
"""

from llmpipe_nb.testing import echo, faults
from llmpipe_nb.testing.faults import Fault
from llmpipe_nb.testing.server import FakeServer
from llmpipe_nb.testing.wire import RecordedRequest

__all__ = ["FakeServer", "Fault", "RecordedRequest", "echo", "faults"]
