"""RateLimiter through the pipeline: spacing seen by the provider, and 1,000 concurrent requests."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmpipe_nb as llm


def arrivals():
    """Make the mock note the time each request reaches it."""
    seen: list[float] = []

    def respond(body):
        seen.append(time.monotonic())
        return "ok"

    llm.providers.get("mock").configure(respond=respond)
    return seen


def test_requests_are_spaced_by_the_limit():
    seen = arrivals()
    b = llm.build("mock", "hi").with_rate_limit(requests_per_minute=1200, burst=1)
    start = time.monotonic()
    for _ in range(6):
        b.execute()
    assert len(seen) == 6
    # 50 ms apart: the n-th request cannot reach the provider before start + n * 50 ms
    assert all(t - start >= n * 0.05 - 0.002 for n, t in enumerate(seen)), seen


def test_a_burst_goes_through_at_once_then_waits(sleeps):
    b = llm.build("mock", "hi").with_rate_limit(
        requests_per_minute=60, burst=3, clock=lambda: 0.0, sleep=sleeps.append
    )
    for _ in range(5):
        b.execute()
    assert sleeps == [pytest.approx(1.0), pytest.approx(2.0)]


def test_threads_share_one_bucket():
    seen = arrivals()
    b = llm.build("mock", "hi").with_rate_limit(requests_per_minute=3000, burst=1)
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: b.execute(), range(20)))
    assert len(seen) == 20
    arrived = sorted(seen)
    assert all(t - start >= n * 0.02 - 0.002 for n, t in enumerate(arrived)), arrived


async def test_1000_concurrent_requests_queue_in_order_without_loss():
    waits: list[float] = []

    async def asleep(seconds):
        waits.append(seconds)
        await asyncio.sleep(0)

    b = llm.build("mock", "hi").with_rate_limit(
        requests_per_minute=60_000, burst=1, clock=lambda: 50.0, sleep=asleep
    )
    answers = await asyncio.gather(*(b.aexecute() for _ in range(1000)))
    assert len(answers) == 1000 and len(llm.providers.get("mock").requests) == 1000
    assert sorted(waits) == pytest.approx([k / 1000 for k in range(1, 1000)])


async def test_1000_concurrent_requests_in_real_time():
    seen = arrivals()
    b = llm.build("mock", "hi").with_rate_limit(requests_per_minute=240_000, burst=50)
    start = time.monotonic()
    await asyncio.gather(*(b.aexecute() for _ in range(1000)))
    elapsed = time.monotonic() - start
    assert len(seen) == 1000
    assert elapsed >= (1000 - 50) / 4000 * 0.95  # 4,000 a second after the burst of 50


async def test_waiting_does_not_block_the_event_loop():
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    b = llm.build("mock", "hi").with_rate_limit(requests_per_minute=600, burst=1)
    await asyncio.gather(*(b.aexecute() for _ in range(3)))  # 0.2 s of waiting
    task.cancel()
    assert ticks >= 10


def test_raise_mode_refuses_without_sending():
    mock = llm.providers.get("mock")
    b = llm.build("mock", "hi").with_rate_limit(
        requests_per_minute=60, burst=1, on_limit="raise", clock=lambda: 0.0
    )
    b.execute()
    with pytest.raises(llm.RateLimitError) as info:
        b.execute()
    assert info.value.retry_after == pytest.approx(1.0)
    assert "not sent" in str(info.value)
    assert len(mock.requests) == 1


def test_a_wait_longer_than_max_wait_is_refused():
    b = llm.build("mock", "hi").with_rate_limit(
        requests_per_minute=1, burst=1, max_wait=5, clock=lambda: 0.0
    )
    b.execute()
    with pytest.raises(llm.RateLimitError):
        b.execute()


def test_tokens_per_minute_charges_the_prompt_and_max_tokens(sleeps):
    b = llm.build("mock", "x" * 400).with_options(max_tokens=100)  # ~104 + 100 tokens
    limited = b.with_rate_limit(tokens_per_minute=600, clock=lambda: 0.0, sleep=sleeps.append)
    for _ in range(3):
        limited.execute()
    cost = 400 // 4 + 4 + 100
    assert sleeps == [pytest.approx((3 * cost - 600) / 10)]
    assert limited.execute().request.metadata["rate_limit_wait_s"] == pytest.approx(
        (4 * cost - 600) / 10
    )


def test_a_request_larger_than_the_token_limit_is_refused():
    mock = llm.providers.get("mock")
    b = llm.build("mock", "x" * 4000).with_rate_limit(tokens_per_minute=100)
    with pytest.raises(llm.ConfigError, match="more than the tokens_per_minute limit of"):
        b.execute()
    assert mock.requests == []


def test_per_key_buckets_are_separate(openai_server, openai_opts, sleeps):
    def limited(key):
        b = llm.build("openai", "hi").with_options(**{**openai_opts, "api_key": key})
        return b.with_rate_limit(
            requests_per_minute=60, burst=1, per="key", clock=lambda: 0.0, sleep=sleeps.append
        )

    limited("sk-first-key-000000000").execute()
    limited("sk-second-key-00000000").execute()
    assert sleeps == []
    limited("sk-first-key-000000000").execute()
    assert sleeps == [pytest.approx(1.0)]
    assert len(openai_server.requests) == 3


def test_per_tag_buckets_are_separate(sleeps):
    def limited(tag):
        return (
            llm.build("mock", "hi")
            .with_tags(tag)
            .with_rate_limit(
                requests_per_minute=60, burst=1, per="tag", clock=lambda: 0.0, sleep=sleeps.append
            )
        )

    limited("a").execute()
    limited("b").execute()
    limited("a").execute()
    assert sleeps == [pytest.approx(1.0)]


def test_the_limiter_shows_in_the_trace():
    answer = llm.build("mock", "hi").with_rate_limit(requests_per_minute=100).execute()
    names = [s.plug for s in answer.request.trace]
    assert names.index("RateLimiter") == names.index("ExecuteRequest") - 1
    assert answer.request.metadata["rate_limit_wait_s"] == 0.0


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"requests_per_minute": 0},
        {"tokens_per_minute": -5},
        {"requests_per_minute": 1, "burst": 0},
    ],
    ids=["none", "zero-rpm", "negative-tpm", "burst"],
)
def test_bad_options_fail_when_built(options):
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_rate_limit(**options)
