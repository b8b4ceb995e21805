"""Rows written to SQLite as they happen, read back in new processes, shared by many writers."""

from __future__ import annotations

import json
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import uuid

import pytest

import llmpipe_nb as llm
from llmpipe_nb.ledger.store import SQLiteLedgerStore


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_persist_writes_each_row_as_it_happens(tmp_path, priced_mock):
    path = tmp_path / "ledger.sqlite"
    llm.chat("mock", "before persisting")
    llm.ledger().persist(path)
    assert llm.ledger().path == str(path)
    assert len(llm.Ledger.open(path)) == 1  # the rows so far are written at once
    for n in range(2, 5):
        llm.chat("mock", f"row {n}")
        assert len(llm.Ledger.open(path)) == n
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_reopened_ledger_equals_the_one_that_wrote_it(tmp_path, priced_mock):
    path = tmp_path / "ledger.sqlite"
    llm.ledger().persist(path)
    with llm.tag("persisted"):
        llm.chat("mock", "one")
        llm.embeddings("mock", ["a", "b"])
    llm.providers.get("mock").fail_next(llm.RateLimitError)
    with pytest.raises(llm.RateLimitError):
        llm.chat("mock", "two")
    cached = llm.build("mock", f"three {uuid.uuid4()}").with_cache(store="memory")
    cached.execute()
    cached.execute()
    assert llm.costs().cache_hit.sum() == 1

    reopened = llm.Ledger.open(path)
    assert reopened.costs().equals(llm.costs())
    assert reopened.traces().equals(llm.traces())
    assert reopened.spent(tag="persisted") == pytest.approx(llm.ledger().spent(tag="persisted"))


def test_history_survives_into_a_new_process(tmp_path):
    path = tmp_path / "history.sqlite"
    writer = """
        import json, llmpipe_nb as llm
        llm.set_price("mock-1", input_per_mtok=3, output_per_mtok=15)
        costs = [llm.chat("mock", f"question {i}").cost for i in range(5)]
        print(json.dumps({"sum": sum(costs), "ids": sorted(llm.costs().request_id)}))
    """
    written = json.loads(run_python(writer, LLMPIPE_LEDGER=str(path)).stdout)
    reader = f"""
        import json, llmpipe_nb as llm
        history = llm.Ledger.open({str(path)!r})
        costs = history.costs()
        print(json.dumps({{"sum": costs.cost_usd.sum(), "ids": sorted(costs.request_id),
                          "traces": len(history.traces()), "own": len(llm.costs())}}))
    """
    read = json.loads(run_python(reader).stdout)
    assert read["ids"] == written["ids"]
    assert read["sum"] == pytest.approx(written["sum"]) and read["sum"] > 0
    assert read["traces"] == 35 and read["own"] == 0


def test_several_processes_writing_one_file_lose_no_rows(tmp_path):
    path = tmp_path / "shared.sqlite"
    writer = """
        import asyncio, llmpipe_nb as llm
        async def main():
            await asyncio.gather(*(llm.achat("mock", f"q{i}") for i in range(150)))
        asyncio.run(main())
    """
    import os

    env = {**os.environ, "LLMPIPE_LEDGER": str(path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(writer)], env=env) for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]

    shared = llm.Ledger.open(path)
    costs, traces = shared.costs(), shared.traces()
    assert len(costs) == 600 and costs.request_id.is_unique
    assert len(traces) == 600 * 7
    assert (traces.groupby("request_id").size() == 7).all()
    assert costs.request_id.str.rsplit("-", n=1).str[0].nunique() == 4


def test_the_environment_variable_turns_persistence_on_and_off(tmp_path, monkeypatch):
    path = tmp_path / "env.sqlite"
    monkeypatch.setenv("LLMPIPE_LEDGER", str(path))
    llm.chat("mock", "kept")
    assert llm.ledger().path == str(path)
    monkeypatch.delenv("LLMPIPE_LEDGER")
    llm.chat("mock", "not written")
    assert llm.ledger().path is None
    assert len(llm.Ledger.open(path)) == 1 and len(llm.ledger()) == 2


