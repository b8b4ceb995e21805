"""What the CostDashboard shows: a summary table that fits a narrow notebook."""

from __future__ import annotations

import re

import pytest

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
