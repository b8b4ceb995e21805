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
    from .check_embeddings import CheckEmbeddings
    from .circuit_breaker import CircuitBreaker
    from .count_usage import CountUsage
    from .execute_request import ExecuteRequest
    from .fetch_config import FetchConfig
    from .manage_context import ManageContext
    from .model_status import ModelStatus
    from .rate_limiter import RateLimiter
    from .replay import RecordChunks, Replay, ReplayRecord
    from .retry_policy import RetryPolicy
    from .run_tools import RunTools
    from .semantic_cache import SemanticCache, SemanticWrite
    from .structured import ParseStructured, StructuredOutput
    from .track_cost import TrackCost
    from .validate_provider import ValidateProvider

#: every built-in plug, by the module that defines it
_MODULES = {
    "Budget": "budget",
    "BuildHttpClient": "build_http_client",
    "Cache": "cache",
    "CacheWrite": "cache",
    "CheckEmbeddings": "check_embeddings",
    "CircuitBreaker": "circuit_breaker",
    "CountUsage": "count_usage",
    "ExecuteRequest": "execute_request",
    "FetchConfig": "fetch_config",
    "ManageContext": "manage_context",
    "ModelStatus": "model_status",
    "ParseStructured": "structured",
    "RateLimiter": "rate_limiter",
    "RecordChunks": "replay",
    "Replay": "replay",
    "ReplayRecord": "replay",
    "RetryPolicy": "retry_policy",
    "RunTools": "run_tools",
    "SemanticCache": "semantic_cache",
    "SemanticWrite": "semantic_cache",
    "StructuredOutput": "structured",
    "TrackCost": "track_cost",
    "ValidateProvider": "validate_provider",
}

__all__ = [
    "Budget",
    "BuildHttpClient",
    "Cache",
    "CacheWrite",
    "CheckEmbeddings",
    "CircuitBreaker",
    "CountUsage",
    "ExecuteRequest",
    "FetchConfig",
    "ManageContext",
    "ModelStatus",
    "ParseStructured",
    "RateLimiter",
    "RecordChunks",
    "Replay",
    "ReplayRecord",
    "RetryPolicy",
    "RunTools",
    "SemanticCache",
    "SemanticWrite",
    "StructuredOutput",
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
