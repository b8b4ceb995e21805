"""Error messages read well: each names the problem and what to do, lists what is accepted
when a value is refused, and never nests parentheses (text quoted from elsewhere aside)."""

from __future__ import annotations

import re

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import faults

KEY = "sk-messages-0123456789"


def nested_parentheses(message: str) -> bool:
    depth = 0
    for char in re.sub(r'"[^"]*"', '""', message):  # quoted text is someone else's words
        depth += (char == "(") - (char == ")")
        if depth > 1:
            return True
    return False


def refused(call) -> str:
    with pytest.raises(llm.LLMPipeError) as caught:
        call()
    message = str(caught.value)
    assert not nested_parentheses(message), message
    return message


def test_the_nesting_check_sees_nesting_outside_quotes_only():
    assert nested_parentheses("a (b (c)) d")
    assert not nested_parentheses('a (b) "c (d (e))" (f)')


@pytest.mark.parametrize(
    ("call", "accepted"),
    [
        (
            lambda: llm.chat("mock", "hi", cache="sqlite"),
            "must be True, False, 'no-store', 'refresh' or 'no-cache', not 'sqlite': to keep "
            "answers in sqlite, build with with_cache(store='sqlite').",
        ),
        (
            lambda: llm.build("mock", "hi").with_cache(store="disk"),
            "use one of 'memory', 'sqlite', 'redis', or pass a CacheStore instance.",
        ),
        (
            lambda: llm.build("mock", "hi").with_retry(backoff="random"),
            "'backoff' must be one of 'exponential', 'linear' or 'constant', not 'random'.",
        ),
        (
            lambda: llm.build("mock", "hi").with_retry(max_attempts="3"),
            "'max_attempts' must be a whole number, not '3'.",
        ),
        (
            lambda: llm.build("mock", "hi").with_retry(max_attemps=3),
            "has no option 'max_attemps': did you mean 'max_attempts'? It takes max_attempts, ",
        ),
        (
            lambda: llm.build("mock", "hi").with_cache(ttl="1h"),
            "'ttl' must be a number or None, not '1h'.",
        ),
        (
            lambda: llm.build("mock", "hi").with_budget(limit=-1),
            "'limit' must be a number of USD, 0 or more, not -1.",
        ),
        (
            lambda: llm.configure("mock", timeout=float("inf")),
            "timeout for 'mock' must be a positive number of seconds, not inf.",
        ),
        (
            lambda: llm.configure("mock", model="x"),
            "configure() has no setting 'model': use api_key, base_url, timeout, headers, "
            "default_model, extra,",
        ),
        (
            lambda: llm.set_price("m", input_per_mtok=-1, output_per_mtok=0),
            "input_per_mtok must be a number of USD per million tokens, 0 or more, not -1.",
        ),
        (lambda: llm.build("mock", "hi").with_tags(""), "Tags must be non-empty strings"),
    ],
    ids=[
        "cache-control",
        "store",
        "literal",
        "type",
        "typo",
        "ttl-type",
        "budget",
        "timeout",
        "setting",
        "price",
        "tags",
    ],
)
def test_a_refused_value_says_what_is_accepted(call, accepted):
    assert accepted in refused(call)


def test_what_a_provider_or_the_network_said_is_quoted_not_nested(openai_server):
    options = {"api_key": KEY, "base_url": openai_server.base_url}
    openai_server.inject(
        faults.http_error(
            400,
            body={
                "error": {
                    "message": "This model's maximum context length is 8 tokens (you asked 9).",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
        )
    )
    message = refused(lambda: llm.chat("openai", "hi", **options))
    assert message.startswith(
        "openai 400: The prompt does not fit the model's context window, openai said "
        '"This model\'s maximum context length is 8 tokens (you asked 9)": shorten the prompt '
        "or lower max_tokens. Request id: req_"
    )
    openai_server.inject(faults.drop_connection(after_chunks=0))
    message = refused(lambda: llm.chat("openai", "hi", **options))
    assert "broke off before the whole answer arrived" in message
    assert message.endswith(": retry the request, or check the network and base_url.")
