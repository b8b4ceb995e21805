"""Compare models side by side: `llm.compare` and `llm.acompare`.

Imported on first use of `llm.compare` (it builds on the batch engine, which loads pandas).
"""

from __future__ import annotations

from .api import ComparisonInterrupted, acompare, compare
from .result import Comparison

__all__ = ["Comparison", "ComparisonInterrupted", "acompare", "compare"]
