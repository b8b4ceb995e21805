"""The caller's trace context carried to where a request runs out of its reach (Dask workers).

Threads and asyncio tasks started from the caller's code inherit its context already (the
batch loop's tasks included); a Dask worker does not, so a batch carries the context as
W3C `traceparent` headers, plain strings that pickle, and the worker attaches them around
its rows. Both do nothing, and import nothing, while instrumentation is off.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from .control import is_instrumented


def trace_carrier() -> dict[str, str] | None:
    """The current trace context as propagation headers, or None when there is none to carry."""
    if not is_instrumented():
        return None
    from opentelemetry import propagate

    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers or None


@contextmanager
def attached_trace(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block inside the trace context `carrier` holds (nothing happens without one)."""
    if not carrier or not is_instrumented():
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(dict(carrier)))
    try:
        yield
    finally:
        context.detach(token)
