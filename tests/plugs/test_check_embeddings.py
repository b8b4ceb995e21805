"""CheckEmbeddings: one flat vector per input, or pooled on request, or a clear error."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ConfigError, ResponseFormatError
from llmpipe_nb.testing import faults

TOKENS_A = [[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]
TOKENS_B = [[0.0, 1.0]]


def _answer(*embeddings):
    data = [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(embeddings)]
    return {"object": "list", "data": data, "model": "smol", "usage": {"prompt_tokens": 4}}


def _embed(server, inputs=("a b c", "d"), **options):
    return llm.embeddings("llamacpp", list(inputs), base_url=server.base_url, **options)


def test_token_level_vectors_are_refused_with_the_server_setting(fake_server) -> None:
    server = fake_server("openai", flavor="llamacpp")
    server.inject(faults.reply(_answer(TOKENS_A, TOKENS_B)))
    with pytest.raises(ResponseFormatError) as caught:
        _embed(server)
    message = str(caught.value)
    assert "token-level" in message and "3 token vectors of 2 numbers" in message
    assert "pooling='mean'" in message and "--pooling mean" in message
    assert caught.value.request.state == "error"


@pytest.mark.parametrize(
    "pooling, expected",
    [
        ("mean", [[3.0, 5.0], [0.0, 1.0]]),
        ("last", [[5.0, 9.0], [0.0, 1.0]]),
        ("cls", [[1.0, 2.0], [0.0, 1.0]]),
    ],
)
def test_token_level_vectors_are_pooled_when_asked(fake_server, pooling, expected) -> None:
    server = fake_server("openai", flavor="llamacpp")
    server.inject(faults.reply(_answer(TOKENS_A, TOKENS_B)))
    result = _embed(server, pooling=pooling)
    assert result.embeddings == expected
    assert "pooling" not in server.last_request.json  # read here, never sent
    assert "CheckEmbeddings" in [s.plug for s in result.request.trace]


def test_pooled_answers_pass_unchanged_with_or_without_pooling(openai_server) -> None:
    plain = llm.embeddings("openai", ["a", "b"], api_key="sk-x", base_url=openai_server.base_url)
    pooled = llm.embeddings(
        "openai", ["a", "b"], api_key="sk-x", base_url=openai_server.base_url, pooling="mean"
    )
    assert plain.embeddings == pooled.embeddings
    assert [len(v) for v in plain.embeddings] == [8, 8]


@pytest.mark.parametrize(
    "embeddings, words",
    [
        (([1.0, 2.0],), "1 embeddings for 2 inputs"),
        (([1.0, 2.0], [1.0, 2.0, 3.0]), "different dimensions (2, 3)"),
        (([1.0, 2.0], {"x": 1.0}), "a dict as the embedding of input 1"),
        (([1.0, 2.0], [[1.0], [1.0, 2.0]]), "not all numbers"),
        (([1.0, 2.0], []), "a list of 0 items"),
    ],
)
def test_malformed_answers_say_what_came_back(fake_server, embeddings, words) -> None:
    server = fake_server("openai", flavor="llamacpp")
    server.inject(faults.reply(_answer(*embeddings)))
    with pytest.raises(ResponseFormatError, match=words.replace("(", r"\(").replace(")", r"\)")):
        _embed(server, pooling="mean")


def test_an_unknown_pooling_is_refused_before_sending(openai_server) -> None:
    with pytest.raises(ConfigError, match="'mean', 'last' or 'cls'"):
        llm.embeddings(
            "openai", ["a"], api_key="sk-x", base_url=openai_server.base_url, pooling="max"
        )
    with pytest.raises(ConfigError, match="no option 'pooling' for chat"):
        llm.chat("openai", "a", api_key="sk-x", base_url=openai_server.base_url, pooling="mean")
    assert openai_server.requests == []
