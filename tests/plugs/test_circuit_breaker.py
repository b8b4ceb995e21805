"""CircuitBreaker through the pipeline: an open circuit sends nothing to the loopback server."""

from __future__ import annotations

import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.circuit_breaker import circuit_for, circuits
from llmpipe_nb.testing import FakeServer, faults


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guarded(opts, clock, **breaker):
    b = llm.build("openai", "hi").with_options(**opts)
    return b.with_circuit_breaker(clock=clock, **breaker)


def fail(builder, error=llm.ProviderError):
    with pytest.raises(error):
        builder.execute()


def test_opens_after_the_threshold_and_rejects_without_calling(openai_server, openai_opts):
    clock = Clock()
    b = guarded(openai_opts, clock, failure_threshold=3, recovery_time=30)
    openai_server.inject(faults.http_error(500), times=3)
    for _ in range(3):
        fail(b, llm.ServerError)
    assert len(openai_server.requests) == 3
    circuit = circuit_for("openai", openai_server.base_url)
    assert circuit.state == "open" and circuit.failures == 3
    with pytest.raises(llm.CircuitOpenError) as info:
        b.execute()
    assert len(openai_server.requests) == 3  # nothing was sent
    assert info.value.retry_after == pytest.approx(30)
    assert "try again in 30.0 s" in str(info.value)


def test_half_open_lets_one_trial_through_and_success_closes(openai_server, openai_opts):
    clock = Clock()
    b = guarded(openai_opts, clock, failure_threshold=1, recovery_time=10)
    openai_server.inject(faults.http_error(503))
    fail(b, llm.ServerError)
    clock.now += 9.9
    fail(b, llm.CircuitOpenError)
    clock.now += 0.2
    assert b.execute().content == "Echo: hi"
    assert circuit_for("openai", openai_server.base_url).state == "closed"
    assert b.execute().content == "Echo: hi"
    assert len(openai_server.requests) == 3


def test_a_clock_that_starts_at_zero_still_half_opens(openai_server, openai_opts):
    clock = Clock()
    clock.now = 0.0  # the circuit opens at time 0.0, a falsy but real moment
    b = guarded(openai_opts, clock, failure_threshold=2, recovery_time=10)
    openai_server.inject(faults.http_error(503), times=2)
    fail(b, llm.ServerError)
    fail(b, llm.ServerError)
    assert circuit_for("openai", openai_server.base_url).opened_at == 0.0
    clock.now = 9.0
    with pytest.raises(llm.CircuitOpenError) as info:
        b.execute()
    assert info.value.retry_after == pytest.approx(1.0)
    clock.now = 11.0
    assert b.execute().content == "Echo: hi"  # the trial went through and closed it
    assert circuit_for("openai", openai_server.base_url).state == "closed"
    assert len(openai_server.requests) == 3


def test_a_failed_trial_opens_again(openai_server, openai_opts):
    clock = Clock()
    b = guarded(openai_opts, clock, failure_threshold=2, recovery_time=10)
    openai_server.inject(faults.http_error(500), times=3)
    fail(b)
    fail(b)
    clock.now += 10
    fail(b, llm.ServerError)  # the trial
    circuit = circuit_for("openai", openai_server.base_url)
    assert circuit.state == "open" and circuit.times_opened == 2
    fail(b, llm.CircuitOpenError)
    assert len(openai_server.requests) == 3


def test_only_one_trial_at_a_time_while_half_open(openai_opts):
    clock = Clock()
    b = guarded(openai_opts, clock, failure_threshold=1, recovery_time=5)
    request = b.request()
    breaker = b.pipeline()[[p.name for p in b.pipeline()].index("CircuitBreaker")]
    circuit = circuit_for("openai", openai_opts["base_url"])
    circuit.state, circuit.opened_at = "open", clock.now
    clock.now += 5
    configured = request.evolve(
        config=llm.ProviderConfig("openai", base_url=openai_opts["base_url"])
    )
    breaker.before_call(configured)  # the trial
    with pytest.raises(llm.CircuitOpenError):
        breaker.before_call(configured.evolve(id="another"))
    assert circuit.state == "half_open"


