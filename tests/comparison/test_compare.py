"""llm.compare on the mock provider: the grid, the table, the summary, labels, errors, limits."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers.mock import default_reply

TWO = ["mock:mock-1", "mock:mock-large"]


def by_model(body):
    """A mock "model" whose answer names the model, so columns can be told apart."""
    return f"{body['model']} says: {body['messages'][-1]['content']}"


def sent(mock):
    return [call.json for call in mock.requests]


# -- the grid and the table -----------------------------------------------------------------


def test_each_prompt_goes_to_each_model_and_lands_in_its_cell(mock):
    mock.configure(respond=by_model)
    cmp = llm.compare(["Hello there", "Tell me about sharks"], models=TWO, live=False)

    assert cmp.models == TWO
    assert [[c.text for c in row] for row in cmp.cells] == [
        ["mock-1 says: Hello there", "mock-large says: Hello there"],
        ["mock-1 says: Tell me about sharks", "mock-large says: Tell me about sharks"],
    ]
    assert sorted((b["model"], b["messages"][-1]["content"]) for b in sent(mock)) == sorted(
        (m, p) for m in ("mock-1", "mock-large") for p in ("Hello there", "Tell me about sharks")
    )
    assert all(call.stream is not None for call in mock.requests)  # streamed: the grid fills live

    frame = cmp.to_frame()
    assert list(frame.columns) == [
        "prompt",
        "row",
        "model",
        "content",
        "latency_ms",
        "ttft_ms",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "error",
    ]
    assert frame.model.tolist() == TWO * 2
    assert frame.prompt.tolist() == ["Hello there"] * 2 + ["Tell me about sharks"] * 2
    assert frame.row.isna().all() and frame.error.isna().all()
    assert (frame.output_tokens > 0).all() and frame.ttft_ms.notna().all()
    assert frame.attrs["comparison_id"] == cmp.id
    assert frame.content[0] == "mock-1 says: Hello there"


def test_templates_are_filled_from_each_row_of_the_data(mock):
    mock.configure(respond=by_model)
    df = pd.DataFrame({"text": ["a cat sat", "dogs bark"]}, index=pd.Index(["r1", "r2"]))

    def shout(row):
        return f"SHOUT {row['text'].upper()}"

    cmp = llm.compare(["Summarise: {text}", shout], df, models=TWO, live=False)

    frame = cmp.to_frame()
    assert frame.prompt.tolist() == ["Summarise: {text}"] * 4 + ["shout"] * 4
    assert frame.row.tolist() == ["r1", "r1", "r2", "r2"] * 2
    assert frame.content.tolist()[::2] == [
        "mock-1 says: Summarise: a cat sat",
        "mock-1 says: Summarise: dogs bark",
        "mock-1 says: SHOUT A CAT SAT",
        "mock-1 says: SHOUT DOGS BARK",
    ]
    assert [r.text for r in cmp.rows] == [
        "Summarise: a cat sat",
        "Summarise: dogs bark",
        "SHOUT A CAT SAT",
        "SHOUT DOGS BARK",
    ]
    assert "row r2" in repr(cmp) and "row r2" in cmp._repr_html_()


def test_a_row_with_an_empty_field_is_not_sent_and_says_why_in_every_column(mock):
    df = pd.DataFrame({"text": ["fine", None]})
    cmp = llm.compare("About {text}", df, models=TWO, live=False)

    frame = cmp.to_frame()
    assert len(mock.requests) == 2
    assert frame.error[:2].isna().all()
    assert all(
        isinstance(e, llm.ConfigError) and "{text} is empty" in str(e) for e in frame.error[2:]
    )
    assert frame.content[2:].isna().all()
    assert [c.state for c in cmp.cells[1]] == ["unsent", "unsent"]


def test_the_same_model_with_different_settings_is_headed_by_what_differs(mock):
    models = [
        ("mock", "mock-1", {"temperature": 0}),
        ("mock", "mock-1", {"temperature": 1, "system": "Answer in French."}),
        "mock:mock-large",
    ]
    cmp = llm.compare("Hi", models=models, system="Be brief.", max_tokens=50, live=False)

    assert cmp.models == [
        "mock:mock-1 · system default, temperature=0",
        "mock:mock-1 · system='Answer in French.', temperature=1",
        "mock:mock-large",
    ]
    bodies = {(b["model"], b.get("temperature")): b for b in sent(mock)}
    assert bodies[("mock-1", 0)]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert bodies[("mock-1", 1)]["messages"][0] == {
        "role": "system",
        "content": "Answer in French.",
    }
    assert bodies[("mock-large", None)]["messages"][0]["content"] == "Be brief."
    assert all(b["max_tokens"] == 50 for b in bodies.values())


def test_settings_that_differ_only_in_a_secret_never_show_it(mock):
    one, two = "sk-one-0123456789abcdef", "sk-two-0123456789abcdef"
    models = [
        ("mock", "mock-1", {"api_key": one}),
        ("mock", "mock-1", {"api_key": two}),
        "mock:mock-1",
    ]
    cmp = llm.compare("Hi", models=models, live=False)
    assert cmp.models == [
        "mock:mock-1 · api_key='***'",
        "mock:mock-1 · api_key='***' #2",
        "mock:mock-1 · api_key default",
    ]
    assert cmp.cell(0, "mock:mock-1 · api_key='***' #2").state == "done"
    shown = repr(cmp) + cmp._repr_html_() + cmp.to_frame().to_csv()
    assert one not in shown and two not in shown


# -- refused before anything is sent --------------------------------------------------------


@pytest.mark.parametrize(
    ("models", "error", "message"),
    [
        (
            ["mock"],
            llm.ConfigError,
            "Model 'mock' is not written 'provider:model': name the model too, as in 'mock:<model>'",
        ),
        (["mock:"], llm.ConfigError, "name the model too"),
        (
            ["gpt-6-luna"],
            llm.ConfigError,
            "Model 'gpt-6-luna' is not written 'provider:model', such as 'openai:gpt-6-luna'",
        ),
        (["mock: mock-1"], llm.ConfigError, "is not written 'provider:model'"),
        (
            ["opneai:gpt-6-luna"],
            llm.UnknownProviderError,
            "Unknown provider 'opneai' (did you mean 'openai'?)",
        ),
        ("mock:mock-1", llm.ConfigError, "models= takes a list of models"),
        ([], llm.ConfigError, "models= is empty"),
        (
            [("mock",)],
            llm.ConfigError,
            "neither a 'provider:model' string nor a (provider, model, options)",
        ),
        ([("mock", "mock-1", "hot")], llm.ConfigError, "The third item of model"),
        ([("mock", 1)], llm.ConfigError, "must start with the provider and the model as strings"),
        ([("mock", "mock-1", {"model": "x"})], llm.ConfigError, "the model is the second item"),
        ([("mock", "mock-1", {"system": 3})], llm.ConfigError, "must be a string"),
        ([42], llm.ConfigError, "Model 42 is neither"),
        (["mock:mock-1", "mock:mock-1"], llm.ConfigError, "listed twice with the same settings"),
        (
            ["mock:mock-1", ("mock", "mock-1", {"seed": 1}), ("mock", "mock-1", {})],
            llm.ConfigError,
            "Model 'mock:mock-1' is listed twice with the same settings",
        ),
        ([("mock", "mock-1", {"temperature": 5})], llm.ConfigError, "temperature"),
        ([("mock", "mock-1", {"bogus": 1})], llm.ConfigError, "has no option 'bogus'"),
    ],
)
def test_a_bad_model_is_refused_with_what_to_write(mock, models, error, message):
    with pytest.raises(error) as raised:
        llm.compare("Hi", models=models, live=False)
    assert message in str(raised.value)
    assert mock.requests == []


@pytest.mark.parametrize(
    ("prompts", "rows", "options", "message"),
    [
        ([], None, {}, "prompts must be a prompt string or a non-empty list"),
        (["  "], None, {}, "Prompt 0 is empty"),
        ([str.upper], None, {}, "Prompt 0 is a function: without rows"),
        ("Rate {stars}", pd.DataFrame({"text": ["x"]}), {}, "the data has no column 'stars'"),
        ("Hi", None, {"concurrency": 0}, "concurrency must be a whole number >= 1"),
        ("Hi", None, {"max_cost": -1}, "max_cost must be a number of US dollars >= 0"),
        ("Hi", None, {"format": "pdf"}, "format= takes one of markdown"),
        ("Hi", None, {"system": 3}, "system= must be a string"),
        ("Hi", None, {"live": "yes"}, "live= takes True, False, 'rich' or a function"),
        ("Hi", None, {"cache": "nowhere"}, "store"),
        ("Hi", None, {"tags": [""]}, "Tags must be non-empty strings"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(mock, prompts, rows, options, message):
    with pytest.raises(llm.ConfigError) as raised:
        llm.compare(prompts, rows, models=TWO, **{"live": False, **options})
    assert message in str(raised.value)
    assert mock.requests == [] and len(llm.costs()) == 0


def test_a_missing_key_raises_once_before_any_cell_is_sent(mock):
    with pytest.raises(llm.MissingKeyError, match="OPENAI_API_KEY"):
        llm.compare("Hi", models=["mock:mock-1", "openai:gpt-6-luna"], live=False)
    assert mock.requests == [] and len(llm.costs()) == 0


# -- failures stay in their cells -------------------------------------------------------------


def test_a_failing_model_shows_its_typed_error_and_the_others_complete(mock):
    def large_is_down(body):
        if body["model"] == "mock-large":
            return llm.ServerError("overloaded <b>now</b>", provider="mock", status_code=529)
        return by_model(body)

    mock.configure(respond=large_is_down)
    cmp = llm.compare(["one", "two"], models=TWO, live=False)

    frame = cmp.to_frame()
    failed = frame[frame.model == "mock:mock-large"]
    assert all(isinstance(e, llm.ServerError) for e in failed.error)
    assert failed.error.iloc[0].request is cmp.cells[0][1].request  # linked, as llm.chat raises it
    assert failed.content.isna().all()
    assert frame[frame.model == "mock:mock-1"].content.tolist() == [
        "mock-1 says: one",
        "mock-1 says: two",
    ]
    html, text = cmp._repr_html_(), repr(cmp)
    assert "ServerError: mock 529: overloaded &lt;b&gt;now&lt;/b&gt;" in html
    assert "<b>now" not in html
    assert "! ServerError: mock 529: overloaded <b>now</b>" in text
    assert "2 failed" in text
    summary = cmp.summary()
    assert summary.loc["mock:mock-large", "failures"] == 2
    assert summary.loc["mock:mock-large", "answers"] == 0
    assert summary.loc["mock:mock-1", "failures"] == 0


def test_an_answer_that_breaks_off_keeps_its_error(mock):
    mock.configure(chunk_size=4, stream_error_after=2)
    cmp = llm.compare("Hi", models=["mock:mock-1"], live=False)
    cell = cmp.cells[0][0]
    assert cell.state == "error" and isinstance(cell.error, llm.StreamInterruptedError)
    assert isinstance(cmp.to_frame().error[0], llm.StreamInterruptedError)


# -- structured output --------------------------------------------------------------------------


@dataclass
class Verdict:
    sentiment: Literal["positive", "negative"]
    confidence: float


def test_schema_fields_become_columns_and_differences_are_marked(mock):
    def judge(body):
        if "noisy" in body["messages"][-1]["content"]:
            return "It is hard to say."
        confidence = 0.9 if body["model"] == "mock-1" else 0.6
        return json.dumps({"sentiment": "positive", "confidence": confidence})

    mock.configure(respond=judge)
    cmp = llm.compare("Judge: {}", ["love it", "noisy"], models=TWO, schema=Verdict, live=False)

    assert all(b["response_format"]["type"] == "json_schema" for b in sent(mock))
    frame = cmp.to_frame()
    assert list(frame.columns[3:6]) == ["content", "sentiment", "confidence"]
    assert frame.sentiment.tolist()[:2] == ["positive", "positive"]
    assert frame.confidence.tolist()[:2] == [0.9, 0.6]
    assert all(isinstance(e, llm.ResponseFormatError) for e in frame.error[2:])
    assert frame.content[2] == "It is hard to say."  # what did not fit stays readable

    html = cmp._repr_html_()
    marked = re.findall(r'<td class="lp-diff">([^<]*)</td>', html)
    assert marked == ["0.9", "0.6"]  # the confidence differs; the sentiment agrees
    assert "* confidence = 0.9" in repr(cmp) and "  sentiment = 'positive'" in repr(cmp)


# -- summary, chart, ledger, cache, limits --------------------------------------------------------


def test_summary_and_chart_per_model(mock):
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=2.0)
    llm.set_price("mock-large", input_per_mtok=10.0, output_per_mtok=20.0)
    cmp = llm.compare(["a", "b c", "d e f"], models=TWO, live=False)

    summary = cmp.summary()
    assert summary.index.tolist() == TWO and summary.index.name == "model"
    assert list(summary.columns) == [
        "answers",
        "failures",
        "mean_latency_ms",
        "p95_latency_ms",
        "mean_ttft_ms",
        "cost_usd",
        "mean_output_tokens",
    ]
    assert summary.answers.tolist() == [3, 3]
    ledger = llm.costs(tags=cmp.tag)
    for model, name in zip(TWO, ("mock-1", "mock-large"), strict=True):
        assert summary.loc[model, "cost_usd"] == pytest.approx(
            ledger[ledger.model == name].cost_usd.sum()
        )
    assert summary.loc["mock:mock-large", "cost_usd"] > 5 * summary.loc["mock:mock-1", "cost_usd"]
    assert (summary.p95_latency_ms >= summary.mean_latency_ms * 0.5).all()

    cost_ax, latency_ax = cmp.plot()
    assert cost_ax.get_title() == "Cost per model (USD)"
    assert [t.get_text() for t in cost_ax.get_yticklabels()] == TWO
    assert [p.get_width() for p in cost_ax.patches] == pytest.approx(summary.cost_usd.tolist())
    assert latency_ax.get_title() == "Latency per model (ms)"
    assert len(latency_ax.patches) == 4  # mean and p95 for each model


def test_every_ledger_row_carries_the_comparison_tag_and_the_callers_tags(mock):
    with llm.tag("prompt-v2"):
        cmp = llm.compare(["a", "b"], models=TWO, tags=["trial"], live=False)
    rows = llm.costs(tags=cmp.tag)
    assert len(rows) == 4 and cmp.tag == f"compare:{cmp.id}"
    assert all({"trial", "prompt-v2", cmp.tag} <= set(tags) for tags in rows.tags)
    assert sorted(rows.model) == ["mock-1", "mock-1", "mock-large", "mock-large"]
    assert rows.ttft_ms.notna().all()


def test_a_cached_rerun_sends_nothing_again(mock):
    first = llm.compare(["a", "b"], models=TWO, cache=True, live=False)
    sent_before = len(mock.requests)
    again = llm.compare(["a", "b"], models=TWO, cache=True, live=False)
    assert len(mock.requests) == sent_before == 4
    assert [c.text for c in again.flat()] == [c.text for c in first.flat()]
    assert all(c.view().cache_hit for c in again.flat())
    assert "cache hit" in repr(again)


def test_max_cost_stops_sending_before_the_limit(mock):
    llm.set_price("mock-1", input_per_mtok=100.0, output_per_mtok=100.0)
    llm.set_price("mock-large", input_per_mtok=100.0, output_per_mtok=100.0)
    one = default_reply([{"role": "user", "content": "question 0"}])
    per_cell = (8 + len(one.split()) + 30) * 100 / 1e6  # a generous bound on one cell's cost
    cmp = llm.compare(
        [f"question {i}" for i in range(5)],
        models=TWO,
        max_cost=per_cell * 3,
        expected_output_tokens=60,
        concurrency=1,
        live=False,
    )
    frame = cmp.to_frame()
    refused = frame.error.map(lambda e: isinstance(e, llm.BudgetExceededError))
    assert 0 < (~refused).sum() < len(frame) and refused.sum() == len(frame) - len(mock.requests)
    assert "the comparison stopped before passing max_cost" in str(frame.error[refused].iloc[0])
    assert llm.costs(tags=cmp.tag).cost_usd.sum() <= per_cell * 3


# -- live, async, interrupt -----------------------------------------------------------------


def test_a_live_function_sees_the_cells_fill_as_answers_stream(mock):
    mock.configure(chunk_size=3, chunk_latency=0.01)
    seen = []

    def watch(cmp):
        seen.append([(c.state, c.text) for c in cmp.flat()])

    cmp = llm.compare(["Hello there", "Bye now"], models=TWO, concurrency=1, live=watch)

    partial = [text for snapshot in seen for state, text in snapshot if state == "streaming"]
    answers = {c.text for c in cmp.flat()}
    assert any(text and not any(text == a for a in answers) for text in partial)
    assert all(any(a.startswith(text) for a in answers) for text in partial)
    assert seen[-1] == [("done", c.text) for c in cmp.flat()]


def test_acompare_runs_on_the_callers_loop(mock):
    mock.configure(respond=by_model)

    async def main():
        return await llm.acompare(["Hi"], models=TWO, live=False)

    cmp = asyncio.run(main())
    assert [c.text for c in cmp.flat()] == ["mock-1 says: Hi", "mock-large says: Hi"]


def test_an_interrupt_keeps_the_answers_that_finished(mock):
    mock.configure(respond=by_model)
    models = ["mock:mock-1", ("mock", "mock-large", {"mock_latency": 5})]

    def interrupt_once_the_first_is_done(cmp):
        if cmp.cells[0][0].state == "done" and not cmp.done:
            raise KeyboardInterrupt  # what a kernel interrupt raises in the waiting thread

    with pytest.raises(llm.ComparisonInterrupted) as stopped:
        llm.compare("Hi", models=models, live=interrupt_once_the_first_is_done)

    partial = stopped.value.partial
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert "after 1 of 2 answers" in str(stopped.value)
    done, slow = partial.cells[0]
    assert done.state == "done" and done.text == "mock-1 says: Hi"
    assert slow.state == "interrupted" and "interrupted" in str(slow.error)
    assert "! PipelineError: Not finished: the comparison was interrupted" in repr(partial)
    rows = llm.costs(tags=partial.tag)
    assert sorted(rows.status) == ["cancelled", "completed"]  # the stopped call is recorded too


def test_compare_is_served_lazily_and_stays_the_function(fresh_python):
    code = (
        "import sys, llmpipe_nb as llm; print('llmpipe_nb.comparison' in sys.modules, "
        "'pandas' in sys.modules); import llmpipe_nb.comparison; "
        "print(callable(llm.compare), llm.compare.__module__, llm.Comparison.__name__)"
    )
    out = fresh_python(code)
    assert out.stdout.split("\n")[:2] == [
        "False False",
        "True llmpipe_nb.comparison.api Comparison",
    ]
