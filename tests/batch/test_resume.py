"""Resumable batches: what finished is kept, and a rerun with the cache sends only the rest."""

from __future__ import annotations

import _thread
import threading

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import Fault, faults


def test_a_rerun_after_failed_rows_sends_only_those_rows(openai_fake, tmp_path):
    cache = {"store": "sqlite", "path": str(tmp_path / "cache.sqlite")}
    items = [f"question {i}" for i in range(6)]
    openai_fake.inject(Fault(), Fault(), faults.http_error(500), Fault(), faults.http_error(503))

    first = llm.map(items, "{}", "openai", concurrency=1, cache=cache, progress=False)
    assert first.error.notna().tolist() == [False, False, True, False, True, False]
    assert all(isinstance(e, llm.ServerError) for e in first.error.dropna())
    openai_fake.clear()

    second = llm.map(items, "{}", "openai", concurrency=1, cache=cache, progress=False)
    sent = [r.json["messages"][-1]["content"] for r in openai_fake.requests]
    assert sent == ["question 2", "question 4"]
    assert second.error.isna().all()
    assert second.cache_hit.tolist() == [True, True, False, True, False, True]
    assert second.loc[second.cache_hit, "cost_usd"].eq(0).all()
    assert second.loc[~first.error.notna(), "content"].equals(
        first.loc[~first.error.notna(), "content"]
    )


def test_an_interrupted_batch_keeps_what_finished_and_resumes(mock, redis_cache):
    mock.configure(latency=0.02)
    items = [f"item {i}" for i in range(40)]
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    with pytest.raises(llm.BatchInterrupted) as caught:
        llm.map(items, "{}", concurrency=2, cache=redis_cache, progress=False)
    timer.cancel()

    partial = caught.value.partial
    finished = partial.content.notna()
    assert 0 < finished.sum() < len(items)
    assert partial.index.tolist() == list(range(40))
    assert all("interrupted" in str(e) for e in partial.error[~finished])
    assert isinstance(caught.value, KeyboardInterrupt)
    mock.reset()

    rerun = llm.map(items, "{}", concurrency=8, cache=redis_cache, progress=False)
    assert rerun.error.isna().all()
    # a row in flight (at most concurrency=2) may have stored its answer as the interrupt
    # came: the partial table lacks it, the rerun takes it from the cache
    stored_late = rerun.cache_hit & ~finished
    assert stored_late.sum() <= 2
    assert len(mock.requests) == (~finished).sum() - stored_late.sum()
    assert rerun.cache_hit.tolist() == (finished | stored_late).tolist()
    assert rerun.content[finished].equals(partial.content[finished])
