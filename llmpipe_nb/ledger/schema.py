"""The ledger's columns and their dtypes: shared by the rows, the DataFrames and the SQLite file."""

from __future__ import annotations

from collections.abc import Mapping

#: column -> dtype of `costs()`, in order
COST_DTYPES: Mapping[str, str] = {
    "request_id": "string",
    "ts": "datetime64[ns, UTC]",
    "provider": "string",
    "model": "string",
    "kind": "string",
    "status": "string",  # the request's state: completed, halted, cancelled or error
    "input_tokens": "int64",
    "output_tokens": "int64",
    "cached_input_tokens": "int64",
    "reasoning_tokens": "int64",
    "estimated": "bool",  # the server sent no token counts: they were counted here
    "cost_usd": "float64",
    "cost_status": "string",
    "cost_saved_usd": "float64",
    "latency_ms": "float64",
    "ttft_ms": "float64",
    "tokens_per_s": "float64",  # output tokens per second of compute, where measured (local)
    "cache_hit": "bool",
    "attempts": "int64",
    "error_type": "string",
    "tags": "object",  # a tuple of strings
}
#: column -> dtype of `traces()`, in order
TRACE_DTYPES: Mapping[str, str] = {
    "request_id": "string",
    "step": "int64",
    "plug": "string",
    "started_at": "datetime64[ns, UTC]",
    "duration_us": "float64",
    "outcome": "string",
    "note": "string",
}
COST_COLUMNS = tuple(COST_DTYPES)
TRACE_COLUMNS = tuple(TRACE_DTYPES)
