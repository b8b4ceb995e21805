"""llm.map over real HTTP against the loopback OpenAI server; keys never show."""

from __future__ import annotations

import pandas as pd

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer

TEST_KEY = "sk-batch-test-0123456789abcdef"  # what the openai_fake fixture configures


def test_rows_go_over_the_wire_concurrently_and_come_back_aligned(openai_fake):
    df = pd.DataFrame({"q": [f"question {i}" for i in range(50)]}, index=range(100, 150))
    out = llm.map(df, "Answer {q}", "openai", concurrency=8, progress=False)

    assert len(openai_fake.requests) == 50
    assert out.error.isna().all()
    assert out.content.tolist() == [f"Echo: Answer question {i}" for i in range(50)]
    assert out.index.equals(df.index)
    assert (out.input_tokens > 0).all() and (out.output_tokens > 0).all()


def test_a_rejected_key_fails_every_row_and_shows_nowhere():
    with FakeServer("openai", api_key="sk-the-right-key-0000000000") as server:
        llm.configure("openai", base_url=server.base_url, api_key=TEST_KEY)
        out = llm.map(["a", "b"], "{}", "openai", progress=False)

    assert all(isinstance(e, llm.AuthenticationError) for e in out.error)
    shown = [repr(out), out.to_html(), out.to_csv(), *map(str, out.error), *map(repr, out.error)]
    ledger = llm.costs(tags=f"batch:{out.attrs['batch_id']}")
    shown += [ledger.to_csv(), llm.traces().to_csv()]
    assert not any(TEST_KEY in text for text in shown)
    spec = llm.batch.job.Spec.make("{}", "openai", None, options={"api_key": TEST_KEY})
    assert TEST_KEY not in repr(spec)
