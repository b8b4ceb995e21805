import asyncio
import time

import pytest

import llmpipe_nb as llm


@pytest.fixture
def mock():
    return llm.providers.get("mock")


def test_fixed_reply_and_queue_of_replies(mock):
    mock.configure(reply="always this")
    assert llm.chat("mock", "a").content == "always this"
    mock.configure(replies=["one", "two"])
    assert [llm.chat("mock", "x").content for _ in range(3)] == ["one", "two", "always this"]


def test_reply_as_a_function_of_the_request(mock):
    mock.configure(respond=lambda body: body["messages"][-1]["content"].upper())
    assert llm.chat("mock", "shout").content == "SHOUT"


def test_tool_call_replies(mock):
    mock.configure(
        reply={"content": "", "tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1}}]}
    )
    resp = llm.chat("mock", "add", tools=[{"type": "function", "function": {"name": "add"}}])
    assert resp.finish_reason == "tool_calls"
    assert resp.tool_calls == (llm.ToolCall("c1", "add", {"a": 1}),)


def test_per_request_reply_option(mock):
    assert llm.chat("mock", "x", mock_reply="given").content == "given"


def test_records_requests(mock):
    llm.chat("mock", "first")
    llm.embeddings("mock", "second")
    assert [c.path for c in mock.requests] == ["/chat", "/embeddings"]
    assert mock.requests[0].json["messages"][-1]["content"] == "first"


def test_simulated_latency(mock):
    mock.configure(latency=0.05)
    t = time.perf_counter()
    llm.chat("mock", "slow")
    assert time.perf_counter() - t >= 0.05


def test_chunk_size_and_chunk_latency(mock):
    mock.configure(reply="abcdefghij", chunk_size=3, chunk_latency=0.02)
    stamps = []
    t = time.perf_counter()
    for chunk in llm.stream("mock", "x"):
        stamps.append((chunk.content, time.perf_counter() - t))
    assert [c for c, _ in stamps] == ["abc", "def", "ghi", "j", ""]
    assert stamps[3][1] - stamps[0][1] >= 0.05


def test_async_latency_does_not_block_the_loop(mock):
    mock.configure(latency=0.1)

    async def many():
        t = time.perf_counter()
        await asyncio.gather(*(llm.achat("mock", str(i)) for i in range(10)))
        return time.perf_counter() - t

    assert asyncio.run(many()) < 0.5


def test_embedding_dim_and_models(mock):
    mock.configure(embedding_dim=4, models=["m1"])
    assert len(llm.embeddings("mock", "x").embeddings[0]) == 4
    assert [m.id for m in llm.list_models("mock")] == ["m1"]


def test_injected_errors_are_consumed_in_order(mock):
    mock.fail_next(llm.ServerError, times=2)
    for _ in range(2):
        with pytest.raises(llm.ServerError):
            llm.chat("mock", "x")
    assert llm.chat("mock", "x").content


def test_mock_is_free_unless_priced(mock):
    assert llm.chat("mock", "x").cost_status == "local"
    llm.set_price("mock-1", input_per_mtok=1_000_000, output_per_mtok=2_000_000)
    resp = llm.chat("mock", "x")
    assert resp.cost_status == "priced"
    assert resp.cost == pytest.approx(resp.usage.input_tokens * 1 + resp.usage.output_tokens * 2)


def test_bad_mock_settings(mock):
    with pytest.raises(llm.ConfigError, match="Unknown mock setting"):
        mock.configure(replys=["x"])
    with pytest.raises(llm.ConfigError, match="latency must be"):
        mock.configure(latency=-1)
