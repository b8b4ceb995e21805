"""The `mock` provider: deterministic, in-process, no network; the embedded default.

It runs through the same plugs as the HTTP providers (its transport answers in-process
instead of over a socket), so everything built on pipelines can be shown and tested
offline. The same input always gives the same output and the same usage.

    mock = llm.providers.get("mock")
    mock.configure(replies=["first", "second"], latency=0.2, chunk_size=4)
    mock.fail_next(llm.RateLimitError, times=2)
    mock.requests          # what it received
    mock.reset()

Offered tools, it asks for each once and then answers with their results (`tools.py`).
`state.py` is the script, `server.py` the in-process server it drives, `plugs.py` the
prepare and parse plugs, `provider.py` the provider that ties them together.
"""

from .plugs import MockParseResponse, MockPrepareRequest, MockStreamDecoder
from .provider import CHAT_OPTIONS, MockProvider
from .server import MockEvents, MockTransport
from .state import MODELS, SETTINGS, MockState, default_reply

__all__ = [
    "CHAT_OPTIONS",
    "MODELS",
    "SETTINGS",
    "MockEvents",
    "MockParseResponse",
    "MockPrepareRequest",
    "MockProvider",
    "MockState",
    "MockStreamDecoder",
    "MockTransport",
    "default_reply",
]
