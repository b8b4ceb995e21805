"""`MockProvider`: the deterministic in-process provider, scripted through `configure()` and `fail_next()`."""

from __future__ import annotations

from typing import Any

from ...request import Request
from ...transport import HttpCall
from ..base import Provider
from .plugs import MockParseResponse, MockPrepareRequest, MockStreamDecoder
from .server import MockTransport
from .state import MockState

#: what the mock accepts for a chat: the options every chat provider maps, and its own
CHAT_OPTIONS = frozenset(
    {
        *("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed"),
        *("tools", "tool_choice", "response_format", "extra_body"),
        *("mock_reply", "mock_latency", "mock_chunk_latency"),
    }
)


class MockProvider(Provider):
    """Deterministic in-process provider; configure it with `configure()` and `fail_next()`."""

    name = "mock"
    default_model = "mock-1"
    default_embedding_model = "mock-embed-1"
    requires_key = False
    local = True
    plugs = {
        kind: (MockPrepareRequest, MockParseResponse)
        for kind in ("chat", "stream", "embeddings", "completion", "list_models", "validate")
    }
    request_options = {
        **dict.fromkeys(("chat", "stream", "completion"), CHAT_OPTIONS),
        "embeddings": frozenset({"mock_latency"}),
    }

    def __init__(self) -> None:
        self.state = MockState()
        self.transport = MockTransport(self.state)

    def client(self, config: Any) -> MockTransport:
        return self.transport

    def stream_decoder(self, request: Request) -> MockStreamDecoder:
        return MockStreamDecoder()

    # the script, delegated to the state ------------------------------------------------

    def configure(self, **settings: Any) -> None:
        """Script the mock: reply, replies, respond, latency, chunk_latency, chunk_size, ..."""
        self.state.configure(**settings)

    def fail_next(
        self, error: type[BaseException] | BaseException, times: int = 1, **kw: Any
    ) -> None:
        """Make the next `times` calls raise `error` (e.g. llm.RateLimitError, retry_after=1)."""
        self.state.fail_next(error, times, **kw)

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        self.state.reset()

    @property
    def requests(self) -> list[HttpCall]:
        """Every call the mock received, in order."""
        return self.state.requests
