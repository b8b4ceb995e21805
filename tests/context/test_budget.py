"""The token budget: values shrink in order until the prompt fits, or nothing is sent."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb import ConfigError
from llmpipe_nb.context.frames import SUMMARY, Table
from llmpipe_nb.tokens import estimate_tokens, register_tokenizer

BUDGETS = (4_000, 1_000, 150)


def sales(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=n, freq="min"),
            "region": rng.choice(["north", "south", "east", "west", "central"], n),
            "product": rng.choice([f"sku-{i:03d}" for i in range(200)], n),
            "units": rng.integers(1, 50, n),
            "price": rng.normal(20, 5, n).round(2),
            "revenue": rng.lognormal(3, 1, n),
            "returned": rng.random(n) < 0.03,
        }
    )
    df.loc[rng.choice(n, n // 200, replace=False), "price"] = np.nan
    return df


@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    return sales(1_000_000)


def test_a_million_rows_render_under_each_budget_in_under_200_ms(million):
    llm.prompt("{df}", df=million.head(50))  # first use: imports and caches, not measured
    for budget in BUDGETS:
        times = []
        for _ in range(3):  # the best of three: the render's cost, not the machine's load
            t0 = time.perf_counter()
            p = llm.prompt("Which columns of {sales} have outliers?", sales=million, budget=budget)
            times.append(time.perf_counter() - t0)
        assert p.tokens <= budget
        assert min(times) < 0.2, f"budget {budget}: {min(times) * 1000:.0f} ms"
        assert "1,000,000 rows, 7 columns" in p.text


def test_the_summary_shrinks_rows_then_columns_then_to_the_schema():
    table = Table(sales(3_000).assign(**{f"extra{i}": i for i in range(20)}))
    texts = [table.summary(plan) for plan in SUMMARY]
    assert "random 5 rows" in texts[0]
    assert "random 5" not in texts[1] and "(random rows left out)" in texts[1]
    assert "first 3 rows" in texts[1] and "last 2 rows" in texts[1]
    assert "rows:" not in texts[2] and "(rows left out)" in texts[2] and "mean" in texts[2]
    assert "… 7 more columns not described" in texts[3] and "mean" in texts[3]
    assert "… 17 more columns not described" in texts[4]
    assert "mean" not in texts[5] and "columns (dtype, nulls):" in texts[5]
    assert texts[6].startswith("DataFrame: 3,000 rows, 27 columns") and "- date" not in texts[6]
    assert [len(t) for t in texts] == sorted((len(t) for t in texts), reverse=True)


def test_the_largest_value_shrinks_first_and_the_prompt_says_so():
    df = sales(2_000)
    note = "a short note"
    p = llm.prompt("{note}\n{df}", note=note, df=df, budget=300)
    assert p.text.startswith("a short note\n```\nDataFrame: 2,000 rows")
    assert "(random rows left out)" in p.text
    assert p.notes == ("{df} was shortened to fit the budget of 300 tokens",)
    assert p.tokens <= 300


def test_a_budget_too_small_for_the_most_compact_rendering_sends_nothing(monkeypatch):
    mock = llm.providers.get("mock")
    with pytest.raises(ConfigError, match=r"needs about \d+ tokens with every value at its most"):
        llm.chat("mock", llm.prompt("{df}", df=sales(100), budget=5))
    with pytest.raises(ConfigError, match=r"own text takes about \d+ tokens .* budget of 2"):
        llm.prompt("a prompt that is longer than two tokens", budget=2)
    with pytest.raises(ConfigError, match="budget must be a positive whole number"):
        llm.prompt("x", budget=0)
    assert mock.requests == []


def test_a_registered_tokenizer_counts_the_budget():
    words = lambda text, model: len(text.split())  # noqa: E731 - a stand-in tokenizer
    register_tokenizer("mock", words)
    try:
        p = llm.prompt("one two three {x}", x="four five", target="mock")
        assert p.tokens == 5 and p.counted_by == "mock's tokenizer"
        assert llm.prompt("one two three", target="openai").counted_by == "estimate"
    finally:
        register_tokenizer("mock", None)
    assert llm.prompt("one two three", target="mock").tokens == estimate_tokens("one two three")


def test_the_default_budget_is_a_quarter_of_the_context_window():
    assert llm.prompt("hi", target="mock").budget == 32_000  # the mock's window is 128,000
    assert llm.prompt("hi", target="ollama:llama3").budget == 2_048
    assert llm.prompt("hi").budget == 8_000  # no model: the window is unknown


def test_a_key_shaped_value_is_redacted_before_it_is_counted():
    p = llm.prompt("Debug {cfg}", cfg="url=https://x.test token=sk-live-abcdefghijklmnop")
    assert p.text == "Debug url=https://x.test token=***"
