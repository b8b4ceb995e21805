"""CircuitBreaker: stop calling a provider that keeps failing, and try it again later.

One circuit per provider and base URL, shared by every request in the process:
`closed` (calls go through) -> `open` after `failure_threshold` consecutive failures
(calls fail at once with CircuitOpenError, nothing is sent) -> `half_open` once
`recovery_time` has passed (one trial call goes through; success closes the circuit,
failure opens it again). Only failures that say the provider is unwell count: server
errors, rate limits, timeouts and connection errors; a bad request or a refused key
does not. With `timeout`, a call slower than that many seconds counts as a failure.
With a retry policy, a retry the circuit would refuse is not waited for: the run ends
with a CircuitOpenError whose `__cause__` is the last failure.

    llm.build("openai", msgs).with_circuit_breaker(failure_threshold=3).execute()
    circuits()   # {('openai', 'https://api.openai.com/v1'): Circuit(state='open', ...)}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConfigError,
    ProviderError,
)
from ..plug import Plug, check_seconds
from ..request import Request
from .execute_request import CIRCUIT_BREAKER

log = logging.getLogger(__name__)
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
MAX_SECONDS = 3600.0  # for recovery_time and timeout: more is most likely milliseconds


@dataclass
class Circuit:
    """The shared state of one provider and base URL."""

    provider: str
    base_url: str | None
    state: str = CLOSED
    failures: int = 0
    opened_at: float | None = None
    trial_started_at: float | None = None
    times_opened: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


_circuits: dict[tuple[str, str | None], Circuit] = {}
_registry_lock = threading.Lock()


def circuit_for(provider: str, base_url: str | None = None) -> Circuit:
    """The circuit of `provider` at `base_url` (created closed on first use)."""
    key = (provider, base_url)
    circuit = _circuits.get(key)
    if circuit is None:
        with _registry_lock:
            circuit = _circuits.setdefault(key, Circuit(provider, base_url))
    return circuit


def circuits() -> dict[tuple[str, str | None], Circuit]:
    """Every circuit of this process, by (provider, base URL)."""
    return dict(_circuits)


def reset_circuits() -> None:
    """Close and forget every circuit."""
    with _registry_lock:
        _circuits.clear()


def counts_as_failure(error: ProviderError) -> bool:
    """Whether `error` says the provider is unwell (not that the request was wrong)."""
    return not isinstance(error, (BadRequestError, AuthenticationError, CircuitOpenError))


class CircuitBreaker(Plug):
    """Opens after `failure_threshold` consecutive failures; lets one trial through after
    `recovery_time` seconds. `clock` replaces time.monotonic (tests)."""

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_time: float = 30.0,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ConfigError(
                "Plug CircuitBreaker option 'failure_threshold' must be 1 or more, "
                f"not {failure_threshold}."
            )
        check_seconds(self.name, "recovery_time", recovery_time, most=MAX_SECONDS)
        check_seconds(self.name, "timeout", timeout, most=MAX_SECONDS)
        self.failure_threshold = failure_threshold
        self.recovery_time = recovery_time
        self.timeout = timeout
        self.clock = clock
        self._started: dict[str, float] = {}

    def call(self, request: Request) -> Request:
        circuit = self._circuit(request)
        with circuit.lock:
            state = circuit.state
            if state == OPEN and self._wait_left(circuit, self.clock()) is None:
                state = HALF_OPEN  # recovered: this request is the trial
        return request.evolve(
            private={**request.private, CIRCUIT_BREAKER: self},
            metadata={**request.metadata, "circuit_state": state},
        )

    def _circuit(self, request: Request) -> Circuit:
        return circuit_for(request.provider, getattr(request.config, "base_url", None))

    # -- what ExecuteRequest asks -------------------------------------------------------

    def before_call(self, request: Request) -> None:
        """Let the attempt through, or raise CircuitOpenError without sending anything."""
        circuit = self._circuit(request)
        now = self.clock()
        with circuit.lock:
            remaining = self._wait_left(circuit, now)
            if remaining is not None:
                raise self._open_error(circuit, remaining)
            if circuit.state != CLOSED:  # a trial, or the last trial never reported back
                _changed(circuit, HALF_OPEN, "a trial call goes through")
                circuit.trial_started_at = now
        self._started[request.id] = now

    def refusal(self, request: Request, after: float = 0.0) -> CircuitOpenError | None:
        """The error a call `after` seconds from now would meet, or None if it would go
        through; changes nothing (a retry asks this before sleeping)."""
        circuit = self._circuit(request)
        now = self.clock()
        with circuit.lock:
            remaining = self._wait_left(circuit, now + after)
            return None if remaining is None else self._open_error(circuit, remaining + after)

    def record_failure(self, error: ProviderError, request: Request) -> None:
        self._started.pop(request.id, None)
        if counts_as_failure(error):
            self._fail(self._circuit(request))
        else:  # the provider answered: it is up, the request was at fault
            self._close(self._circuit(request))

    def record_success(self, request: Request) -> None:
        started = self._started.pop(request.id, None)
        circuit = self._circuit(request)
        if (
            self.timeout is not None
            and started is not None
            and self.clock() - started > self.timeout
        ):
            self._fail(circuit)
        else:
            self._close(circuit)

    # -- transitions ---------------------------------------------------------------------

    def _fail(self, circuit: Circuit) -> None:
        with circuit.lock:
            circuit.failures += 1
            if circuit.state == HALF_OPEN or (
                circuit.state == CLOSED and circuit.failures >= self.failure_threshold
            ):
                _changed(
                    circuit,
                    OPEN,
                    f"after {circuit.failures} consecutive failures; calls fail "
                    f"at once for {self.recovery_time:g} s",
                )
                circuit.opened_at = self.clock()
                circuit.trial_started_at = None
                circuit.times_opened += 1

    def _wait_left(self, circuit: Circuit, now: float) -> float | None:
        """Seconds until the circuit lets a call through at `now`, or None if it would."""
        if circuit.state == OPEN:
            since = now if circuit.opened_at is None else circuit.opened_at
        elif circuit.state == HALF_OPEN and circuit.trial_started_at is not None:
            since = circuit.trial_started_at
        else:
            return None
        left = self.recovery_time - (now - since)
        return left if left > 0 else None

    @staticmethod
    def _close(circuit: Circuit) -> None:
        with circuit.lock:
            if circuit.state != CLOSED:
                _changed(circuit, CLOSED, "the provider answered")
            circuit.failures = 0
            circuit.opened_at = circuit.trial_started_at = None

    def _open_error(self, circuit: Circuit, remaining: float) -> CircuitOpenError:
        where = f" at {circuit.base_url}" if circuit.base_url else ""
        if circuit.state == HALF_OPEN:
            why = "is half-open and its one trial call has not answered yet"
        else:
            n = circuit.failures
            why = f"is open after {n} consecutive failure{'' if n == 1 else 's'}"
        return CircuitOpenError(
            f"The circuit for '{circuit.provider}'{where} {why}, so nothing was sent: "
            f"try again in {remaining:.1f} s.",
            provider=circuit.provider,
            retry_after=remaining,
        )


def _changed(circuit: Circuit, state: str, why: str) -> None:
    """Move `circuit` to `state` (its lock held) and say so at INFO."""
    if circuit.state == state:
        return
    where = f" at {circuit.base_url}" if circuit.base_url else ""
    log.info("The circuit for '%s'%s is %s: %s.", circuit.provider, where, state, why)
    circuit.state = state
