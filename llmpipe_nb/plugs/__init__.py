"""Built-in plugs, one per module, all importable from here:

    from llmpipe_nb.plugs import Cache, RetryPolicy

Each is imported on first use, so importing this package loads no plug module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .budget import Budget
    from .build_http_client import BuildHttpClient
    from .cache import Cache, CacheWrite
    from .circuit_breaker import CircuitBreaker
    from .execute_request import ExecuteRequest
    from .fetch_config import FetchConfig
    from .manage_context import ManageContext
    from .rate_limiter import RateLimiter
    from .retry_policy import RetryPolicy
    from .track_cost import TrackCost
    from .validate_provider import ValidateProvider

#: every built-in plug, by the module that defines it
_MODULES = {
    "Budget": "budget",
    "BuildHttpClient": "build_http_client",
    "Cache": "cache",
    "CacheWrite": "cache",
    "CircuitBreaker": "circuit_breaker",
    "ExecuteRequest": "execute_request",
    "FetchConfig": "fetch_config",
    "ManageContext": "manage_context",
    "RateLimiter": "rate_limiter",
    "RetryPolicy": "retry_policy",
    "TrackCost": "track_cost",
    "ValidateProvider": "validate_provider",
}

__all__ = [
    "Budget",
    "BuildHttpClient",
    "Cache",
    "CacheWrite",
    "CircuitBreaker",
    "ExecuteRequest",
    "FetchConfig",
    "ManageContext",
    "RateLimiter",
    "RetryPolicy",
    "TrackCost",
    "ValidateProvider",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