def test_an_unusable_environment_variable_loses_no_request(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LLMPIPE_LEDGER", str(tmp_path / "ok.sqlite"))
    llm.chat("mock", "written")
    monkeypatch.setenv("LLMPIPE_LEDGER", str(blocker / "ledger.sqlite"))
    assert llm.chat("mock", "kept in memory").content
    assert len(llm.costs()) == 2 and llm.ledger().path is None
    assert "LLMPIPE_LEDGER" in caplog.text and "writable SQLite file" in caplog.text
    assert len(llm.Ledger.open(tmp_path / "ok.sqlite")) == 1


def test_an_explicit_persist_beats_the_environment_variable(tmp_path, monkeypatch):
    chosen, env = tmp_path / "chosen.sqlite", tmp_path / "env.sqlite"
    llm.ledger().persist(chosen)
    monkeypatch.setenv("LLMPIPE_LEDGER", str(env))
    llm.chat("mock", "hi")
    assert llm.ledger().path == str(chosen)
    assert len(llm.Ledger.open(chosen)) == 1 and not env.exists()


def test_rows_from_another_process_join_this_ledger_and_its_file(tmp_path):
    path, shipped = tmp_path / "merged.sqlite", tmp_path / "rows.pickle"
    worker = f"""
        import pickle, llmpipe_nb as llm
        for i in range(3):
            llm.chat("mock", f"on a worker {{i}}")
        pickle.dump(llm.ledger().rows(), open({str(shipped)!r}, "wb"))
    """
    run_python(worker)
    llm.chat("mock", "here")
    llm.ledger().persist(path)
    llm.ledger().extend(pickle.loads(shipped.read_bytes()))
    assert len(llm.costs()) == 4 and len(llm.traces()) == 28
    assert llm.Ledger.open(path).costs().equals(llm.costs())


def test_opening_a_missing_file_says_so(tmp_path):
    with pytest.raises(llm.StoreError, match="No ledger file at"):
        llm.Ledger.open(tmp_path / "typo.sqlite")
    assert not (tmp_path / "typo.sqlite").exists()


def test_opening_a_file_that_is_not_a_ledger_says_so(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not the rows you are looking for\n" * 100)
    with pytest.raises(llm.StoreError, match=r"Cannot use .* as a ledger file"):
        llm.Ledger.open(path)


def test_persisting_into_an_unwritable_place_says_so(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(llm.StoreError, match="give the path of a writable SQLite file"):
        llm.ledger().persist(blocker / "ledger.sqlite")
    assert llm.ledger().path is None


def test_rows_that_cannot_be_written_yet_are_written_with_the_next(tmp_path):
    path = tmp_path / "busy.sqlite"
    store = SQLiteLedgerStore(path, timeout=0.05)
    ledger = llm.Ledger()
    ledger.record(llm.build("mock", "first").run())
    ledger.record(llm.build("mock", "second").run())
    first, second = ledger.rows().costs
    traces = ledger.rows().traces

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    assert store.write([first], traces[:7]) is False
    blocker.execute("COMMIT")
    assert store.write([second], traces[7:]) is True

    costs, trace_rows = store.read()
    assert [r[0] for r in costs] == [first[0], second[0]]
    assert len(trace_rows) == 14


def test_a_file_from_before_the_estimated_columns_gains_them(tmp_path):
    path = tmp_path / "old.sqlite"
    llm.ledger().persist(path)
    llm.chat("mock", "an old row")
    llm.ledger().persist(None)
    llm.ledger().reset()
    with sqlite3.connect(path) as conn:  # the file as it was before these columns
        conn.execute("ALTER TABLE costs DROP COLUMN estimated")
        conn.execute("ALTER TABLE costs DROP COLUMN tokens_per_s")
    llm.ledger().persist(path)
    llm.chat("mock", "a new row")
    rows = llm.Ledger.open(path).costs()
    assert len(rows) == 2
    assert rows.estimated.tolist() == [False, False]
    assert rows.tokens_per_s.isna().all()
