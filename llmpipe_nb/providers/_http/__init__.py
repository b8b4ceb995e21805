"""The HTTP transport (httpx2) every network provider shares, and the base class they extend.

`provider.py` is the base class and its error mapping, `pool.py` the one transport per
configuration, `transport.py` the sending, `events.py` the streamed answers.
"""

from .events import AsyncEvents, Events
from .pool import POOL_SIZE, close_transports, pooled_transport
from .provider import HttpProvider, parse_retry_after
from .transport import CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpTransport

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "POOL_SIZE",
    "AsyncEvents",
    "Events",
    "HttpProvider",
    "HttpTransport",
    "close_transports",
    "parse_retry_after",
    "pooled_transport",
]
