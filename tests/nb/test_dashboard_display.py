"""What the CostDashboard shows: a summary that fits, charts for both themes, no empty charts."""

from __future__ import annotations

import io
import re

import pytest
from matplotlib.image import imread

import llmpipe_nb as llm
from llmpipe_nb.ledger import Ledger
from llmpipe_nb.nb import CostDashboard


@pytest.fixture
def free():
    """Three requests on the mock's two models, which cost nothing."""
    book = Ledger()
    for model in ("mock-1", "mock-1", "mock-large"):
        book.record(llm.build("mock", "hi").with_model(model).run())
    return book


def png(board):
    return imread(io.BytesIO(board.chart_png()), format="png")


def test_a_free_ledger_says_there_is_no_spend_instead_of_an_empty_chart(free):
    board = CostDashboard(free)
    for chart in ("cost by model", "cost over time"):
        board.plot.value = chart
        assert board.nothing_to_draw() == "No spend yet: 3 requests, $0 in all"
        assert png(board).shape[0] < 100  # one line of text, not a 240 px chart
    board.filter(model="mock-large")
    assert board.nothing_to_draw() == "No spend yet: 1 request, $0 in all"
    board.plot.value = "latency"  # latency is there to draw
    assert board.nothing_to_draw() is None and png(board).shape[0] == 240


def test_a_priced_ledger_draws_its_cost_chart(free):
    llm.set_price("mock-large", input_per_mtok=15.0, output_per_mtok=60.0)
    free.record(llm.build("mock", "hi").with_model("mock-large").run())
    board = CostDashboard(free)
    assert board.nothing_to_draw() is None and png(board).shape[0] == 240
    board.filter(model="mock-1")
    assert board.nothing_to_draw() == "No spend yet: 2 requests, $0 in all"


def test_unpriced_requests_are_named_with_the_way_to_price_them(openai_server):
    book = Ledger()
    with pytest.warns(UserWarning, match="No price known"):
        answer = llm.chat(
            "openai", "hi", api_key="sk-test", base_url=openai_server.base_url, model="house-1"
        )
    book.record(answer.request)
    board = CostDashboard(book)
    assert board.nothing_to_draw() == (
        "No spend yet: 1 of 1 requests without a price (llm.set_price sets one)"
    )
    assert "unpriced" in board.summary_html.value


def test_an_empty_ledger_says_so():
    board = CostDashboard(Ledger())
    assert board.nothing_to_draw() == "No requests recorded yet"
    board.plot.value = "time per plug"
    assert board.nothing_to_draw() == "No requests recorded yet"


def test_charts_have_no_background_and_grey_text(free):
    llm.set_price("mock-1", input_per_mtok=2.5, output_per_mtok=10.0)
    free.record(llm.build("mock", "hi").run())
    board = CostDashboard(free)
    pixels = png(board)
    assert pixels[0, 0, 3] == 0  # transparent: the page's own colour shows behind it
    drawn = pixels[pixels[..., 3] > 0][:, :3]
    grey = drawn[(drawn.max(axis=1) - drawn.min(axis=1)) < 0.02]  # text and axes, not bars
    # mid grey: no black text (unreadable on a dark page), no white (unreadable on a light one)
    assert len(grey) > 1000 and grey.min() > 0.4 and grey.max() < 0.6
    assert 'style="max-width:100%"' in board.chart_html.value


def test_the_summary_is_a_compact_table(free):
    llm.set_price("mock-large", input_per_mtok=15.0, output_per_mtok=60.0)
    free.record(llm.build("mock", "hi").with_model("mock-large").run())
    board = CostDashboard(free)
    html = board.summary_html.value
    headers = re.findall("<th>(.*?)</th>", html)
    assert headers == [
        "provider/model", "requests", "tokens in/out", "cost", "cache hits", "saved", "errors",
        "p50/p95 ms",
    ]  # fmt: skip
    rows = [re.findall("<td[^>]*>(.*?)</td>", row) for row in re.findall("<tr><td.*?</tr>", html)]
    assert [row[:2] for row in rows] == [["mock/mock-1", "2"], ["mock/mock-large", "2"]]
    assert rows[0][3] == "$0.000000" and rows[1][3] not in ("$0.000000", "unpriced")
    assert rows[1][2] == "10/80" and rows[1][6] == "0%"
    assert re.fullmatch(r"[\d.]+/[\d.]+", rows[1][7])
    assert "p95_latency_ms" not in html and "overflow-wrap:anywhere" in html


def test_the_controls_get_the_font_of_the_views(free):
    board = CostDashboard(free)
    (scope,) = [c for c in board._dom_classes if c.startswith("llmpipe-")]
    assert f"<style>.{scope}{{font-family:var(--jp-ui-font-family," in board.totals_html.value
    board.refresh()
    assert f"<style>.{scope}{{" in board.totals_html.value  # kept on every redraw
