"""The ledger: one cost row per finished request and one trace row per plug it ran.

Every request that finishes in any pipeline (simple API, builder, magic; answered,
cached, failed, halted or cancelled) is recorded by a pipeline listener as plain tuples
appended under a lock: a few microseconds, nothing more on the hot path. DataFrames,
summaries and plots are built only when asked, so pandas and matplotlib are imported
then and never at `import llmpipe_nb`.

    llm.costs(provider="openai", since="2024-06-01")   # one row per request
    llm.traces()                                        # one row per plug execution
    llm.ledger().summary()                              # per provider and model
    llm.ledger().persist("costs.sqlite")                # or LLMPIPE_LEDGER=costs.sqlite
    llm.Ledger.open("costs.sqlite").costs()             # the history, in a new kernel
"""

from ..tagging import tag
from .book import Ledger
from .process import LEDGER_ENV, costs, ledger, traces
from .rows import LedgerRows, rows_for
from .schema import COST_COLUMNS, COST_DTYPES, TRACE_COLUMNS, TRACE_DTYPES

__all__ = [
    "COST_COLUMNS",
    "COST_DTYPES",
    "LEDGER_ENV",
    "TRACE_COLUMNS",
    "TRACE_DTYPES",
    "Ledger",
    "LedgerRows",
    "costs",
    "ledger",
    "rows_for",
    "tag",
    "traces",
]
