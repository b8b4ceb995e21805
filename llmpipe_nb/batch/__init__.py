"""Batch prompts over DataFrames: `llm.map`, `llm.amap`, `llm.estimate` and the `df.llm` accessor,
and provider batch jobs (`engine="batch"`, `llm.batch_jobs()`, `llm.batch_job(id)`).

Imported on first use of `llm.map` (pandas is needed only then).
"""

from __future__ import annotations

from . import accessor  # noqa: F401 - registers df.llm and series.llm
from .api import amap, estimate, map
from .estimate import Estimate
from .handle import BatchJob
from .job import BatchInterrupted
from .jobs import batch_job, batch_jobs

__all__ = [
    "BatchInterrupted",
    "BatchJob",
    "Estimate",
    "amap",
    "batch_job",
    "batch_jobs",
    "estimate",
    "map",
]
