"""`df.llm.map(prompt, ...)` and `series.llm.map(...)`: the batch API as a pandas accessor.

Registered when `llmpipe_nb.batch` is imported: by `import llmpipe_nb` when pandas is
already loaded, else on first use of `llm.map` / `llm.estimate`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd  # noqa: TID253 - this module exists to extend pandas

from . import api as batch


class LLMAccessor:
    """`obj.llm`: the batch calls with this DataFrame or Series as the data."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def map(
        self, prompt: Any, provider: str | None = None, model: str | None = None, **kw: Any
    ) -> Any:
        """`llm.map(obj, prompt, ...)`: one request per row, results aligned with the index."""
        return batch.map(self._obj, prompt, provider, model, **kw)

    async def amap(
        self, prompt: Any, provider: str | None = None, model: str | None = None, **kw: Any
    ) -> Any:
        return await batch.amap(self._obj, prompt, provider, model, **kw)

    def estimate(
        self, prompt: Any, provider: str | None = None, model: str | None = None, **kw: Any
    ) -> Any:
        """`llm.estimate(obj, prompt, ...)`: expected tokens and cost (nothing sent unless `pilot=`)."""
        return batch.estimate(self._obj, prompt, provider, model, **kw)


pd.api.extensions.register_dataframe_accessor("llm")(LLMAccessor)
pd.api.extensions.register_series_accessor("llm")(LLMAccessor)
