"""Time-valued plug options are seconds: a value that only makes sense as milliseconds, or
one that is not a finite number, is refused when the plug is built, naming the unit."""

from __future__ import annotations

import math

import pytest

import llmpipe_nb as llm

WITH = {
    "retry": lambda b, **o: b.with_retry(**o),
    "circuit": lambda b, **o: b.with_circuit_breaker(**o),
    "rate": lambda b, **o: b.with_rate_limit(requests_per_minute=60, **o),
}


@pytest.mark.parametrize(
    ("feature", "option", "milliseconds", "meant"),
    [
        ("retry", "base_delay", 1000, "1"),
        ("retry", "max_delay", 60_000, "60"),
        ("retry", "retry_after_cap", 120_000, "120"),
        ("circuit", "recovery_time", 30_000, "30"),
        ("circuit", "timeout", 5_000, "5"),
        ("rate", "max_wait", 60_000, "60"),
    ],
)
def test_a_value_in_milliseconds_is_refused_naming_the_unit(feature, option, milliseconds, meant):
    with pytest.raises(llm.ConfigError) as caught:
        WITH[feature](llm.build("mock", "hi"), **{option: milliseconds})
    message = str(caught.value)
    assert f"option '{option}' is {milliseconds:g} seconds" in message
    assert message.endswith(
        f"times are in seconds, so for {milliseconds:g} ms write {option}={meant}."
    )


@pytest.mark.parametrize(
    ("feature", "option", "value"),
    [
        ("retry", "base_delay", 60),
        ("retry", "max_delay", 600),
        ("retry", "retry_after_cap", 3600),
        ("circuit", "recovery_time", 3600),
        ("circuit", "timeout", 0.5),
        ("rate", "max_wait", 0),
    ],
)
def test_values_up_to_the_limit_are_taken(feature, option, value):
    b = WITH[feature](llm.build("mock", "hi"), **{option: value})
    assert b.execute().content


@pytest.mark.parametrize("value", [math.inf, math.nan, -1])
@pytest.mark.parametrize(
    ("feature", "plug", "option", "accepted"),
    [
        ("retry", "RetryPolicy", "base_delay", "from 0 to 60"),
        ("circuit", "CircuitBreaker", "recovery_time", "greater than 0 and at most 3600"),
        ("rate", "RateLimiter", "max_wait", "from 0 to 3600"),
    ],
)
def test_a_value_that_is_no_number_of_seconds_says_what_is_accepted(
    feature, plug, option, accepted, value
):
    with pytest.raises(llm.ConfigError) as caught:
        WITH[feature](llm.build("mock", "hi"), **{option: value})
    assert str(caught.value) == (
        f"Plug {plug} option '{option}' must be a number of seconds {accepted}, not {value!r}."
    )
