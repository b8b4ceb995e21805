"""Texts to embed are checked before anything is sent."""

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (42, "must be a non-empty string or a list of strings, not int"),
        ({"a": 1}, "must be a non-empty string or a list of strings, not dict"),
        ({"a", "b"}, "not set"),
        (b"bytes", "not bytes"),
        ([], "There is nothing to embed"),
        (["a", None], "list of strings; item 1 is NoneType"),
        (["a", 3.5], "item 1 is float"),
        ("", "Input 0 to embed is an empty string"),
        (["a", ""], "Input 1 to embed is an empty string"),
    ],
    ids=["int", "dict", "set", "bytes", "empty-list", "none-item", "float-item", "empty", "blank"],
)
def test_bad_inputs_raise_config_error_and_send_nothing(inputs, message):
    with FakeServer("openai") as srv:
        with pytest.raises(llm.ConfigError, match=message):
            llm.embeddings("openai", inputs, api_key="k", base_url=srv.base_url)
        assert srv.requests == []


def test_strings_lists_tuples_and_iterables_are_embedded_in_order():
    with FakeServer("openai") as srv:
        kw = {"api_key": "k", "base_url": srv.base_url}
        assert len(llm.embeddings("openai", "one", **kw).embeddings) == 1
        assert len(llm.embeddings("openai", ("a", "b"), **kw).embeddings) == 2
        assert len(llm.embeddings("openai", iter(["x", "y", "z"]), **kw).embeddings) == 3
        assert [r.json["input"] for r in srv.requests] == [["one"], ["a", "b"], ["x", "y", "z"]]


def test_the_request_holds_the_checked_texts():
    req = llm.Request.new("mock", ["a", "b"], kind="embeddings")
    assert req.messages == ("a", "b")
    with pytest.raises(llm.ConfigError, match="item 0 is int"):
        llm.Request.new("mock", [1], kind="embeddings")
