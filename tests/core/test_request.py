import pytest

import llmpipe_nb as llm
from llmpipe_nb.config import Secret


def test_new_request_is_pending_with_normalised_messages():
    req = llm.Request.new("openai", "Hello", {"model": "gpt-4o", "temperature": 0.7})
    assert req.state == "pending"
    assert req.halted is False
    assert req.messages == ({"role": "user", "content": "Hello"},)
    assert req.options == {"model": "gpt-4o", "temperature": 0.7}
    assert req.model == "gpt-4o"
    assert req.errors == ()
    for name in (
        "id",
        "provider",
        "messages",
        "options",
        "state",
        "halted",
        "config",
        "http_client",
        "provider_request",
        "response",
        "result",
        "assigns",
        "private",
        "metadata",
        "errors",
    ):
        assert hasattr(req, name)


def test_ids_are_unique():
    ids = {llm.Request.new("mock", "x").id for _ in range(100)}
    assert len(ids) == 100


def test_request_is_immutable_and_helpers_return_new_requests():
    req = llm.Request.new("mock", "hi")
    with pytest.raises(AttributeError, match="immutable"):
        req.state = "completed"  # type: ignore[misc]
    a = req.assign("user", 1)
    p = a.put_private("llmpipe.x.y", 2)
    m = p.put_metadata("cost_usd", 0.5)
    assert req.assigns == {} and a.assigns == {"user": 1}
    assert a.private == {} and p.private == {"llmpipe.x.y": 2}
    assert p.metadata == {} and m.metadata == {"cost_usd": 0.5}
    # unchanged fields are shared, not copied
    assert m.messages is req.messages
    assert m.assigns is a.assigns


def test_add_error_recoverable_and_terminal():
    req = llm.Request.new("mock", "hi")
    soft = req.add_error(ValueError("price unknown"))
    assert soft.state == "pending" and not soft.halted and len(soft.errors) == 1
    hard = soft.add_error(RuntimeError("boom"), terminal=True, plug="X")
    assert hard.state == "error" and hard.halted
    assert isinstance(hard.terminal_error, RuntimeError)
    assert hard.errors[-1].plug == "X"


def test_halt_records_reason():
    req = llm.Request.new("mock", "hi").halt("cache hit")
    assert req.halted and req.state == "halted"
    assert req.metadata["halt_reason"] == "cache hit"


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([{"content": "hi"}], "Message 0 has no 'role'"),
        ([{"role": "wizard", "content": "hi"}], "unknown role 'wizard'"),
        ([{"role": "user", "content": 42}], "content of type int"),
        ([{"role": "user"}], "has no 'content'"),
        (
            [{"role": "user", "content": "a"}, {"role": "tool", "content": "r"}],
            "Message 1 is a tool result",
        ),
        ([{"role": "user", "content": [{"type": "video"}]}], "part 0 must be a dict"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}], "without a URL"),
        (
            [{"role": "user", "content": "a", "images": ["AAAA"]}],
            "field 'images', which is sent to no",
        ),
        (42, "not int"),
        ([3], "Message 0 is a int"),
        ([], "no messages to send"),
    ],
    ids=[
        "no-role",
        "bad-role",
        "bad-content",
        "no-content",
        "tool-without-id",
        "bad-part",
        "image-no-url",
        "unknown-field",
        "not-list",
        "not-dict",
        "empty",
    ],
)
def test_malformed_messages_raise_config_error(messages, fragment):
    with pytest.raises(llm.ConfigError, match=fragment):
        llm.Request.new("mock", messages)


def test_valid_message_shapes_are_accepted():
    msgs = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "assistant", "content": "ok", "refusal": None, "annotations": []},  # SDK dump
    ]
    req = llm.Request.new("mock", msgs)
    assert len(req.messages) == 5
    msgs[0]["content"] = "changed later"
    assert req.messages[0]["content"] == "be brief"


def test_api_key_option_never_shows_in_repr():
    req = llm.Request.new("mock", "hi", {"api_key": Secret("sk-canary-123456789")})
    assert "canary" not in repr(req)
