"""The `llmpipe_nb` logger tree: silent by default, DEBUG per plug, INFO and WARNING where it matters."""

from __future__ import annotations

import logging
import re
import textwrap
import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import StoreError
from llmpipe_nb.observability import logs
from llmpipe_nb.stores.base import CacheStore
from llmpipe_nb.testing import faults


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.DEBUG, logger="llmpipe_nb")
    return caplog


@pytest.fixture(autouse=True)
def no_cell_handler():
    yield
    llm.log_to_notebook(None)


def lines(caplog, logger: str, level: int = logging.DEBUG) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == level]


def test_nothing_is_printed_by_default_not_even_warnings_logged(fresh_python):
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("ignore")
        import llmpipe_nb as llm
        llm.build("mock", "hi").with_budget(per_tag={"nope": 1.0}).execute()
        llm.build("mock", "hi").with_budget(limit=0.0, on_exceed="halt").run()
        """
    )
    out = fresh_python(script)
    assert out.stderr == "" and out.stdout == ""


def test_every_plug_is_a_debug_line_with_its_time_and_outcome(records):
    llm.chat("mock", "Hello", cache=True)
    hit = llm.chat("mock", "Hello", cache=True)
    got = lines(records, "llmpipe_nb.pipeline")
    mine = [line for line in got if line.startswith(hit.request.id + " ")]
    assert [line.split()[1].rstrip(":") for line in mine[:-1]] == [
        s.plug for s in hit.request.trace
    ]
    assert all(" µs, " in line for line in mine[:-1])
    assert mine[-2].endswith("halted (cache hit)")
    assert mine[-1].startswith(f"{hit.request.id} mock/chat halted in ")


def test_a_debug_level_check_is_all_a_request_pays_with_debug_off(monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(logs.steps_log, "isEnabledFor", lambda level: asked.append(level) or False)
    llm.chat("mock", "Hello")
    assert asked == [logging.DEBUG]


def test_retries_are_info_lines(records, openai_server):
    openai_server.inject(faults.http_error(429, headers={"retry-after": "0"}), times=3)
    with pytest.raises(llm.RateLimitError):
        (
            llm.build("openai", "Hello")
            .with_options(base_url=openai_server.base_url, api_key="sk-test-0123456789abcdef")
            .with_retry(max_attempts=3, sleep=lambda s: None)
            .execute()
        )
    assert lines(records, "llmpipe_nb.plugs.retry_policy", logging.INFO) == [
        "openai retry 1 of 2 in 0.00 s after RateLimitError 429.",
        "openai retry 2 of 2 in 0.00 s after RateLimitError 429.",
        "openai gave up after attempt 3 of 3 failed with RateLimitError 429.",
    ]


def test_circuit_breaker_changes_are_info_lines(records, openai_server):
    now = [0.0]
    builder = (
        llm.build("openai", "Hello")
        .with_options(base_url=openai_server.base_url, api_key="sk-test-0123456789abcdef")
        .with_circuit_breaker(failure_threshold=1, recovery_time=5.0, clock=lambda: now[0])
    )
    openai_server.inject(faults.http_error(500))
    with pytest.raises(llm.ServerError):
        builder.execute()
    with pytest.raises(llm.CircuitOpenError):
        builder.execute()  # refused: no change, no line
    now[0] = 10.0
    builder.execute()
    where = f"The circuit for 'openai' at {openai_server.base_url} is"
    assert lines(records, "llmpipe_nb.plugs.circuit_breaker", logging.INFO) == [
        f"{where} open: after 1 consecutive failures; calls fail at once for 5 s.",
        f"{where} half_open: a trial call goes through.",
        f"{where} closed: the provider answered.",
    ]


class BrokenStore(CacheStore):
    def get(self, key):
        return None

    def set(self, key, value, ttl=None):
        raise StoreError("The cache store is unreachable.")


def test_a_cache_store_failure_warns_once_then_logs_info(records):
    builder = llm.build("mock", "Hello").with_cache(store=BrokenStore())
    with pytest.warns(UserWarning, match="unreachable"):
        builder.execute()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        builder.execute()
    logger = "llmpipe_nb.plugs.cache"
    assert lines(records, logger, logging.WARNING) == [
        "The cache store is unreachable. Until then requests are sent without the cache."
    ]
    assert lines(records, logger, logging.INFO) == [
        "The cache store is unreachable. The request goes on uncached."
    ]


def test_a_budget_stop_is_an_info_line_and_a_budget_warning_a_warning_line(records):
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=1.0)
    assert llm.build("mock", "hi").with_budget(limit=0.0, on_exceed="halt").run().state == "halted"
    (line,) = lines(records, "llmpipe_nb.plugs.budget", logging.INFO)
    assert re.match(r"req-\S+ to mock was not sent: The budget for overall is \$0\.0000", line)
    with pytest.warns(UserWarning, match="per_tag limits"):
        llm.build("mock", "hi").with_budget(per_tag={"nope": 1.0}).execute()
    (warned,) = lines(records, "llmpipe_nb.plugs.budget", logging.WARNING)
    assert warned.startswith("Budget per_tag limits 'nope'")


def test_log_to_notebook_shows_lines_in_the_cell_output(capsys):
    llm.log_to_notebook("debug")
    llm.chat("mock", "Hello")
    err = capsys.readouterr().err
    assert "DEBUG llmpipe_nb.pipeline: req-" in err and "TrackCost" in err

    llm.log_to_notebook("info")
    llm.chat("mock", "Hello")
    assert capsys.readouterr().err == ""

    llm.log_to_notebook("off")
    assert not [
        h for h in logging.getLogger("llmpipe_nb").handlers if isinstance(h, logs.CellHandler)
    ]
    assert logging.getLogger("llmpipe_nb").level == logging.NOTSET


def test_log_to_notebook_refuses_an_unknown_level():
    with pytest.raises(llm.ConfigError, match="log level must be one of debug, info"):
        llm.log_to_notebook("verbose")


def test_the_magic_turns_log_lines_on_and_off(capsys):
    pytest.importorskip("IPython")
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        shell.extension_manager.load_extension("llmpipe_nb")
        shell.run_line_magic("llm", "log debug")
        llm.chat("mock", "Hello")
        out = capsys.readouterr()
        assert "log lines at DEBUG and above" in out.out
        assert "llmpipe_nb.pipeline" in out.err
        shell.run_line_magic("llm", "log off")
        llm.chat("mock", "Hello")
        assert capsys.readouterr().err == ""
        with pytest.raises(UsageError, match="log level must be one of"):
            shell.run_line_magic("llm", "log loud")
    finally:
        InteractiveShell.clear_instance()
