"""OpenAI's per-model rules (December 2026): the output cap, sampling, `n`, `stop`, reasoning
effort, tools, verbosity and service tiers, checked before sending and against the fake
server that refuses what api.openai.com refuses."""

from __future__ import annotations

import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, ConfigError
from llmpipe_nb.providers.openai import capabilities, options
from llmpipe_nb.testing import FakeServer
from llmpipe_nb.testing.openai_wire import REASONING_TOKENS

KEY = "sk-test-canary-0123456789"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch) -> None:
    """Each test sees the one-time warnings afresh."""
    monkeypatch.setattr(options, "_warned", set())


def chat(server: FakeServer, model: str, text: str = "hello there", **opts):
    return llm.chat("openai", text, api_key=KEY, base_url=server.base_url, model=model, **opts)


def refused(server: FakeServer, model: str, match: str, **opts) -> None:
    """A ConfigError matching `match`, and nothing sent."""
    sent = len(server.requests)
    with pytest.raises(ConfigError, match=match):
        chat(server, model, **opts)
    assert len(server.requests) == sent


def ours(caught, text: str) -> list[str]:
    return [str(w.message) for w in caught if text in str(w.message)]


# -- the capability table ----------------------------------------------------------------


@pytest.mark.parametrize(
    "model, efforts, sampling, n",
    [
        ("gpt-4o-mini", (), "any", True),
        ("gpt-4.1-2025-04-14", (), "any", True),
        ("o3", ("low", "medium", "high"), "never", True),
        ("gpt-5-mini", ("minimal", "low", "medium", "high"), "never", False),
        ("gpt-5.1", ("none", "low", "medium", "high"), "effort_none", False),
        ("gpt-5.6-luna", ("none", "low", "medium", "high", "xhigh", "max"), "effort_none", False),
        ("gpt-6-luna", ("none", "low", "medium", "high", "xhigh", "max"), "effort_none", False),
        ("gpt-6.2-astra", ("low", "medium", "high", "xhigh"), "never", False),
        ("gpt-6.1-sol", None, "effort_none", False),
        ("gpt-6.1-terra-2026-09-01", None, "effort_none", False),
        ("ft:gpt-4o-mini-2024-07-18:acme::x1", (), "any", True),
        ("gpt-7-nova", None, "any", True),
        ("my-own-model", None, "any", True),
    ],
)
def test_each_family_has_its_row_and_unknown_ids_the_fallback(model, efforts, sampling, n) -> None:
    rules = capabilities.rules_for(model)
    assert (rules.efforts, rules.sampling, rules.n) == (efforts, sampling, n)


def test_only_luna_needs_effort_none_for_tools() -> None:
    assert capabilities.rules_for("gpt-6-luna").tools_need_effort_none
    assert not capabilities.rules_for("gpt-6.1-sol").tools_need_effort_none
    assert capabilities.rules_for("unknown") is capabilities.UNKNOWN


# -- the output cap ---------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:No price known")
@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "gpt-4.1", "o3", "gpt-5.1", "gpt-6-luna", "gpt-6.1-sol", "gpt-7-x"]
)
def test_max_tokens_is_sent_as_max_completion_tokens(openai_server: FakeServer, model) -> None:
    reply = chat(openai_server, model, max_tokens=9)
    body = openai_server.last_request.json
    assert body["max_completion_tokens"] == 9 and "max_tokens" not in body
    assert reply.content == "Echo: hello there"


def test_the_server_refuses_max_tokens_on_newer_models(openai_server: FakeServer) -> None:
    """What a body with `max_tokens` gets (sent through extra_body, which is never checked)."""
    with pytest.raises(BadRequestError, match="Use 'max_completion_tokens' instead") as caught:
        chat(openai_server, "gpt-6-luna", extra_body={"max_tokens": 9})
    error = caught.value
    assert error.status_code == 400 and error.error_type == "invalid_request_error"
    assert error.body["error"]["param"] == "max_tokens"
    assert error.body["error"]["code"] == "unsupported_parameter"
    assert chat(openai_server, "gpt-4o-mini", extra_body={"max_tokens": 9}).content


# -- sampling ---------------------------------------------------------------------------


def test_sampling_without_an_effort_sends_effort_none_once_warned(
    openai_server: FakeServer,
) -> None:
    with pytest.warns(UserWarning, match=r"gpt-6-luna takes temperature only without reasoning"):
        chat(openai_server, "gpt-6-luna", temperature=0.2)
    body = openai_server.last_request.json
    assert body["temperature"] == 0.2 and body["reasoning_effort"] == "none"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat(openai_server, "gpt-6-luna", temperature=0.3)
    assert ours(caught, "only without reasoning") == []