def test_client_errors_do_not_count(openai_server, openai_opts):
    b = guarded(openai_opts, Clock(), failure_threshold=2)
    openai_server.inject(faults.http_error(400), times=4)
    for _ in range(4):
        fail(b, llm.BadRequestError)
    assert circuit_for("openai", openai_server.base_url).state == "closed"
    assert len(openai_server.requests) == 4


def test_a_success_resets_the_count(openai_server, openai_opts):
    b = guarded(openai_opts, Clock(), failure_threshold=2)
    openai_server.inject(faults.http_error(500))
    fail(b)
    b.execute()
    openai_server.inject(faults.http_error(500))
    fail(b)
    assert circuit_for("openai", openai_server.base_url).state == "closed"


def test_circuits_are_per_provider_and_base_url(openai_server, openai_opts):
    clock = Clock()
    openai_server.inject(faults.http_error(500))
    fail(guarded(openai_opts, clock, failure_threshold=1))
    with FakeServer("openai") as other:
        answer = guarded({**openai_opts, "base_url": other.base_url}, clock, failure_threshold=1)
        assert answer.execute().content == "Echo: hi"
        states = {key: c.state for key, c in circuits().items()}
        assert states[("openai", openai_server.base_url)] == "open"
        assert states[("openai", other.base_url)] == "closed"


def test_a_slow_success_counts_as_a_failure_with_timeout():
    clock = Clock()
    mock = llm.providers.get("mock")

    def slow(body):
        clock.now += 3
        return "late"

    mock.configure(respond=slow)
    b = llm.build("mock", "hi").with_circuit_breaker(failure_threshold=1, timeout=2, clock=clock)
    assert b.execute().content == "late"
    assert circuit_for("mock").state == "open"
    fail(b, llm.CircuitOpenError)
    assert len(mock.requests) == 1


def test_retries_stop_once_the_circuit_opens(openai_server, openai_opts):
    openai_server.inject(faults.http_error(500), times=5)
    b = guarded(openai_opts, Clock(), failure_threshold=2).with_retry(
        max_attempts=5, sleep=lambda s: None
    )
    fail(b, llm.CircuitOpenError)
    assert len(openai_server.requests) == 2


def test_the_state_shows_in_metadata(openai_opts):
    answer = guarded(openai_opts, Clock()).execute()
    assert answer.request.metadata["circuit_state"] == "closed"


@pytest.mark.parametrize(
    "options",
    [{"failure_threshold": 0}, {"recovery_time": 0}, {"timeout": -1}],
    ids=["threshold", "recovery", "timeout"],
)
def test_bad_options_fail_when_built(options):
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_circuit_breaker(**options)


def _retried(opts, clock, slept, **breaker):
    def sleep(seconds):
        slept.append(seconds)
        clock.now += seconds

    b = llm.build("openai", "hi").with_options(**opts)
    b = b.with_retry(max_attempts=10, base_delay=0.5, jitter=0, sleep=sleep)
    return b.with_circuit_breaker(clock=clock, **breaker)


def _finished(builder, how):
    """The finished request of a run that ends in an error, by each way to run."""
    if how == "run":
        return builder.run()
    if how == "arun":
        return asyncio.run(builder.arun())
    stream = builder.stream()
    with pytest.raises(llm.LLMPipeError):
        stream.text()
    return stream.request


@pytest.mark.parametrize("how", ["run", "arun", "stream"])
def test_a_refused_retry_keeps_the_attempts_and_chains_the_last_failure(
    openai_server, openai_opts, how
):
    clock, slept = Clock(), []
    openai_server.inject(faults.http_error(500), times=10)
    done = _finished(_retried(openai_opts, clock, slept, failure_threshold=3), how)

    assert len(openai_server.requests) == 3
    assert slept == [0.5, 1.0]  # no sleep before the call the open circuit refuses
    error = done.terminal_error
    assert isinstance(error, llm.CircuitOpenError)
    assert isinstance(error.__cause__, llm.ServerError) and error.__cause__.status_code == 500
    assert "after 3 calls" in str(error) and "ServerError 500" in str(error)
    assert error.retry_after == pytest.approx(30)
    meta = done.metadata
    assert meta["attempts"] == 3 and meta["latency_ms"] > 0
    assert [a["outcome"] for a in meta["attempt_log"]] == ["ServerError"] * 3
    assert [a["retry_in_s"] for a in meta["attempt_log"]] == [0.5, 1.0, None]
    row = llm.costs().iloc[-1]
    assert (row.status, row.attempts, row.error_type) == ("error", 3, "CircuitOpenError")


