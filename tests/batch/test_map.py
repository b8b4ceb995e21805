"""llm.map over DataFrames, Series and lists: alignment, per-row errors, limits, schema, pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Literal, TypedDict

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.batch.frame import COLUMNS


def reviews(n: int = 6) -> pd.DataFrame:
    index = pd.Index([f"id-{(i * 7) % n}-{i}" for i in range(n)], name="rid")
    return pd.DataFrame(
        {"review": [f"review {i} says it is fine" for i in range(n)], "stars": range(n)},
        index=index,
    )


def user_text(call) -> str:
    return next(m["content"] for m in call.json["messages"] if m["role"] == "user")


# -- alignment ------------------------------------------------------------------------


def test_dataframe_rows_come_back_on_the_input_index_with_every_column(mock):
    df = reviews().sample(frac=1, random_state=3)
    out = llm.map(df, "Rate {stars}: {review}", concurrency=4, progress=False)

    assert out.index.equals(df.index)
    assert list(out.columns) == list(COLUMNS)
    for rid, row in df.iterrows():
        expected = llm.chat("mock", f"Rate {row.stars}: {row.review}")
        assert out.loc[rid, "content"] == expected.content
        assert out.loc[rid, "input_tokens"] == expected.usage.input_tokens
        assert out.loc[rid, "output_tokens"] == expected.usage.output_tokens
    assert out.finish_reason.eq("stop").all()
    assert out.error.isna().all()
    assert not out.cache_hit.any()
    assert (out.latency_ms >= 0).all()
    assert str(out.input_tokens.dtype) == "Int64"


def test_series_and_list_fill_the_item_into_the_template(mock):
    s = pd.Series(["apple", "pear"], index=[10, 20], name="fruit")
    by_name = llm.map(s, "Describe {fruit}", progress=False)
    by_value = llm.map(s, "Describe {value}", progress=False)
    from_list = llm.map(["apple", "pear"], "Describe {}", progress=False)

    assert list(by_name.index) == [10, 20]
    assert list(from_list.index) == [0, 1]
    assert by_name.content.tolist() == by_value.content.tolist() == from_list.content.tolist()
    assert "Describe apple" in by_name.loc[10, "content"]


def test_a_function_prompt_gets_the_row_and_system_comes_first(mock):
    df = reviews(3)
    out = llm.map(
        df,
        lambda row: [{"role": "user", "content": f"#{row['stars']} {row['review'].upper()}"}],
        system="You are terse.",
        concurrency=1,
        progress=False,
    )
    assert out.error.isna().all()
    sent = [call.json["messages"] for call in mock.requests]
    assert [m[0] for m in sent] == [{"role": "system", "content": "You are terse."}] * 3
    assert [m[1]["content"] for m in sent] == [f"#{i} REVIEW {i} SAYS IT IS FINE" for i in range(3)]


def test_options_and_model_reach_every_request(mock):
    llm.map(["a", "b"], "Say {}", "mock", "mock-large", temperature=0.1, progress=False)
    assert {(c.json["model"], c.json["temperature"]) for c in mock.requests} == {
        ("mock-large", 0.1)
    }


def test_empty_input_gives_an_empty_table(mock):
    out = llm.map(pd.DataFrame({"q": []}), "Answer {q}", progress=False)
    assert len(out) == 0 and list(out.columns) == list(COLUMNS)
    assert mock.requests == []


# -- bad input: a typed error, nothing sent ------------------------------------------


@pytest.mark.parametrize(
    ("data", "prompt", "kw", "match"),
    [
        (reviews(), "Rate {stars}: {body}", {}, "no column 'body'"),
        (reviews(), "Rate {}", {}, "use {column}"),
        (["x"], "Rate {text}", {}, "each item is one value"),
        (["x"], "Rate {", {}, "not valid"),
        ({"a": 1}, "Rate {}", {}, "not dict"),
        (["x"], 42, {}, "template string or a function"),
        (["x"], "Rate {}", {"concurrency": 0}, "concurrency"),
        (["x"], "Rate {}", {"temperature": 5}, "temperature"),
        (["x"], "Rate {}", {"provider": "nope"}, "Unknown provider 'nope'"),
        (["x"], "Rate {}", {"cache": 3}, "cache= takes"),
        (["x"], "Rate {}", {"max_cost": -1}, "max_cost"),
        (["x"], "Rate {}", {"engine": "spark"}, "engine must be"),
        (["x"], "Rate {}", {"progress": "fancy"}, "progress="),
        (["x"], "Rate {}", {"schema": 42}, "schema="),
        (["x", None], lambda v: v, {}, "Row 1"),
    ],
    ids=[
        "missing-column",
        "positional-on-frame",
        "named-on-list",
        "broken-template",
        "wrong-data-type",
        "wrong-prompt-type",
        "concurrency",
        "bad-option",
        "unknown-provider",
        "bad-cache",
        "negative-max-cost",
        "unknown-engine",
        "unknown-progress",
        "bad-schema",
        "row-not-a-prompt",
    ],
)
def test_bad_input_raises_a_config_error_and_sends_nothing(mock, data, prompt, kw, match):
    with pytest.raises(llm.ConfigError, match=match):
        llm.map(data, prompt, **kw)
    assert mock.requests == []


# -- per-row errors ---------------------------------------------------------------------


def test_failed_rows_carry_their_typed_error_and_the_others_complete(mock):
    def respond(body):
        text = body["messages"][-1]["content"]
        if "bad" in text:
            return llm.BadRequestError("the prompt was refused", provider="mock", status_code=400)
        return f"ok: {text}"

    mock.configure(respond=respond)
    items = ["good 0", "bad 1", "good 2", "bad 3", "good 4"]
    out = llm.map(items, "{}", concurrency=3, progress=False)

    failed = out.error.notna()
    assert failed.tolist() == [False, True, False, True, False]
    assert all(isinstance(e, llm.BadRequestError) for e in out.error[failed])
    assert out.loc[failed, "content"].isna().all()
    assert out.loc[failed, "finish_reason"].eq("error").all()
    assert out.loc[~failed, "content"].tolist() == ["ok: good 0", "ok: good 2", "ok: good 4"]


def test_retry_from_the_pipeline_recovers_rows(mock):
    mock.fail_next(llm.ServerError, times=2)
    out = llm.map(
        ["a", "b", "c"],
        "{}",
        concurrency=1,
        retry={"base_delay": 0.0, "jitter": 0.0},
        progress=False,
    )
    assert out.error.isna().all()
    assert len(mock.requests) == 5


def test_the_rate_limiter_is_consulted_for_every_row(mock):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    out = llm.map(
        list("abcd"),
        "{}",
        concurrency=4,
        rate_limit={"requests_per_minute": 6, "burst": 1, "clock": lambda: 0.0, "sleep": sleep},
        progress=False,
    )
    assert out.error.isna().all()
    assert sorted(waits) == [10.0, 20.0, 30.0]  # one free slot, then one every 10 s


# -- concurrency --------------------------------------------------------------------------


def test_no_more_than_concurrency_requests_are_in_flight():
    from llmpipe_nb.batch.engine import Batch
    from llmpipe_nb.request import Request

    in_flight = peak = 0

    async def slow(request):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.002)
        in_flight -= 1
        return request

    requests = [Request.new("mock", f"q{i}") for i in range(40)]
    batch = Batch(requests, llm.Pipeline.build([slow]), concurrency=5)
    done = asyncio.run(batch.run())
    assert peak == 5
    assert [d.messages for d in done] == [r.messages for r in requests]
    assert batch.tally.done == 40


def test_concurrency_one_sends_rows_in_input_order(mock):
    llm.map([f"row {i}" for i in range(8)], "{}", concurrency=1, progress=False)
    assert [user_text(c) for c in mock.requests] == [f"row {i}" for i in range(8)]


def test_sync_map_works_inside_a_running_event_loop(mock):
    async def notebook_cell():
        asyncio.get_running_loop()  # like a Jupyter kernel: a loop is running here
        return llm.map(["a", "b"], "{}", progress=False)

    out = asyncio.run(notebook_cell())
    assert out.error.isna().all() and len(out) == 2


async def test_amap_runs_on_the_callers_loop(mock):
    out = await llm.amap(reviews(4), "{review}", concurrency=2, progress=False)
    assert out.error.isna().all() and len(out) == 4


# -- cost, estimate, max_cost --------------------------------------------------------------


def test_estimate_is_close_to_the_actual_tokens_and_cost(mock):
    llm.set_price("mock-1", input_per_mtok=3.0, output_per_mtok=15.0)
    df = reviews(20)
    est = llm.estimate(df, "Please rate {stars}: {review}", expected_output_tokens=47)
    out = llm.map(df, "Please rate {stars}: {review}", progress=False)

    assert est.rows == 20
    assert est.input_tokens == out.input_tokens.sum()  # the mock counts as the estimator does
    assert est.cost_usd == pytest.approx(out.cost_usd.sum(), rel=0.10)
    assert est.cost_status == "priced"
    assert "20 rows of mock/mock-1" in repr(est)


def test_dry_run_returns_the_estimate_and_sends_nothing(mock):
    est = llm.map(reviews(), "{review}", dry_run=True, max_tokens=100)
    assert isinstance(est, llm.batch.Estimate)
    assert est.output_tokens == 600 and est.cost_usd == 0.0 and est.cost_status == "local"
    assert mock.requests == []


def test_an_unpriced_model_estimates_no_cost_and_refuses_max_cost(mock):
    with pytest.warns(UserWarning, match="No price known"):
        est = llm.estimate(["a"], "{}", "openai", "model-without-a-price")
    assert est.cost_usd is None and est.cost_status == "unpriced"
    with pytest.raises(llm.ConfigError, match="max_cost needs a price"):
        llm.map(["a"], "{}", "openai", "model-without-a-price", api_key="sk-x", max_cost=1.0)


def test_max_cost_stops_before_the_limit_and_marks_the_unsent_rows(mock):
    llm.set_price("mock-1", input_per_mtok=1000.0, output_per_mtok=1000.0)
    df = reviews(40)
    per_row = llm.map(df.iloc[:1], "{review}", progress=False).cost_usd.iloc[0]
    mock.reset()

    limit = per_row * 10.5
    out = llm.map(df, "{review}", concurrency=4, max_cost=limit, progress=False)

    sent = out.error.isna()
    assert out.cost_usd.sum() <= limit
    assert 5 <= sent.sum() <= 10
    assert len(mock.requests) == sent.sum()
    unsent = out.error[~sent]
    assert all(isinstance(e, llm.BudgetExceededError) for e in unsent)
    assert "raise max_cost" in str(unsent.iloc[0])


def test_max_cost_learns_from_finished_rows_instead_of_stopping_on_a_pessimistic_guess(mock):
    llm.set_price("mock-1", input_per_mtok=1000.0, output_per_mtok=1000.0)
    df = reviews(20)
    per_row = llm.map(df.iloc[:1], "{review}", progress=False).cost_usd.iloc[0]
    out = llm.map(
        df,
        "{review}",
        concurrency=4,
        max_cost=per_row * 25,
        expected_output_tokens=500,
        progress=False,
    )
    assert out.error.isna().all()
    assert out.cost_usd.sum() <= per_row * 25


def test_max_cost_zero_sends_nothing(mock):
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=1.0)
    out = llm.map(["a", "b"], "{}", max_cost=0, progress=False)
    assert mock.requests == []
    assert out.error.map(type).eq(llm.BudgetExceededError).all()


# -- ledger -------------------------------------------------------------------------------------


def test_ledger_rows_carry_the_batch_tag_and_match_the_table(mock):
    llm.set_price("mock-1", input_per_mtok=2.0, output_per_mtok=4.0)
    with llm.tag("experiment-7"):
        out = llm.map(reviews(5), "{review}", concurrency=3, tags=["reviews"], progress=False)
    batch_id = out.attrs["batch_id"]

    rows = llm.costs(tags=f"batch:{batch_id}")
    assert len(rows) == 5
    assert rows.cost_usd.sum() == pytest.approx(out.cost_usd.sum())
    assert all({"experiment-7", "reviews", f"batch:{batch_id}"} <= set(t) for t in rows.tags)


# -- structured output ---------------------------------------------------------------------------


@dataclasses.dataclass
class Verdict:
    sentiment: Literal["positive", "negative"]
    score: int
    reason: str | None = None


class VerdictDict(TypedDict):
    sentiment: Literal["positive", "negative"]
    score: int


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative"]},
        "score": {"type": "integer"},
    },
    "required": ["sentiment", "score"],
}


@pytest.mark.parametrize(
    "schema", [Verdict, VerdictDict, VERDICT_SCHEMA], ids=["dataclass", "typeddict", "json"]
)
def test_schema_parses_answers_into_columns_and_marks_misfits(mock, schema):
    answers = {
        "r0": json.dumps({"sentiment": "positive", "score": 5}),
        "r1": "```json\n" + json.dumps({"sentiment": "negative", "score": 1}) + "\n```",
        "r2": "I think it is positive",
        "r3": json.dumps({"sentiment": "meh", "score": 3}),
        "r4": json.dumps({"sentiment": "positive"}),
    }
    mock.configure(respond=lambda body: answers[body["messages"][-1]["content"]])
    out = llm.map(list(answers), "{}", schema=schema, progress=False)

    assert list(out.columns[:3]) == ["content", "sentiment", "score"]
    assert out.sentiment.tolist()[:2] == ["positive", "negative"]
    assert out.score.tolist()[:2] == [5, 1]
    assert out.error[:2].isna().all()
    misfits = out.error[2:]
    assert all(isinstance(e, llm.ResponseFormatError) for e in misfits)
    assert str(misfits.iloc[0]).startswith("mock: The answer is not JSON")
    assert "'meh'" in str(misfits.iloc[1])
    assert "score" in str(misfits.iloc[2])
    sent = mock.requests[0].json["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"]["sentiment"]["enum"] == [
        "positive",
        "negative",
    ]


def test_schema_from_a_dataclass_knows_optional_and_lists():
    from llmpipe_nb.structured import json_schema_of

    @dataclasses.dataclass
    class Extract:
        names: list[str]
        year: int | None = None

    schema = json_schema_of(Extract)
    assert schema["properties"] == {
        "names": {"type": "array", "items": {"type": "string"}},
        "year": {"type": ["integer", "null"], "default": None},
    }
    assert schema["required"] == ["names"]


# -- accessor ------------------------------------------------------------------------------------


def test_the_pandas_accessor_maps_and_estimates(mock):
    df = reviews(3)
    out = df.llm.map("{review}", progress=False)
    assert out.index.equals(df.index) and out.error.isna().all()
    assert df.review.llm.estimate("{review}").rows == 3
    assert len(mock.requests) == 3


def test_llm_map_from_code_on_the_batch_loop_asks_for_amap_instead_of_deadlocking(mock):
    mock.configure(respond=lambda body: llm.map(["inner"], "{}", progress=False))
    out = llm.map(["outer"], "{}", progress=False)
    assert isinstance(out.error[0], llm.PipelineError)
    assert "await llm.amap" in str(out.error[0])


def test_a_forked_child_gets_its_own_batch_loop(mock):
    import os

    llm.map(["parent"], "{}", progress=False)  # the parent's loop thread exists now
    pid = os.fork()
    if pid == 0:  # the child inherits no threads: it must start a loop of its own
        ok = llm.map(["child"], "{}", progress=False).error.isna().all()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_dask_collection_needs_the_dask_engine(mock):
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(llm.ConfigError, match="engine='dask'"):
        llm.map(dd.from_pandas(reviews(4), npartitions=2), "{review}")
    assert mock.requests == []


def test_empty_items_of_a_list_or_series_are_flagged_and_estimated_at_nothing(mock):
    items = ["alpha", None, float("nan"), "beta"]
    estimate = llm.estimate(items, "Say {}", "mock")
    full = llm.estimate(["alpha", "beta"], "Say {}", "mock")
    assert estimate.input_tokens == full.input_tokens

    out = llm.map(pd.Series(items, name="word"), "Say {word}", progress=False, max_cost=1.0)
    assert [user_text(c) for c in mock.requests] == ["Say alpha", "Say beta"]
    assert out.error.map(type).tolist()[1:3] == [llm.ConfigError, llm.ConfigError]
    assert out.error.iloc[0] is None and out.error.iloc[3] is None
    out = llm.map(["x", pd.NA, pd.NaT], "Say {value}", progress=False)
    assert [str(e).split(",")[0] for e in out.error[1:]] == [
        "Row 1: {value} is empty (NA)",
        "Row 2: {value} is empty (NaT)",
    ]
