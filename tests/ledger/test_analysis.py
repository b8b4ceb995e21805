"""Summary, HTML view, plots (Agg) and exports, checked against the rows they come from."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers.mock import MockProvider


class AcmeProvider(MockProvider):
    name = "acme"
    default_model = "acme-small"
    local = False


@pytest.fixture
def history(priced_mock):
    """Two providers, three models, an error and a cache hit."""
    llm.providers.register("acme", AcmeProvider)
    llm.set_price("acme-small", input_per_mtok=1.0, output_per_mtok=2.0)
    mock = llm.providers.get("mock")
    for i in range(6):
        llm.chat("mock", f"question number {i}", mock_latency=0.001 * (i % 3))
    for i in range(3):
        llm.chat("acme", f"acme question {i}")
    llm.embeddings("mock", ["x", "y"])
    mock.fail_next(llm.ServerError)
    with pytest.raises(llm.ServerError):
        llm.chat("mock", "this one fails")
    cached = llm.build("mock", f"cached {uuid.uuid4()}").with_cache(store="memory")
    cached.execute()
    cached.execute()
    return llm.ledger()


def test_summary_is_per_provider_and_model(history):
    summary = history.summary()
    costs = llm.costs()
    assert list(summary.index) == [
        ("acme", "acme-small"),
        ("mock", "mock-1"),
        ("mock", "mock-embed-1"),
    ]
    assert list(summary.columns) == [
        "requests",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "cache_hits",
        "cost_saved_usd",
        "error_rate",
        "p50_latency_ms",
        "p95_latency_ms",
    ]
    mock = summary.loc[("mock", "mock-1")]
    rows = costs[(costs.provider == "mock") & (costs.model == "mock-1")]
    assert mock.requests == len(rows) == 9
    assert mock.input_tokens == rows.input_tokens.sum()
    assert mock.cost_usd == pytest.approx(rows.cost_usd.sum())
    assert mock.cache_hits == 1
    assert mock.cost_saved_usd == pytest.approx(rows.cost_usd.iloc[-2])
    assert mock.error_rate == pytest.approx(1 / 9)
    assert mock.p50_latency_ms == pytest.approx(np.percentile(rows.latency_ms, 50))
    assert mock.p95_latency_ms == pytest.approx(np.percentile(rows.latency_ms, 95))
    assert summary.cost_usd.sum() == pytest.approx(costs.cost_usd.sum())
    assert {c: str(t) for c, t in summary.dtypes.items()} == {
        "requests": "int64",
        "input_tokens": "int64",
        "output_tokens": "int64",
        "cost_usd": "float64",
        "cache_hits": "int64",
        "cost_saved_usd": "float64",
        "error_rate": "float64",
        "p50_latency_ms": "float64",
        "p95_latency_ms": "float64",
    }


def test_summary_takes_the_same_filters(history):
    assert list(history.summary(provider="acme").index) == [("acme", "acme-small")]
    assert history.summary(provider="nobody").empty


def test_an_empty_ledger_says_so_in_html_and_summarises_to_an_empty_table():
    assert "No requests recorded yet." in llm.ledger()._repr_html_()
    summary = llm.ledger().summary()
    assert summary.empty and list(summary.index.names) == ["provider", "model"]


def test_the_html_view_is_scoped_escaped_and_has_a_text_twin(priced_mock):
    llm.Secret("sk-canary-html-0123456789")
    llm.chat("mock", "hi", model="<script>alert(1)</script>")
    ledger = llm.ledger()
    page = ledger._repr_html_()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    box = page.split('id="', 1)[1].split('"', 1)[0]
    assert box.startswith("llmpipe-ledger-") and f"#{box} table" in page
    assert "sk-canary" not in page
    assert page != llm.ledger()._repr_html_()  # a fresh container id per rendering
    assert repr(ledger) == "Ledger(requests=1, cost=$0.000000)"


def test_cost_over_time_plot_carries_the_cumulative_cost(history):
    ax = history.plot_cost_over_time()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"acme/acme-small", "mock/mock-1", "mock/mock-embed-1"}
    costs = llm.costs()
    for label, line in lines.items():
        provider, model = label.split("/")
        spent = costs[(costs.provider == provider) & (costs.model == model)].cost_usd.sum()
        ydata = line.get_ydata()
        assert ydata[-1] == pytest.approx(spent)
        assert (np.diff(ydata) >= 0).all()
    assert ax.get_ylabel() == "USD"


def test_cost_by_model_plot_has_one_bar_per_model(history):
    ax = history.plot_cost_by_model()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    by = llm.costs().groupby(["provider", "model"]).cost_usd.sum()
    expected = {f"{p}/{m}": v for (p, m), v in by.items()}
    assert dict(zip(labels, widths, strict=True)) == pytest.approx(expected)


def test_latency_plot_counts_every_request(history):
    ax = history.plot_latency(bins=10)
    counts = [p.get_height() for p in ax.patches]
    assert len(counts) == 10 and sum(counts) == len(llm.costs())


def test_plug_time_plot_shares_add_up_to_a_hundred(history):
    ax = history.plot_plug_time()
    shares = dict(
        zip(
            [t.get_text() for t in ax.get_yticklabels()],
            [p.get_width() for p in ax.patches],
            strict=True,
        )
    )
    assert sum(shares.values()) == pytest.approx(100)
    traces = llm.traces()
    assert set(shares) == set(traces.plug)
    expected = 100 * traces.groupby("plug").duration_us.sum() / traces.duration_us.sum()
    assert shares == pytest.approx(expected.to_dict())


def test_plots_draw_into_a_given_axes_and_accept_filters(history):
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2)
    assert history.plot_cost_by_model(ax=axes[0], provider="acme") is axes[0]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["acme/acme-small"]
    assert history.plot_latency(ax=axes[1], model="acme-small") is axes[1]


@pytest.mark.parametrize(
    "plot", ["plot_cost_over_time", "plot_cost_by_model", "plot_latency", "plot_plug_time"]
)
def test_an_empty_ledger_draws_an_empty_chart(plot):
    ax = getattr(llm.ledger(), plot)()
    assert [t.get_text() for t in ax.texts] == ["no rows"]
    assert ax.get_title()


def test_csv_export_round_trips(history, tmp_path):
    history.to_csv(tmp_path / "costs.csv")
    history.to_csv(tmp_path / "traces.csv", table="traces")
    costs = pd.read_csv(tmp_path / "costs.csv")
    assert list(costs.columns) == list(llm.costs().columns)
    assert costs.cost_usd.sum() == pytest.approx(llm.costs().cost_usd.sum())
    assert [tuple(json.loads(t)) for t in costs.tags] == llm.costs().tags.tolist()
    assert len(pd.read_csv(tmp_path / "traces.csv")) == len(llm.traces())


def test_parquet_export_round_trips(history, tmp_path):
    with llm.tag("exported"):
        llm.chat("mock", "tagged")
    history.to_parquet(tmp_path / "costs.parquet", provider="mock")
    back = pd.read_parquet(tmp_path / "costs.parquet")
    mine = llm.costs(provider="mock")
    assert back.request_id.tolist() == mine.request_id.tolist()
    assert back.cost_usd.sum() == pytest.approx(mine.cost_usd.sum())
    assert list(back.tags.iloc[-1]) == ["exported"]
    assert str(back.ts.dtype).startswith("datetime64")


def test_an_unknown_table_is_refused(tmp_path):
    with pytest.raises(llm.ConfigError, match="Unknown ledger table 'cost'"):
        llm.ledger().to_csv(tmp_path / "x.csv", table="cost")
    assert not (tmp_path / "x.csv").exists()


def test_rich_table_shows_every_model_without_reading_markup(priced_mock):
    from rich.console import Console

    llm.chat("mock", "hi", model="[bold]odd[/bold]")
    llm.chat("mock", "hi")
    console = Console(record=True, width=140)
    console.print(llm.ledger())
    text = console.export_text()
    assert "mock/[bold]odd[/bold]" in text and "mock/mock-1" in text
