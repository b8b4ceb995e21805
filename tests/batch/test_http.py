"""llm.map over real HTTP against the loopback OpenAI server; keys never show."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

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


def test_a_missing_key_raises_once_before_any_row_is_sent():
    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url)
        with pytest.raises(llm.MissingKeyError, match="OPENAI_API_KEY"):
            llm.map(["a", "b", "c"], "{}", "openai", progress=False)
        with pytest.raises(llm.MissingKeyError, match="OPENAI_API_KEY"):
            asyncio.run(llm.amap(["a", "b", "c"], "{}", "openai", progress=False))
        assert server.requests == []
        assert llm.estimate(["a"], "{}", "openai").rows == 1  # an estimate needs no key
    assert len(llm.costs()) == 0  # no ledger row per row either


def test_empty_cells_are_not_sent_and_fail_on_their_own_row(openai_fake):
    df = pd.DataFrame(
        {"name": ["kettle", None, "lamp", "chair"], "note": ["hot", "ok", float("nan"), pd.NA]},
        index=["r1", "r2", "r3", "r4"],
        dtype=object,
    )
    out = llm.map(df, "{name}: {note}", "openai", progress=False)

    assert [r.json["messages"][0]["content"] for r in openai_fake.requests] == ["kettle: hot"]
    assert out.loc["r1", "content"] == "Echo: kettle: hot" and out.loc["r1", "error"] is None
    errors = {rid: out.loc[rid, "error"] for rid in ("r2", "r3", "r4")}
    assert all(isinstance(e, llm.ConfigError) for e in errors.values())
    assert "{name} is empty (None)" in str(errors["r2"])
    assert "{note} is empty (NaN)" in str(errors["r3"])
    assert "{note} is empty" in str(errors["r4"])  # pandas hands pd.NA over as None
    assert "not sent" in str(errors["r2"])
    assert out.loc[["r2", "r3", "r4"], "content"].isna().all()
    assert len(llm.costs(tags=f"batch:{out.attrs['batch_id']}")) == 1


def test_a_function_prompt_decides_about_empty_cells_itself(openai_fake):
    out = llm.map(
        pd.DataFrame({"name": ["kettle", None]}),
        lambda row: f"Describe {row['name'] or 'something'}",
        "openai",
        progress=False,
    )
    assert out.error.isna().all() and len(openai_fake.requests) == 2
