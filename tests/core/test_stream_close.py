"""Stopping a stream early: close()/aclose(), with / async with, break, a dropped reference
and a closed consumer. The run is recorded at once, cancelled, exactly once, with the tokens
and time so far, and the connection is released."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import Fault

KEY = "sk-test-close-0123456789"
#: a long stream: 200 chunks 20 ms apart (4 s), so a stream that is not closed is obvious
LONG = Fault(chunk_delay_s=0.02, chunk_count=200)


@pytest.fixture(autouse=True)
def fresh_ledger_without_collector():
    """An empty ledger, and the collector off: what is recorded must not wait for it."""
    llm.ledger().reset()
    gc.disable()
    yield
    gc.enable()
    llm.ledger().reset()


@pytest.fixture
def mock():
    return llm.providers.get("mock")


@pytest.fixture
def openai(fake_server):
    server = fake_server("openai")
    server.inject(LONG, times=4)
    return {"api_key": KEY, "base_url": server.base_url}


def rows_of(request_id: str):
    costs = llm.costs()
    return costs[costs.request_id == request_id]


def assert_cancelled_once(stream) -> None:
    done = stream.request
    assert done is not None and done.state == "cancelled"
    assert done.metadata["halt_reason"] == "the stream was closed before its end"
    rows = rows_of(done.id)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row.status == "cancelled" and row.attempts == 1
    assert row.input_tokens > 0 and row.output_tokens > 0  # the tokens so far
    assert 0 < row.ttft_ms <= row.latency_ms < 2000  # the time so far, not the whole stream


def test_close_records_the_run_at_once_and_only_once(openai):
    stream = llm.stream("openai", "a long story", **openai)
    first = next(stream)
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 1.0  # the rest is not read
    assert first.content
    assert_cancelled_once(stream)
    with pytest.raises(llm.PipelineError, match="closed before it finished: start a new one"):
        stream.text()
    stream.close()  # again: nothing more
    del stream  # nor when it is finalised
    assert llm.costs().status.tolist() == ["cancelled"]


def test_a_with_block_closes_the_stream_it_leaves(openai):
    with llm.stream("openai", "a long story", **openai) as stream:
        for i, _ in enumerate(stream):
            if i == 2:
                break
    assert_cancelled_once(stream)
    assert list(stream) == []  # a closed stream yields nothing more


def test_an_exception_in_a_with_block_closes_the_stream(openai):
    with pytest.raises(RuntimeError), llm.stream("openai", "story", **openai) as stream:
        next(stream)
        raise RuntimeError("the consumer failed")
    assert_cancelled_once(stream)


def test_a_callback_that_raises_closes_its_stream(openai):
    def fail(chunk):
        raise RuntimeError("the callback failed")

    with pytest.raises(RuntimeError):
        llm.stream("openai", "a long story", callback=fail, **openai)
    row = llm.costs().iloc[-1]
    assert (row.status, row.kind) == ("cancelled", "stream") and row.output_tokens > 0


def test_break_pauses_a_stream_that_is_kept_and_text_reads_on(mock):
    mock.configure(chunk_size=4)
    stream = llm.stream("mock", "a question long enough to stream in many small chunks")
    seen = []
    for chunk in stream:
        seen.append(chunk.content)
        break
    assert stream.request is None  # still open: nothing recorded yet
    text = stream.text()
    assert text.startswith(seen[0]) and stream.request.state == "completed"


def test_break_out_of_a_stream_nobody_keeps_records_it_at_once(openai):
    before = len(llm.ledger())
    for _ in llm.stream("openai", "a long story", **openai):
        break  # the last reference goes with the loop: closed now, not by the collector
    assert len(llm.ledger()) == before + 1
    row = llm.costs().iloc[-1]
    assert (row.status, row.kind) == ("cancelled", "stream") and row.output_tokens > 0


def test_a_consumer_closed_early_closes_its_stream(openai):
    def words():
        with llm.stream("openai", "a long story", **openai) as stream:
            for chunk in stream:
                yield chunk.content

    consumer = words()
    next(consumer)
    consumer.close()  # GeneratorExit in the consumer leaves its with block
    row = llm.costs().iloc[-1]
    assert row.status == "cancelled" and row.output_tokens > 0


def test_a_stream_closed_before_it_started_sent_and_recorded_nothing(mock):
    before = len(llm.ledger())
    stream = llm.stream("mock", "never asked for")
    stream.close()
    assert stream.request is None and len(llm.ledger()) == before and mock.requests == []
    assert list(stream) == []


def test_a_finished_stream_closes_without_a_second_row(mock):
    with llm.stream("mock", "short") as stream:
        text = stream.text()
    assert stream.request.state == "completed" and stream.text() == text
    assert rows_of(stream.request.id).status.tolist() == ["completed"]


def test_a_priced_model_prices_the_tokens_so_far(openai):
    llm.set_price("gpt-6-luna", input_per_mtok=1.0, output_per_mtok=2.0, provider="openai")
    with llm.stream("openai", "a long story", **openai) as stream:
        next(stream)
        next(stream)
    row = rows_of(stream.request.id).iloc[0]
    expected = (row.input_tokens * 1.0 + row.output_tokens * 2.0) / 1e6
    assert row.cost_usd == pytest.approx(expected)
    assert row.cost_status == "estimated"  # the fake stream reports usage only at its end
    assert bool(row.estimated)  # the counts too: they were estimated here


async def test_aclose_records_the_run_at_once_and_only_once(openai):
    stream = llm.astream("openai", "a long story", **openai)
    await anext(stream)
    await stream.aclose()
    assert_cancelled_once(stream)
    await stream.aclose()
    assert [c async for c in stream] == []
    assert llm.costs().status.tolist() == ["cancelled"]


async def test_async_with_closes_the_stream_it_leaves(openai):
    async with llm.astream("openai", "a long story", **openai) as stream:
        async for _ in stream:
            break
    assert_cancelled_once(stream)


async def test_async_break_pauses_a_kept_stream(mock):
    mock.configure(chunk_size=4)
    stream = llm.astream("mock", "a question long enough to stream in many small chunks")
    seen = []
    async for chunk in stream:
        seen.append(chunk.content)
        break
    assert stream.request is None  # still open: nothing recorded yet
    text = await stream.atext()
    assert text.startswith(seen[0]) and stream.request.state == "completed"


async def test_a_cancelled_task_records_its_stream(openai):
    started = asyncio.Event()

    async def consume():
        async with llm.astream("openai", "a long story", **openai) as stream:
            async for _ in stream:
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = llm.costs().iloc[-1]
    assert row.status == "cancelled" and row.output_tokens > 0
    assert llm.costs().status.tolist() == ["cancelled"]


def test_closing_early_leaves_no_socket_open(openai_server):
    code = (
        "import gc, warnings, asyncio, llmpipe_nb as llm\n"
        "warnings.simplefilter('always')\n"
        f"opts = dict(api_key={KEY!r}, base_url={openai_server.base_url!r})\n"
        "for i in range(3):\n"
        "    with llm.stream('openai', 'x', **opts) as s:\n"
        "        next(s)\n"
        "async def main():\n"
        "    async with llm.astream('openai', 'x', **opts) as s:\n"
        "        await anext(s)\n"
        "asyncio.run(main())\n"
        "gc.collect()\n"
        "print(llm.costs().status.tolist())\n"
    )
    openai_server.inject(LONG, times=4)
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "ResourceWarning" not in out.stderr and "unclosed" not in out.stderr
    assert out.stdout.strip() == str(["cancelled"] * 4)
