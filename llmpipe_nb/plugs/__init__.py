"""Built-in plugs, one per module."""

from .build_http_client import BuildHttpClient
from .check_embeddings import CheckEmbeddings
from .count_usage import CountUsage
from .execute_request import ExecuteRequest
from .fetch_config import FetchConfig
from .model_status import ModelStatus
from .track_cost import TrackCost
from .validate_provider import ValidateProvider

__all__ = [
    "BuildHttpClient",
    "CheckEmbeddings",
    "CountUsage",
    "ExecuteRequest",
    "FetchConfig",
    "ModelStatus",
    "TrackCost",
    "ValidateProvider",
]
