"""The magics and llm.replay, persistent caches: `%llm replay`, `%llm config cache=...`,
`%%llm --cache=STORE`, in an in-process IPython shell."""

from __future__ import annotations

import sqlite3

import pytest
from IPython.core.error import UsageError

import llmpipe_nb as llm
from llmpipe_nb.nb.magics import CellError
from llmpipe_nb.stores import close_stores


@pytest.fixture(autouse=True)
def fresh():
    yield
    llm.replay(None)
    close_stores()


def test_replay_routes_the_magics_through_the_recording(ip, mock, tmp_path, cells):
    tape = tmp_path / "nb.llm.sqlite"
    cap = cells.ok(f"%llm replay {tape} --mode record")
    assert "mode='record'" in cap.stdout
    cells.ok("%%llm mock\nName three rivers")
    recorded = ip.user_ns["_"]
    line = ip.run_line_magic("llm", "mock Name three lakes")
    cells.ok("%llm replay off")
    mock.fail_next(llm.ProviderConnectionError, times=10)  # unreachable from now on
    cap = cells.ok(f"%llm replay {tape} --mode=replay")
    cells.ok("%%llm mock\nName three rivers")
    assert ip.user_ns["_"].content == recorded.content
    assert ip.user_ns["_"].cost_status == "replayed"
    assert ip.run_line_magic("llm", "mock Name three lakes").content == line.content
    cap = cells.ok("%llm replay")
    assert "2 replayed" in cap.stdout
    with pytest.raises(CellError, match="No recording in"):
        ip.run_line_magic("llm", "mock Name three mountains")


def test_the_replayed_cell_says_so(ip, mock, tmp_path, cells):
    tape = tmp_path / "nb.llm.sqlite"
    ip.run_line_magic("llm", f"replay {tape}")
    cells.ok("%%llm mock --no-stream\nShow me")
    cap = cells.ok("%%llm mock --no-stream\nShow me")
    assert "replayed" in cap.outputs[-1].data["text/plain"]
    assert len(mock.requests) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("replay", None),
        ("replay a.sqlite --mode play", "--mode takes auto, record, replay"),
        ("replay a.sqlite b.sqlite", "Unexpected 'b.sqlite'"),
        ("replay --realtime", "usage: %llm replay PATH"),
    ],
)
def test_replay_usage(ip, line, message, capsys):
    if message is None:
        ip.run_line_magic("llm", line)
        assert "No recording is on" in capsys.readouterr().out
        return
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("llm", line)


def test_replay_mode_on_a_missing_recording_is_one_line(ip, tmp_path):
    with pytest.raises(CellError, match="There is no recording at"):
        ip.run_line_magic("llm", f"replay {tmp_path / 'none.sqlite'} --mode replay")


def test_config_cache_sqlite_persists_answers_in_a_file(ip, mock, tmp_path, cells):
    path = tmp_path / "magic-cache.sqlite3"
    table = ip.run_line_magic("llm", f"config cache=sqlite cache_path={path}")
    assert "sqlite" in table.text
    cells.ok("%%llm mock\nRemember me")
    close_stores()  # a kernel restart: only the file remains
    cells.ok("%%llm mock\nRemember me")
    assert ip.user_ns["_"].cache_hit is True and len(mock.requests) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM cache").fetchone()[0] == 1
    ip.run_line_magic("llm", "config cache=off")
    cells.ok("%%llm mock\nRemember me")
    assert len(mock.requests) == 2


def test_cell_cache_store_option(ip, mock, tmp_path, monkeypatch, cells):
    ip.run_line_magic("llm", f"config cache_path={tmp_path / 'cell.sqlite3'}")
    cells.ok("%%llm mock --cache=sqlite\nOnce only")
    cells.ok("%%llm mock --cache=sqlite\nOnce only")
    assert ip.user_ns["_"].cache_hit and len(mock.requests) == 1
    assert (tmp_path / "cell.sqlite3").exists()
    answer = ip.run_line_magic("llm", "mock --cache=memory Line once")
    assert not answer.cache_hit
    assert ip.run_line_magic("llm", "mock --cache=memory Line once").cache_hit
    with pytest.raises(UsageError, match="'disk' is not a cache: use on, off, memory"):
        ip.run_line_magic("llm", "mock --cache=disk hi")


def test_config_cache_redis(ip, mock, redis_url, cells):
    from llmpipe_nb.plugs.cache import Cache

    Cache(store="redis", url=redis_url).clear()
    ip.run_line_magic("llm", f"config cache=redis cache_url={redis_url}")
    cells.ok("%%llm mock\nTo redis")
    cells.ok("%%llm mock\nTo redis")
    assert ip.user_ns["_"].cache_hit and len(mock.requests) == 1


def test_a_cache_url_password_never_shows(ip):
    table = ip.run_line_magic("llm", "config cache_url=redis://:hunter2-secret@127.0.0.1:1/0")
    assert "hunter2-secret" not in table.text + table._repr_html_()
