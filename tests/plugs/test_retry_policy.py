"""RetryPolicy through the pipeline: the loopback server counts every attempt."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.retry_policy import RetryPolicy
from llmpipe_nb.testing import faults


def retrying(opts, sleeps, text="hello", **policy):
    policy.setdefault("jitter", 0.0)
    return llm.build("openai", text).with_options(**opts).with_retry(sleep=sleeps.append, **policy)


def test_429_with_retry_after_is_retried_and_every_attempt_is_recorded(
    openai_server, openai_opts, sleeps
):
    openai_server.inject(faults.http_error(429, headers={"retry-after": "0"}), times=2)
    answer = retrying(openai_opts, sleeps).execute()
    assert answer.content == "Echo: hello"
    assert len(openai_server.requests) == 3
    meta = answer.request.metadata
    assert meta["attempts"] == 3
    assert [a["status_code"] for a in meta["attempt_log"]] == [429, 429, 200]
    assert [a["outcome"] for a in meta["attempt_log"]] == ["RateLimitError"] * 2 + ["ok"]
    assert sleeps == [0.0, 0.0]
    step = next(s for s in answer.request.trace if s.plug == "ExecuteRequest")
    assert step.request.metadata["attempts"] == 3


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(openai_server, openai_opts, sleeps, status):
    openai_server.inject(faults.http_error(status))
    assert retrying(openai_opts, sleeps, max_attempts=2).execute().content == "Echo: hello"
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(openai_server, openai_opts, sleeps, status):
    openai_server.inject(faults.http_error(status), times=3)
    with pytest.raises(llm.ProviderError) as info:
        retrying(openai_opts, sleeps, max_attempts=3).execute()
    assert info.value.status_code == status
    assert len(openai_server.requests) == 1 and sleeps == []


def test_gives_up_after_max_attempts_with_the_last_error(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.http_error(503), times=5)
    with pytest.raises(llm.ServerError) as info:
        retrying(openai_opts, sleeps, max_attempts=4, base_delay=0.5).execute()
    assert len(openai_server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert info.value.request.metadata["attempts"] == 4


def test_retry_after_ms_is_honoured(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.http_error(429, headers={"retry-after-ms": "1500"}))
    retrying(openai_opts, sleeps).execute()
    assert sleeps == [1.5]


def test_retry_after_beyond_the_cap_gives_up_at_once(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.http_error(429, headers={"retry-after": "600"}))
    with pytest.raises(llm.RateLimitError) as info:
        retrying(openai_opts, sleeps, retry_after_cap=120).execute()
    assert info.value.retry_after == 600
    assert len(openai_server.requests) == 1 and sleeps == []


def test_a_dropped_connection_is_retried(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.drop_connection())
    assert retrying(openai_opts, sleeps).execute().content == "Echo: hello"
    assert len(openai_server.requests) == 2


def test_a_timeout_is_retried(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.delay(2.0))
    answer = retrying({**openai_opts, "timeout": 0.3}, sleeps).execute()
    assert answer.content == "Echo: hello"
    log = answer.request.metadata["attempt_log"]
    assert [a["outcome"] for a in log] == ["ProviderTimeoutError", "ok"]


def test_a_stream_that_failed_before_content_is_retried(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.http_error(500))
    stream = retrying(openai_opts, sleeps, "hello there").stream()
    assert stream.text() == "Echo: hello there"
    assert len(openai_server.requests) == 2


def test_a_stream_that_delivered_content_is_never_retried(openai_server, openai_opts, sleeps):
    openai_server.inject(faults.drop_connection(after_chunks=2))
    stream = retrying(openai_opts, sleeps, "hello there").stream()
    received = []
    with pytest.raises(llm.StreamInterruptedError) as info:
        for chunk in stream:
            received.append(chunk.content)
    assert "".join(received).startswith("Echo:")
    assert info.value.partial_text == "".join(received)
    assert len(openai_server.requests) == 1 and sleeps == []


async def test_async_retries_wait_with_the_injected_sleep(openai_server, openai_opts):
    waited = []

    async def asleep(seconds):
        waited.append(seconds)

    openai_server.inject(faults.http_error(502), times=2)
    b = llm.build("openai", "hi").with_options(**openai_opts)
    answer = await b.with_retry(sleep=asleep, jitter=0, base_delay=0.1).aexecute()
    assert answer.content == "Echo: hi" and waited == [0.1, 0.2]
    assert len(openai_server.requests) == 3


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("exponential", [1.0, 2.0, 4.0, 5.0, 5.0]),
        ("linear", [1.0, 2.0, 3.0, 4.0, 5.0]),
        ("constant", [1.0] * 5),
    ],
)
def test_backoff_shapes_are_capped(backoff, expected):
    policy = RetryPolicy(backoff=backoff, base_delay=1.0, max_delay=5.0, jitter=0)
    assert [policy.backoff_delay(n) for n in range(1, 6)] == expected


def test_jitter_takes_off_at_most_its_fraction():
    policy = RetryPolicy(base_delay=2.0, jitter=0.25)
    delays = [policy.backoff_delay(1) for _ in range(200)]
    assert all(1.5 <= d <= 2.0 for d in delays) and len(set(delays)) > 1


def test_the_mock_provider_retries_too(sleeps):
    mock = llm.providers.get("mock")
    mock.fail_next(llm.ServerError, times=2)
    answer = llm.build("mock", "hi").with_retry(sleep=sleeps.append).execute()
    assert answer.request.metadata["attempts"] == 3 and len(mock.requests) == 3


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"jitter": 2}, {"base_delay": -1}, {"backoff": "random"}],
    ids=["attempts", "jitter", "delay", "backoff"],
)
def test_bad_options_fail_when_built(options):
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_retry(**options)
