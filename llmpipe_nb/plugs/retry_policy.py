"""RetryPolicy: when a failed call is tried again, and after how long.

The plug only puts itself in `private`; ExecuteRequest asks it after each failed
attempt (`next_delay`) and sleeps through it, so every attempt shows in the
metadata (`attempts`, `attempt_log`) and in the execute step of the trace.

Retried: 408, 409, 429 and every 5xx (529 included), connection errors, timeouts,
and streams that broke before any content arrived. Never retried: 400, 401, 403,
404, 422, and a stream that already delivered content. A `retry_after` from the
provider is honoured up to `retry_after_cap` seconds; a longer one gives up at once,
so the caller sees the RateLimitError with its `retry_after`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Literal

from ..errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    StreamInterruptedError,
)
from ..plug import Plug, check_seconds
from ..request import Request
from .execute_request import RETRY_POLICY

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 409, 429})
NEVER_RETRY = frozenset({400, 401, 403, 404, 422})
# the most each delay option takes, in seconds: more is most likely milliseconds
MAX_BASE_DELAY = 60.0
MAX_DELAY = 600.0
MAX_RETRY_AFTER_CAP = 3600.0


def is_retryable(error: ProviderError) -> bool:
    """Whether a failed attempt may succeed if tried again unchanged."""
    status = error.status_code
    if status in NEVER_RETRY:
        return False
    if status in RETRY_STATUSES or (status is not None and 500 <= status <= 599):
        return True
    return isinstance(
        error, (ProviderConnectionError, ProviderTimeoutError, StreamInterruptedError)
    )


class RetryPolicy(Plug):
    """Retries transient failures with backoff: `max_attempts` in all, the first included.

    Delays grow `exponential`ly (base_delay * 2**n), `linear`ly (base_delay * n) or stay
    `constant`, capped at `max_delay`; `jitter` takes up to that fraction off at random
    (0: none, 1: full jitter). `sleep` replaces time.sleep / asyncio.sleep (tests).
    """

    def __init__(
        self,
        max_attempts: int = 3,
        backoff: Literal["exponential", "linear", "constant"] = "exponential",
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        jitter: float = 0.25,
        retry_after_cap: float = 120.0,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError(
                f"Plug RetryPolicy option 'max_attempts' must be 1 or more, not {max_attempts}."
            )
        check_seconds(self.name, "base_delay", base_delay, most=MAX_BASE_DELAY, zero=True)
        check_seconds(self.name, "max_delay", max_delay, most=MAX_DELAY, zero=True)
        check_seconds(
            self.name, "retry_after_cap", retry_after_cap, most=MAX_RETRY_AFTER_CAP, zero=True
        )
        if not 0 <= jitter <= 1:
            raise ConfigError(
                f"Plug RetryPolicy option 'jitter' must be a fraction from 0 to 1, not {jitter}."
            )
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.retry_after_cap = retry_after_cap
        self.sleep_fn = sleep
        self._random = random.Random()

    @property
    def options(self) -> dict[str, Any]:
        opts = super().options
        opts["sleep"] = self.sleep_fn
        return opts

    def call(self, request: Request) -> Request:
        return request.put_private(RETRY_POLICY, self)

    # -- what ExecuteRequest asks -------------------------------------------------------

    def next_delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up (both logged)."""
        delay = self._delay(error, attempt)
        status = "" if error.status_code is None else f" {error.status_code}"
        if delay is None and attempt > 1:
            log.info(
                "%s gave up after attempt %d of %d failed with %s%s.",
                error.provider or "the provider",
                attempt,
                self.max_attempts,
                type(error).__name__,
                status,
            )
        elif delay is not None:
            log.info(
                "%s retry %d of %d in %.2f s after %s%s.",
                error.provider or "the provider",
                attempt,
                self.max_attempts - 1,
                delay,
                type(error).__name__,
                status,
            )
        return delay

    def _delay(self, error: ProviderError, attempt: int) -> float | None:
        if attempt >= self.max_attempts or not is_retryable(error):
            return None
        if error.retry_after is not None:
            if error.retry_after > self.retry_after_cap:
                return None
            return max(0.0, float(error.retry_after))
        return self.backoff_delay(attempt)

    def backoff_delay(self, attempt: int) -> float:
        """The delay after failed attempt number `attempt` (1-based), jitter included."""
        if self.backoff == "exponential":
            delay = self.base_delay * 2 ** (attempt - 1)
        elif self.backoff == "linear":
            delay = self.base_delay * attempt
        else:
            delay = self.base_delay
        delay = min(delay, self.max_delay)
        return delay * (1 - self.jitter * self._random.random())

    def sleep(self, seconds: float) -> None:
        if self.sleep_fn is None:
            time.sleep(seconds)
        else:
            self.sleep_fn(seconds)

    async def asleep(self, seconds: float) -> None:
        if self.sleep_fn is None:
            await asyncio.sleep(seconds)
            return
        result = self.sleep_fn(seconds)
        if inspect.isawaitable(result):
            await result