def test_sampling_with_effort_none_is_sent_as_given(openai_server: FakeServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat(openai_server, "gpt-6.1-sol", temperature=0.2, top_p=0.9, reasoning_effort="none")
    assert ours(caught, "reasoning") == []
    body = openai_server.last_request.json
    assert (body["temperature"], body["top_p"], body["reasoning_effort"]) == (0.2, 0.9, "none")


def test_sampling_with_another_effort_is_refused(openai_server: FakeServer) -> None:
    refused(
        openai_server,
        "gpt-6-luna",
        r"gpt-6-luna takes temperature only with reasoning_effort='none', not 'high': pass",
        temperature=0.2,
        reasoning_effort="high",
    )


@pytest.mark.parametrize(
    "model, option",
    [
        ("gpt-6-astra", {"temperature": 0.2}),
        ("o3", {"top_p": 0.5}),
        ("gpt-5-mini", {"temperature": 0.0}),
        ("gpt-6.2-astra", {"logprobs": True}),
    ],
)
def test_models_that_always_reason_refuse_sampling(
    openai_server: FakeServer, model, option
) -> None:
    refused(
        openai_server, model, rf"{model} always reasons and refuses {next(iter(option))}", **option
    )


def test_the_server_refuses_sampling_with_reasoning(openai_server: FakeServer) -> None:
    with pytest.raises(BadRequestError, match="Only the default \\(1\\) value") as caught:
        chat(openai_server, "gpt-6-luna", extra_body={"temperature": 0.2})
    assert caught.value.body["error"]["param"] == "temperature"


def test_older_chat_models_take_sampling_n_and_stop(openai_server: FakeServer) -> None:
    chat(openai_server, "gpt-4o", temperature=0.2, top_p=0.9, n=2, stop=["\n"])
    body = openai_server.last_request.json
    assert (body["temperature"], body["n"], body["stop"]) == (0.2, 2, ["\n"])
    assert "reasoning_effort" not in body


# -- n and stop -------------------------------------------------------------------------


def test_n_1_is_dropped_once_warned_and_n_2_refused(openai_server: FakeServer) -> None:
    with pytest.warns(UserWarning, match="gpt-6-luna refuses an explicit n, even n=1"):
        chat(openai_server, "gpt-6-luna", n=1)
    assert "n" not in openai_server.last_request.json
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat(openai_server, "gpt-6-luna", n=1)
    assert ours(caught, "explicit n") == []
    refused(openai_server, "gpt-6-luna", "gpt-6-luna does not accept n=2: send one request", n=2)


def test_the_server_refuses_an_explicit_n(openai_server: FakeServer) -> None:
    with pytest.raises(BadRequestError, match="'n' is not supported") as caught:
        chat(openai_server, "gpt-6-luna", extra_body={"n": 1})
    assert caught.value.body["error"]["code"] == "unsupported_parameter"


def test_stop_is_refused_where_the_model_has_none(openai_server: FakeServer) -> None:
    refused(openai_server, "o4-mini", "o4-mini does not accept stop: remove it", stop="\n")
    chat(openai_server, "gpt-6-luna", stop="\n")
    assert openai_server.last_request.json["stop"] == "\n"


# -- reasoning effort, verbosity, service tier -------------------------------------------


def test_reasoning_effort_reaches_the_wire_and_reasoning_tokens_are_counted(
    openai_server: FakeServer,
) -> None:
    reply = chat(openai_server, "gpt-6.1-sol", reasoning_effort="high", verbosity="low")
    body = openai_server.last_request.json
    assert (body["reasoning_effort"], body["verbosity"]) == ("high", "low")
    assert reply.usage.reasoning_tokens == REASONING_TOKENS
    assert reply.usage.output_tokens == 3 + REASONING_TOKENS
    stream = llm.stream(
        "openai",
        "hello there",
        api_key=KEY,
        base_url=openai_server.base_url,
        model="gpt-6-luna",
        reasoning_effort="low",
    )
    assert stream.text() == "Echo: hello there"
    assert stream.response.usage.reasoning_tokens == REASONING_TOKENS


@pytest.mark.parametrize(
    "model, effort, match",
    [
        ("gpt-6-luna", "minimal", r"does not accept reasoning_effort='minimal': use one of 'none'"),
        ("gpt-6-astra", "none", r"does not accept reasoning_effort='none': use one of 'low'"),
        ("gpt-5.1", "xhigh", r"use one of 'none', 'low', 'medium', 'high'\.$"),
        ("gpt-4o-mini", "low", "gpt-4o-mini is not a reasoning model and refuses reasoning_effort"),
        ("gpt-6-luna", "hgih", r"reasoning_effort must be one of 'none', 'minimal'.*not 'hgih'"),
    ],
)
def test_effort_values_the_model_lacks_are_refused(
    openai_server: FakeServer, model, effort, match
) -> None:
    refused(openai_server, model, match, reasoning_effort=effort)


def test_the_server_refuses_effort_values_the_model_lacks(openai_server: FakeServer) -> None:
    with pytest.raises(BadRequestError, match="does not support 'none'") as caught:
        chat(openai_server, "gpt-6-astra", extra_body={"reasoning_effort": "none"})
    assert caught.value.body["error"]["param"] == "reasoning_effort"


@pytest.mark.parametrize(
    "model, option, match",
    [
        ("gpt-4o", {"verbosity": "low"}, "gpt-4o does not accept verbosity"),
        ("gpt-6-luna", {"verbosity": "loud"}, "verbosity must be one of 'low', 'medium', 'high'"),
        ("gpt-6-luna", {"service_tier": "cheap"}, "service_tier must be one of 'auto'"),
    ],
)
def test_verbosity_and_service_tier_are_checked(openai_server: FakeServer, model, option, match):
    refused(openai_server, model, match, **option)


def test_flex_answers_are_priced_at_the_flex_rate(openai_server: FakeServer) -> None:
    standard = chat(openai_server, "gpt-6-luna")
    flex = chat(openai_server, "gpt-6-luna", service_tier="flex")
    assert openai_server.last_request.json["service_tier"] == "flex"
    assert flex.request.metadata["service_tier"] == "flex"
    assert standard.request.metadata["service_tier"] == "default"
    assert flex.usage == standard.usage
    assert flex.cost == pytest.approx(standard.cost / 2)
    fast = llm.stream(
        "openai",
        "hello there",
        api_key=KEY,
        base_url=openai_server.base_url,
        model="gpt-6-luna",
        service_tier="fast",
    )
    fast.text()
    assert fast.response.request.metadata["service_tier"] == "priority"  # as the answer says
    assert fast.response.cost > standard.cost


# -- tools on luna -----------------------------------------------------------------------


def test_tools_on_luna_send_effort_none_once_warned(openai_server: FakeServer) -> None:
    with pytest.warns(UserWarning, match="gpt-6-luna takes function tools only without reasoning"):
        reply = chat(openai_server, "gpt-6-luna", "Paris", tools=[WEATHER])
    assert openai_server.last_request.json["reasoning_effort"] == "none"
    assert reply.tool_calls[0].arguments == {"city": "Paris"}
    refused_with = {"tools": [WEATHER], "reasoning_effort": "low"}
    refused(
        openai_server,
        "gpt-6-luna",
        "takes function tools only with reasoning_effort='none', not 'low'",
        **refused_with,
    )
    chat(openai_server, "gpt-6.1-sol", "Paris", tools=[WEATHER], reasoning_effort="low")
    assert openai_server.last_request.json["reasoning_effort"] == "low"


def test_the_server_refuses_tools_with_reasoning_on_luna(openai_server: FakeServer) -> None:
    with pytest.raises(BadRequestError) as caught:
        chat(
            openai_server, "gpt-6-luna", extra_body={"tools": [WEATHER], "reasoning_effort": "low"}
        )
    assert caught.value.message == (
        "Function tools with reasoning_effort are not supported for gpt-6-luna in "
        "/v1/chat/completions. To use function tools, use /v1/responses or set "
        "reasoning_effort to 'none'."
    )


# -- what the table does not know --------------------------------------------------------


def test_unknown_models_get_every_parameter_as_given(openai_server: FakeServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat(openai_server, "gpt-7-nova", temperature=0.2, n=1, stop="x", reasoning_effort="max")
    assert [m for m in ours(caught, "gpt-7-nova") if not m.startswith("No price known")] == []
    body = openai_server.last_request.json
    assert (body["temperature"], body["n"], body["stop"], body["reasoning_effort"]) == (
        0.2,
        1,
        "x",
        "max",
    )


def test_a_fine_tune_follows_its_base_model(openai_server: FakeServer) -> None:
    chat(openai_server, "ft:gpt-4o-mini-2024-07-18:acme::x1", temperature=0.2)
    assert openai_server.last_request.json["temperature"] == 0.2
    refused(openai_server, "ft:o3-2025-04-16:acme::x2", "always reasons", temperature=0.2)
