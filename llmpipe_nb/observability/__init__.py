"""Observability: OpenTelemetry spans and metrics per request, and the `llmpipe_nb` logger tree."""

from .control import instrument, instrument_from_env, is_instrumented, uninstrument
from .logs import log_to_notebook
from .propagation import attached_trace, trace_carrier

__all__ = [
    "attached_trace",
    "instrument",
    "instrument_from_env",
    "is_instrumented",
    "log_to_notebook",
    "trace_carrier",
    "uninstrument",
]
