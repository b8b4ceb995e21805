"""Progress displays: counts, spend and ETA, in a callback, a rich bar or a notebook widget."""

from __future__ import annotations

import llmpipe_nb as llm
from llmpipe_nb.batch.engine import Tally
from llmpipe_nb.batch.progress import WidgetBar, make_display, summary


def test_the_summary_counts_done_failed_cached_spend_and_eta():
    tally = Tally(total=10, done=3, failed=1, cache_hits=2, spent_usd=0.0123)
    tally.started_at -= 4.0  # 4 rows in 4 s: 6 left take about 6 s
    text = summary(tally)
    assert text.startswith("4/10 · 3 done · 1 failed · 2 cached · $0.012300 · ETA ")
    assert text.endswith(("5s", "6s", "7s"))
    assert summary(tally, "stopped at max_cost").endswith("stopped at max_cost")


def test_a_callback_sees_the_final_counts(mock):
    def respond(body):
        text = body["messages"][-1]["content"]
        return llm.ServerError("boom", provider="mock") if text == "b" else text

    mock.configure(respond=respond)
    seen: list[tuple[int, int, int]] = []
    llm.map(list("abc"), "{}", progress=lambda t: seen.append((t.total, t.done, t.failed)))
    assert seen[-1] == (3, 2, 1)


def test_the_rich_bar_draws_on_stderr(mock, capsys):
    llm.map(list("abc"), "{}", progress="rich")
    err = capsys.readouterr().err
    assert "llm.map" in err and "3/3 · 3 done · 0 failed" in err


def test_nothing_is_drawn_outside_a_terminal_or_notebook(mock, capsys):
    llm.map(list("abc"), "{}")
    assert capsys.readouterr() == ("", "")
    assert make_display(True, 3) is None


def test_the_widget_bar_counts_and_colours_and_escapes(capsys):
    bar = WidgetBar(4)
    tally = Tally(total=4)
    tally.done, tally.failed = 2, 1
    bar.update(tally)
    assert bar.bar.value == 3
    assert "3/4 · 2 done · 1 failed" in bar.label.value
    bar.close(tally, "<stopped>")
    assert bar.bar.bar_style == "warning"
    assert "&lt;stopped&gt;" in bar.label.value and "<stopped>" not in bar.label.value
    tally.done = 4 - tally.failed
    bar.close(tally)
    assert bar.bar.bar_style == "danger"
