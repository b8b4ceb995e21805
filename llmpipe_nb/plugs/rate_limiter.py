"""RateLimiter: keep requests and tokens per minute under a limit, per provider.

Token buckets that refill continuously: `requests_per_minute` (a burst of `burst`
requests, default the whole minute's worth) and `tokens_per_minute` (the prompt's
estimated tokens plus the requested `max_tokens`, charged before the call). Each
request reserves its share under one lock and learns how long to wait, so 1,000
concurrent requests queue in arrival order without polling; the async path waits
with asyncio.sleep and never blocks the event loop. With `on_limit="raise"` (or a
wait longer than `max_wait`) the request fails at once with RateLimitError instead.

Buckets are shared by every request of the process with the same scope and limits:
`per="provider"` (default), `"key"` (provider and API key, kept only as a hash) or
`"tag"` (provider and the request's tags).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from ..errors import ConfigError, RateLimitError
from ..plug import Plug, check_seconds
from ..request import Request
from ..tokens import estimate_message_tokens, estimate_tokens


class Bucket:
    """A token bucket: `capacity` at most, refilled at `rate` per second; may go into debt."""

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.last = now

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until `cost` is available, counting every reservation made before."""
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
        return max(0.0, (cost - self.tokens) / self.rate)


MAX_WAIT = 3600.0  # seconds; more is most likely milliseconds
_buckets: dict[tuple[Any, ...], Bucket] = {}
_lock = threading.Lock()


def reset_rate_limits() -> None:
    """Forget every bucket (they start full again)."""
    with _lock:
        _buckets.clear()


def request_tokens(request: Request) -> int:
    """The tokens a request is charged: its estimated prompt plus the output it asks for."""
    if request.kind == "embeddings":
        prompt = sum(estimate_tokens(str(m)) for m in request.messages)
    else:
        prompt = estimate_message_tokens(request.messages)
    out = request.options.get("max_tokens") or request.options.get("max_completion_tokens") or 0
    return prompt + (out if isinstance(out, int) else 0)


class RateLimiter(Plug):
    """Waits (or refuses) so that requests and tokens per minute stay under the limits."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        burst: int | None = None,
        per: Literal["provider", "key", "tag"] = "provider",
        on_limit: Literal["wait", "raise"] = "wait",
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        if requests_per_minute is None and tokens_per_minute is None:
            raise ConfigError(
                "Plug RateLimiter needs a limit: pass requests_per_minute=, tokens_per_minute= "
                "or both."
            )
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
        ):
            if value is not None and not 0 < value < math.inf:
                raise ConfigError(
                    f"Plug RateLimiter option '{name}' must be a number greater than 0, "
                    f"not {value!r}."
                )
        if burst is not None and burst < 1:
            raise ConfigError(f"Plug RateLimiter option 'burst' must be 1 or more, not {burst!r}.")
        check_seconds(self.name, "max_wait", max_wait, most=MAX_WAIT, zero=True)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.burst = burst
        self.per = per
        self.on_limit = on_limit
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep

    def call(self, request: Request) -> Request:
        request, wait = self._reserve(request)
        if wait:
            (self.sleep or time.sleep)(wait)
        return request

    async def acall(self, request: Request) -> Request:
        request, wait = self._reserve(request)
        if wait:
            if self.sleep is None:
                await asyncio.sleep(wait)
            else:
                result = self.sleep(wait)
                if inspect.isawaitable(result):
                    await result
        return request

    def _scope(self, request: Request) -> tuple[Any, ...]:
        if self.per == "key":
            key = getattr(request.config, "api_key", None)
            secret = key.get_secret_value() if key is not None else ""
            return (request.provider, hashlib.sha256(secret.encode()).hexdigest()[:16])
        if self.per == "tag":
            return (request.provider, tuple(request.metadata.get("tags", ())))
        return (request.provider,)

    def _charges(self, request: Request, now: float) -> list[tuple[Bucket, float]]:
        scope = self._scope(request)
        charges: list[tuple[Bucket, float]] = []
        if self.requests_per_minute is not None:
            rpm = self.requests_per_minute
            capacity = float(self.burst if self.burst is not None else max(1.0, rpm))
            key = (scope, "requests", rpm, capacity)
            bucket = _buckets.get(key) or _buckets.setdefault(key, Bucket(capacity, rpm / 60, now))
            charges.append((bucket, 1.0))
        if self.tokens_per_minute is not None:
            tpm = self.tokens_per_minute
            cost = float(request_tokens(request))
            if cost > tpm:
                raise ConfigError(
                    f"This request needs about {int(cost)} tokens, more than the "
                    f"tokens_per_minute limit of {tpm:g}: raise the limit or shorten the prompt."
                )
            key = (scope, "tokens", tpm, tpm)
            bucket = _buckets.get(key) or _buckets.setdefault(key, Bucket(tpm, tpm / 60, now))
            charges.append((bucket, cost))
        return charges

    def _reserve(self, request: Request) -> tuple[Request, float]:
        now = self.clock()
        with _lock:
            charges = self._charges(request, now)
            wait = max(bucket.wait_for(cost, now) for bucket, cost in charges)
            refuse = wait > 0 and (self.on_limit == "raise" or wait > self.max_wait)
            if not refuse:
                for bucket, cost in charges:
                    bucket.tokens -= cost
        if refuse:
            error = RateLimitError(
                f"The local rate limit for '{request.provider}' is reached and the request "
                f"would have to wait {wait:.2f} s, so it was not sent: retry then, or raise "
                "the limit.",
                provider=request.provider,
                retry_after=wait,
            )
            return request.add_error(error, terminal=True, plug=self.name), 0.0
        return request.put_metadata("rate_limit_wait_s", wait), wait
