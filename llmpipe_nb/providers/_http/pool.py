"""The pool of transports: one per provider configuration, the POOL_SIZE most recently
used kept open, the others closed once their calls in flight finish (and all at exit)."""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from ...config import ProviderConfig
from .transport import HttpTransport

if TYPE_CHECKING:
    from .provider import HttpProvider

POOL_SIZE = 16  # provider configurations whose clients stay open

_pool: OrderedDict[tuple[str, ProviderConfig], HttpTransport] = OrderedDict()
_pool_lock = threading.Lock()


def pooled_transport(provider: HttpProvider, config: ProviderConfig) -> HttpTransport:
    """The one transport for this provider configuration, made on first use. One made for
    a provider registered again since, or pushed out of the pool, is retired."""
    key = (provider.name, config)
    retired = []
    with _pool_lock:
        transport = _pool.get(key)
        if transport is not None and transport.provider is provider:
            _pool.move_to_end(key)
            return transport
        if transport is not None:
            retired.append(transport)
        transport = _pool[key] = HttpTransport(provider, config)
        _pool.move_to_end(key)
        while len(_pool) > POOL_SIZE:
            retired.append(_pool.popitem(last=False)[1])
    for old in retired:
        old.retire()
    return transport


def close_transports() -> None:
    """Close every pooled client (at exit too, so no socket is left for the GC to warn about)."""
    with _pool_lock:
        transports = list(_pool.values())
        _pool.clear()
    for transport in transports:
        transport.close()


atexit.register(close_transports)
