"""Turning OpenTelemetry on and off: `llm.instrument()`, `llm.uninstrument()`, the environment.

Off (the default) no listener is registered, so a request costs exactly what it did
without this package. On, one listener writes the spans and metric points of each
finished request. With `OTEL_SERVICE_NAME` or an OTLP endpoint in the environment and
OpenTelemetry installed, importing the package registers a listener that instruments
itself at the first finished request, so the import itself stays free of OpenTelemetry.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .. import pipeline
from ..errors import ConfigError, MissingDependencyError
from ..request import Request

#: variables that say traces are wanted
ENV_TRIGGERS = (
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
NAME = "llmpipe_nb"

_lock = threading.Lock()
_current: Callable[[Request], None] | None = None


def _emit(done: Request) -> None:
    """The one listener registered while instrumentation is on."""
    current = _current
    if current is not None:
        current(done)


def instrument(
    tracer_provider: Any = None, meter_provider: Any = None, capture_content: bool = False
) -> None:
    """Send a span per request (a child per plug) and the GenAI metrics through OpenTelemetry.

    The providers default to the global ones (`opentelemetry.trace.set_tracer_provider`);
    message content is exported only with `capture_content=True` or
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. Calling it again replaces the
    earlier settings.
    """
    if not isinstance(capture_content, bool):
        raise ConfigError(f"capture_content must be True or False, not {capture_content!r}.")
    try:
        from .otel import Instrumentation
    except ImportError:
        raise MissingDependencyError("opentelemetry-api", "otel") from None
    capture = capture_content or os.environ.get(CAPTURE_ENV, "").strip().lower() == "true"
    _install(Instrumentation(tracer_provider, meter_provider, capture))


def uninstrument() -> None:
    """Stop sending spans and metrics; requests cost what they cost before `instrument()`."""
    global _current
    with _lock:
        _current = None
        pipeline.remove_listener(_emit)


def is_instrumented() -> bool:
    """Whether finished requests are turned into spans (or will be, from the environment)."""
    return _current is not None


def instrument_from_env(environ: Mapping[str, str] = os.environ) -> bool:
    """Instrument at the first request when the OTEL_* variables ask for traces and
    OpenTelemetry is installed; True if it will. Imports nothing of OpenTelemetry."""
    if not any(environ.get(name) for name in ENV_TRIGGERS):
        return False
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    disabled = environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    if NAME in (d.strip() for d in disabled.split(",")):
        return False
    if importlib.util.find_spec("opentelemetry") is None:
        return False
    _install(_first_request)
    return True


def _first_request(done: Request) -> None:
    """Instrument with the environment's providers, then record this first request."""
    global _current
    with _lock:
        if _current is _first_request:
            from .autoconfig import configure

            configure()
            from .otel import Instrumentation

            capture = os.environ.get(CAPTURE_ENV, "").strip().lower() == "true"
            _current = Instrumentation(None, None, capture)
        current = _current
    if current is not None:
        current(done)


def _install(listener: Callable[[Request], None]) -> None:
    global _current
    with _lock:
        _current = listener
        pipeline.add_listener(_emit)
