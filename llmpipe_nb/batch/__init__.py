"""Batch prompts over DataFrames: `llm.map`, `llm.amap`, `llm.estimate` and the `df.llm` accessor.

Imported on first use of `llm.map` (pandas is needed only then).
"""

from __future__ import annotations

from . import accessor  # noqa: F401 - registers df.llm and series.llm
from .api import amap, estimate, map
from .estimate import Estimate
from .job import BatchInterrupted

__all__ = ["BatchInterrupted", "Estimate", "amap", "estimate", "map"]
