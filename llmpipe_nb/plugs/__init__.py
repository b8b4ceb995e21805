"""Built-in plugs, one per module."""

from .build_http_client import BuildHttpClient
from .execute_request import ExecuteRequest
from .fetch_config import FetchConfig
from .model_status import ModelStatus
from .track_cost import TrackCost
from .validate_provider import ValidateProvider

__all__ = [
    "BuildHttpClient",
    "ExecuteRequest",
    "FetchConfig",
    "ModelStatus",
    "TrackCost",
    "ValidateProvider",
]
