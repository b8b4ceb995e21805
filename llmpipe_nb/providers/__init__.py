"""Providers: the base class, `register`, and the built-in providers (loaded on first use).

The registry itself lives in the core (`llmpipe_nb.registry`); `get`, `names` and
`get_pipeline` are re-exported here, where users look for them.
"""

from __future__ import annotations

from ..registry import get, get_pipeline, names
from .base import Provider
from .registration import register

__all__ = ["Provider", "get", "get_pipeline", "names", "register"]