def test_the_raised_error_chains_the_last_failure(openai_server, openai_opts):
    openai_server.inject(faults.http_error(503), times=10)
    with pytest.raises(llm.CircuitOpenError) as info:
        _retried(openai_opts, Clock(), [], failure_threshold=2).execute()
    assert isinstance(info.value.__cause__, llm.ServerError)
    assert info.value.request.metadata["attempts"] == 2


def test_a_circuit_opened_elsewhere_during_the_wait_refuses_the_retry(openai_server, openai_opts):
    clock = Clock()
    circuit = circuit_for("openai", openai_server.base_url)

    def sleep(seconds):  # another request opens the circuit while this one waits
        circuit.state, circuit.opened_at, circuit.failures = "open", clock.now, 5

    b = llm.build("openai", "hi").with_options(**openai_opts)
    b = b.with_retry(max_attempts=5, sleep=sleep).with_circuit_breaker(clock=clock)
    openai_server.inject(faults.http_error(500), times=5)
    with pytest.raises(llm.CircuitOpenError) as info:
        b.execute()
    assert len(openai_server.requests) == 1
    assert "after 1 call " in str(info.value)
    assert isinstance(info.value.__cause__, llm.ServerError)
    assert info.value.request.metadata["attempts"] == 1


def test_a_retry_that_waits_past_the_recovery_time_is_the_trial(openai_server, openai_opts):
    clock, slept = Clock(), []
    openai_server.inject(faults.http_error(500))
    b = _retried(openai_opts, clock, slept, failure_threshold=1, recovery_time=0.4)
    answer = b.execute()
    assert answer.content == "Echo: hi" and slept == [0.5]
    assert answer.request.metadata["attempts"] == 2
    assert circuit_for("openai", openai_server.base_url).state == "closed"


def test_a_refused_first_call_sends_nothing_and_has_no_cause(openai_server, openai_opts):
    clock = Clock()
    openai_server.inject(faults.http_error(500))
    fail(guarded(openai_opts, clock, failure_threshold=1), llm.ServerError)
    with pytest.raises(llm.CircuitOpenError) as info:
        _retried(openai_opts, clock, [], failure_threshold=1).execute()
    assert info.value.__cause__ is None and "nothing was sent" in str(info.value)
    assert len(openai_server.requests) == 1


def test_the_trial_call_of_a_half_open_circuit_says_half_open(openai_server, openai_opts):
    clock = Clock()
    b = guarded(openai_opts, clock, failure_threshold=1, recovery_time=10)
    openai_server.inject(faults.http_error(503))
    fail(b, llm.ServerError)
    with pytest.raises(llm.CircuitOpenError) as refused:
        b.execute()
    assert "is open after 1 consecutive failure, so nothing was sent" in str(refused.value)
    clock.now += 10.1
    trial = b.execute()
    assert trial.request.metadata["circuit_state"] == "half_open"
    assert b.execute().request.metadata["circuit_state"] == "closed"


def test_a_call_during_the_trial_is_refused_saying_why(openai_opts):
    clock = Clock()
    circuit = circuit_for("openai", openai_opts["base_url"])
    circuit.state, circuit.trial_started_at, circuit.failures = "half_open", clock.now, 2
    with pytest.raises(llm.CircuitOpenError) as refused:
        guarded(openai_opts, clock, recovery_time=10).execute()
    assert "is half-open and its one trial call has not answered yet" in str(refused.value)
