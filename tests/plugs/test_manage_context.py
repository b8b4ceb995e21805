"""ManageContext through the pipeline: what reaches the loopback server fits and keeps the system."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.context_windows import context_window
from llmpipe_nb.testing import faults
from llmpipe_nb.tokens import estimate_message_tokens

SYSTEM = {"role": "system", "content": "You are a careful assistant."}


def conversation(turns=30, words=40):
    messages = [SYSTEM]
    for i in range(turns):
        role = "user" if i % 2 == 0 else "assistant"
        messages.append({"role": role, "content": f"turn {i}: " + "word " * words})
    return messages


def fitted(opts, messages, strategy, **options):
    b = llm.build("openai", messages).with_options(**opts)
    return b.with_context_strategy(strategy, **options)


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("truncate", {"max_tokens": 400}),
        ("sliding_window", {"window_size": 6, "max_tokens": 400}),
        ("summarize", {"max_tokens": 400, "summary_max_tokens": 64}),
    ],
)
def test_every_strategy_keeps_the_system_message_and_fits(
    openai_server, openai_opts, strategy, options
):
    messages = conversation()
    assert estimate_message_tokens(messages) > 1000
    answer = fitted(openai_opts, messages, strategy, **options).execute()
    sent = openai_server.last_request.json["messages"]
    assert sent[0] == SYSTEM
    assert estimate_message_tokens(sent) <= 400
    assert sent[-1] == messages[-1]
    context = answer.request.metadata["context"]
    assert context["strategy"] == strategy and context["tokens_after"] <= 400
    assert context["dropped"] == len(answer.request.metadata["context_dropped"]) > 0


def test_truncate_drops_the_oldest_first(openai_server, openai_opts):
    messages = conversation(turns=10, words=20)
    fitted(openai_opts, messages, "truncate", max_tokens=130).execute()
    sent = openai_server.last_request.json["messages"]
    kept = sent[1:]
    assert kept == messages[len(messages) - len(kept) :]


def test_a_fitting_prompt_is_sent_unchanged(openai_server, openai_opts):
    messages = conversation(turns=4, words=5)
    answer = fitted(openai_opts, messages, "truncate", max_tokens=10_000).execute()
    assert openai_server.last_request.json["messages"] == messages
    assert answer.request.metadata["context"]["dropped"] == 0


def test_sliding_window_keeps_the_last_messages(openai_server, openai_opts):
    messages = conversation(turns=10, words=2)
    answer = fitted(openai_opts, messages, "sliding_window", window_size=3).execute()
    assert openai_server.last_request.json["messages"] == [SYSTEM, *messages[-3:]]
    assert answer.request.metadata["context_dropped"] == tuple(messages[1:-3])


def test_summarize_calls_the_summary_model_through_the_pipeline(openai_server, openai_opts):
    messages = conversation()
    b = fitted(openai_opts, messages, "summarize", max_tokens=400, summary_model="gpt-4o")
    openai_server.inject(faults.reply(_completion("They discussed words.")))
    answer = b.execute()
    summary_call, main_call = openai_server.requests
    assert summary_call.json["model"] == "gpt-4o"
    assert "turn 0:" in summary_call.json["messages"][-1]["content"]
    sent = main_call.json["messages"]
    assert sent[0] == SYSTEM
    assert sent[1] == {
        "role": "system",
        "content": "Summary of the earlier conversation: They discussed words.",
    }
    assert sent[-1] == messages[-1]
    meta = answer.request.metadata
    assert meta["context"]["summary_request_id"].startswith("req-")
    assert "turn 0:" in meta["context_dropped"][0]["content"]


async def test_summarize_async(openai_server, openai_opts):
    b = fitted(openai_opts, conversation(), "summarize", max_tokens=400, summary_max_tokens=64)
    answer = await b.aexecute()
    assert len(openai_server.requests) == 2
    assert answer.request.metadata["context"]["strategy"] == "summarize"


def test_summarize_without_preserve_system_summarises_it_too(openai_server, openai_opts):
    messages = conversation()
    fitted(
        openai_opts,
        messages,
        "summarize",
        max_tokens=400,
        preserve_system=False,
        summary_max_tokens=64,
    ).execute()
    summary_call, main_call = openai_server.requests
    assert "careful assistant" in summary_call.json["messages"][-1]["content"]
    assert main_call.json["messages"][0]["content"].startswith("Summary of the earlier")


def test_a_failed_summary_falls_back_to_truncation(openai_server, openai_opts):
    openai_server.inject(faults.http_error(500))
    answer = fitted(openai_opts, conversation(), "summarize", max_tokens=400).execute()
    assert answer.content.startswith("Echo:")
    assert [type(e.error).__name__ for e in answer.request.errors] == ["ServerError"]
    assert answer.request.metadata["context"]["strategy"] == "truncate"
    assert estimate_message_tokens(openai_server.last_request.json["messages"]) <= 400


def test_a_tool_result_never_loses_its_call(openai_server, openai_opts):
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        SYSTEM,
        {"role": "user", "content": "word " * 80},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "result " * 30},
        {"role": "user", "content": "and now?"},
    ]
    fitted(openai_opts, messages, "truncate", max_tokens=60).execute()
    roles = [m["role"] for m in openai_server.last_request.json["messages"]]
    assert roles == ["system", "user"]


def test_a_prompt_that_cannot_fit_fails_before_sending(openai_server, openai_opts):
    messages = [SYSTEM, {"role": "user", "content": "word " * 500}]
    with pytest.raises(llm.ContextLengthError, match="prompt budget of 50"):
        fitted(openai_opts, messages, "truncate", max_tokens=50).execute()
    assert openai_server.requests == []


def test_a_prompt_that_cannot_fit_names_its_provider(openai_server, openai_opts):
    messages = [SYSTEM, {"role": "user", "content": "word " * 500}]
    with pytest.raises(llm.ContextLengthError) as info:
        fitted(openai_opts, messages, "sliding_window", max_tokens=50).execute()
    assert info.value.provider == "openai"
    assert str(info.value).startswith("openai: The system messages")
    assert info.value.request.metadata["trace"][-1].plug == "ManageContext"


def test_the_model_window_is_the_default_budget(openai_server, openai_opts):
    b = fitted(
        {**openai_opts, "model": "gpt-3.5-turbo-16k", "max_tokens": 385},
        conversation(turns=400, words=40),
        "truncate",
    )
    answer = b.execute()
    assert context_window("gpt-3.5-turbo-16k", "openai") == 16_385
    assert answer.request.metadata["context"]["budget"] == 16_000
    assert estimate_message_tokens(openai_server.last_request.json["messages"]) <= 16_000


def test_an_unknown_window_asks_for_max_tokens(openai_server, openai_opts):
    b = fitted({**openai_opts, "model": "house-model-7"}, conversation(), "truncate")
    with pytest.raises(llm.ConfigError, match="pass max_tokens="):
        b.execute()
    assert openai_server.requests == []


def test_context_windows_of_major_models():
    assert context_window("gpt-4o", "openai") == 128_000
    assert context_window("claude-3-5-sonnet-latest", "anthropic") == 200_000
    assert context_window("gemini-1.5-pro", "google") == 1_000_000
    assert context_window("llama3.1:8b", "ollama") == 128_000
    assert context_window("no-such-model-anywhere", "nobody") is None


def test_placement_before_the_request_is_prepared():
    names = (
        llm.build("mock", "hi")
        .with_cache()
        .with_context_strategy("sliding_window", window_size=2)
        .inspect_pipeline()
        .names
    )
    assert names.index("Cache") < names.index("ManageContext") < names.index("MockPrepareRequest")


def test_bad_options_fail_when_built():
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_context_strategy("forget")
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_context_strategy("sliding_window", window_size=0)


def _completion(text):
    return {
        "id": "chatcmpl-summary",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 5, "total_tokens": 305},
    }


def test_with_custom_plug_honours_the_position(openai_server, openai_opts):
    from llmpipe_nb.plugs.manage_context import ManageContext

    b = llm.build("openai", conversation()).with_options(**openai_opts)
    b = b.with_custom_plug(ManageContext, strategy="sliding_window", window_size=2)
    names = b.inspect_pipeline().names
    assert names.index("ManageContext") == names.index("BuildHttpClient") - 1
    b.execute()
    assert len(openai_server.last_request.json["messages"]) == 3
