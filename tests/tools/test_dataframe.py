"""DataFrame tools: the query language, each tool's result, clipping, and the loop over HTTP."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.tokens import estimate_tokens
from llmpipe_nb.tools.dataframe_query import QueryError


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "region": ["East", "West", "East", None, "North", "West"],
            "price": [10.0, np.nan, 25.5, 3.0, 40.0, 12.0],
            "qty": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
            "day": pd.to_datetime(
                ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", None, "2026-01-06"]
            ),
            "paid": [True, False, True, True, False, True],
            "unit name": ["box", "bag", "box", "crate", "bag", "box"],
        }
    )


def tools_of(df: pd.DataFrame, name: str = "sales", **options) -> dict[str, llm.Tool]:
    return {tool.name: tool for tool in llm.tools.dataframe(df, name, **options)}


def call(tool: llm.Tool, **arguments) -> str:
    """Run a tool as the loop does: arguments checked against its schema, then the call."""
    return tool.fn(**tool.arguments(arguments))


def ids(result: str) -> list[int]:
    """The `id` column of a result table (the first column of each row line)."""
    return [
        json.loads(row)[0] for row in result.splitlines()[2:] if row.startswith("[") and "," in row
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("price > 10", [3, 5, 6]),
        ("price >= 10 and price < 40", [1, 3, 6]),
        ("region == 'East'", [1, 3]),
        ('region != "East"', [2, 5, 6]),  # a comparison never matches a null
        ("region in ['North', 'West']", [2, 5, 6]),
        ("region not in ['North', 'West']", [1, 3]),
        ("price is null", [2]),
        ("region is not null and qty is null", [3]),
        ("region contains 'es'", [2, 6]),
        ("not (region == 'East') or price is null", [2, 4, 5, 6]),
        ("paid == false", [2, 5]),
        ("day >= '2026-01-03'", [3, 4, 6]),
        ("qty <= 2", [1, 2]),
        ("'unit name' == 'crate'", [4]),
        ("price == -3.0 or price == 3e0", [4]),
        ("region == 'East' AND price > 20", [3]),  # keywords in any case
        ("((price > 1)) and not not paid == true", [1, 3, 4, 6]),
    ],
)
def test_valid_queries_select_the_matching_rows(sales, query, expected) -> None:
    result = call(tools_of(sales)["sales_filter"], query=query)
    assert result.startswith(f"sales: {len(expected)} of 6 rows match {query}")
    assert ids(result) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "the query is empty"),
        (
            "prise > 10",
            "there is no column 'prise' (did you mean 'price'?); the columns are: id, region",
        ),
        ("price > 'ten'", "column 'price' holds numbers (float64), so 'ten' cannot be compared"),
        ("region == 3", "column 'region' holds text"),
        ("paid == 'yes'", "holds true/false values"),
        ("day > 'soon'", "'soon' is not a date or time"),
        ("price contains '1'", "contains works on text columns; 'price' holds numbers"),
        ("region == East", "'East' at position 10 is not a value: quote text"),
        ("price == null", "compare with null using 'is null'"),
        ("price = 10", "unexpected '=' at position 6: compare with =="),
        ("price > 10 && paid == true", "unexpected '&' at position 11: join conditions with and"),
        ("(price > 10", "expected ')' to close the '('"),
        ("price > 10 paid", "unexpected 'paid' at position 11: join conditions with and / or"),
        ("price >> 10", "expected a value, found '>' at position 7"),
        ("region in 'East'", "expected '[' to start the list of values"),
        ("region in ['East' 'West']", "expected ',' or ']' in the list of values"),
        ("region contains East", "contains needs quoted text"),
        ("region == 'East", "the string starting at position 10 is not closed"),
        ("price > 10abc", "'10abc' at position 8 is not a number"),
        ("price is 3", "expected null after 'is'"),
        ("(" * 60 + "price > 1" + ")" * 60, "nests deeper than 50 levels"),
    ],
)
def test_invalid_queries_are_errors_that_name_the_problem(sales, query, message) -> None:
    with pytest.raises(QueryError) as caught:
        call(tools_of(sales)["sales_filter"], query=query)
    assert message in str(caught.value)


def test_object_columns_of_strings_are_text_and_mixed_ones_take_any_value() -> None:
    frame = pd.DataFrame(
        {
            "code": pd.Series(["a1", "b2", None], dtype=object),  # pandas 2's text column
            "mixed": pd.Series(["x", 7, None], dtype=object),
            "size": pd.Categorical(["S", "M", "S"]),
        }
    )
    tool = tools_of(frame, "items")["items_filter"]
    with pytest.raises(QueryError, match=r"column 'code' holds text \(object\), so 3 cannot"):
        call(tool, query="code == 3")
    assert call(tool, query="code contains '1'").startswith("items: 1 of 3 rows match")
    assert call(tool, query="mixed == 7 or mixed == 'x'").startswith("items: 2 of 3 rows")
    assert call(tool, query="size in ['S']").startswith("items: 2 of 3 rows")
    with pytest.raises(QueryError, match="Unordered Categoricals can only compare equality"):
        call(tool, query="size < 'M'")


def test_a_column_name_used_twice_is_an_error_not_a_guess() -> None:
    tools = tools_of(pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"]), "twice")
    for name, arguments in [
        ("twice_filter", {"query": "a > 1"}),
        ("twice_value_counts", {"column": "a"}),
        ("twice_aggregate", {"func": "count", "by": ["a"]}),
    ]:
        with pytest.raises(QueryError, match="several columns are named 'a'"):
            call(tools[name], **arguments)
    assert call(tools["twice_filter"], query="b == 3", columns=["b"]).endswith("[3]")


@pytest.fixture
def nothing_evaluates(monkeypatch):
    """eval, exec, DataFrame.query/eval and pd.eval replaced by functions that record a call."""
    calls: list[str] = []

    def recorder(name):
        def record(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return record

    monkeypatch.setattr(builtins, "eval", recorder("eval"))
    monkeypatch.setattr(builtins, "exec", recorder("exec"))
    monkeypatch.setattr(pd.DataFrame, "query", recorder("DataFrame.query"))
    monkeypatch.setattr(pd.DataFrame, "eval", recorder("DataFrame.eval"))
    monkeypatch.setattr(pd, "eval", recorder("pd.eval"))
    return calls


@pytest.mark.parametrize(
    "query",
    [
        "__import__('os').system('touch {marker}')",
        "price > 1 or __import__('os').system('touch {marker}')",
        "@marker == 1",
        "price > @marker",
        "`price` > 1",
        "price.__class__ == 1",
        "region.str.len() > 1",
        "price > 1; open('{marker}', 'w')",
        "exec(\"open('{marker}', 'w')\")",
        "price > 1 | (lambda: open('{marker}', 'w'))()",
        "region == 'x' + open('{marker}', 'w').name",
        "[c for c in ().__class__.__bases__]",
    ],
)
def test_injection_attempts_are_refused_and_nothing_runs(
    sales, tmp_path, nothing_evaluates, query
) -> None:
    marker = tmp_path / "ran"
    before = sales.copy()
    with pytest.raises(QueryError):
        call(tools_of(sales)["sales_filter"], query=query.format(marker=marker))
    assert not marker.exists() and nothing_evaluates == []
    pd.testing.assert_frame_equal(sales, before)


def test_valid_queries_need_no_eval_or_query(sales, nothing_evaluates) -> None:
    tools = tools_of(sales)
    result = call(tools["sales_filter"], query="price > 10 and region in ['East', 'West']")
    assert ids(result) == [3, 6]
    call(tools["sales_aggregate"], func="sum", column="price", by=["region"], where="paid == true")
    call(tools["sales_value_counts"], column="region", where="not (price is null)")
    assert nothing_evaluates == []


def test_schema_lists_columns_dtypes_nulls_and_rows(sales) -> None:
    assert call(tools_of(sales)["sales_schema"]) == "\n".join(
        [
            "sales: 6 rows, 7 columns",
            '["column","dtype","nulls"]',
            '["id","int64",0]',
            '["region","str",1]',
            '["price","float64",1]',
            '["qty","Int64",1]',
            '["day","datetime64[us]",1]',
            '["paid","bool",0]',
            '["unit name","str",0]',
        ]
    )
    assert call(tools_of(sales)["sales_schema"], name_contains="NAME").splitlines() == [
        "sales: 6 rows, 7 columns; 1 with 'NAME' in their name",
        '["column","dtype","nulls"]',
        '["unit name","str",0]',
    ]


def test_head_shows_the_first_rows_of_the_chosen_columns(sales) -> None:
    result = call(tools_of(sales)["sales_head"], n=2, columns=["id", "day", "qty"])
    assert result == "\n".join(
        [
            "sales: the first 2 of 6 rows",
            '["id","day","qty"]',
            '[1,"2026-01-01T00:00:00",1]',
            '[2,"2026-01-02T00:00:00",2]',
        ]
    )
    indexed = sales.set_index("day")  # an index that holds data is shown as a column
    result = call(tools_of(indexed)["sales_head"], n=1, columns=["id"])
    assert result.splitlines()[1:] == ['["day","id"]', '["2026-01-01T00:00:00",1]']
    levels = sales.set_index(["region", "id"])  # a MultiIndex is named by its levels
    tools = tools_of(levels)
    assert call(tools["sales_head"], n=1, columns=["price"]).splitlines()[1:] == [
        '["region, id","price"]',
        "[\"('East', 1)\",10.0]",
    ]
    assert call(tools["sales_schema"]).splitlines()[0].endswith("; index region, id (object)")


def test_describe_gives_one_line_of_statistics_per_column(sales) -> None:
    lines = call(tools_of(sales)["sales_describe"], columns=["price", "region"]).splitlines()
    assert lines[0] == "sales: summary of 2 columns over 6 rows"
    header = json.loads(lines[1])
    price = dict(zip(header, json.loads(lines[2]), strict=True))
    region = dict(zip(header, json.loads(lines[3]), strict=True))
    assert price["column"] == "price" and price["count"] == 5 and price["max"] == 40.0
    assert price["mean"] == pytest.approx(18.1) and price["top"] is None
    assert region["unique"] == 3 and region["top"] in ("East", "West") and region["freq"] == 2


def test_value_counts_shows_the_top_values_and_nulls(sales) -> None:
    tool = tools_of(sales)["sales_value_counts"]
    assert call(tool, column="unit name") == "\n".join(
        [
            "sales.unit name: 3 distinct values and 0 nulls in 6 rows; the most frequent first",
            '["unit name","count"]',
            '["box",3]',
            '["bag",2]',
            '["crate",1]',
        ]
    )
    result = call(tool, column="region", n=1, where="price > 5")
    assert result.splitlines()[0] == (
        "sales.region: 3 distinct values and 0 nulls in 4 rows where price > 5; "
        "the most frequent first"
    )
    assert result.splitlines()[-1] == "[2 of 3 values left out by n=1]"


def test_value_counts_of_a_categorical_column_leaves_out_unused_categories() -> None:
    sizes = pd.DataFrame(
        {"size": pd.Categorical(["S", "S", "M"], categories=["S", "M", "L", "XL"])}
    )
    tool = tools_of(sizes, name="shop")["shop_value_counts"]
    assert call(tool, column="size").splitlines()[1:] == ['["size","count"]', '["S",2]', '["M",1]']


def test_aggregate_by_groups_with_filter_sort_and_limit(sales) -> None:
    tool = tools_of(sales)["sales_aggregate"]
    assert call(tool, func="sum", column="price", by=["region"], order="desc") == "\n".join(
        [
            "sales: sum(price) by region over 6 rows; 4 groups",
            '["region","sum(price)"]',
            '["North",40.0]',
            '["East",35.5]',
            '["West",12.0]',
            "[null,3.0]",
        ]
    )
    result = call(tool, func="count", by=["paid", "unit name"], where="price is not null", limit=2)
    assert result.splitlines() == [
        "sales: count(rows) by paid, unit name over 5 rows where price is not null; 3 groups",
        '["paid","unit name","count(rows)"]',
        '[false,"bag",1]',
        '[true,"box",3]',
        "[1 of 3 groups left out by limit=2]",
    ]
    assert call(tool, func="count") == "sales: count(rows) over 6 rows = 6"
    assert call(tool, func="median", column="qty") == "sales: median(qty) over 6 rows = 4.0"
    assert call(tool, func="nunique", column="region", where="paid == true") == (
        "sales: nunique(region) over 4 rows where paid == true = 2"
    )
    assert call(tool, func="max", column="day").endswith('= "2026-01-06T00:00:00"')


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"func": "mean", "column": "region"}, "mean needs a numeric column; 'region' holds str"),
        ({"func": "sum"}, "sum needs a column; only count works without one"),
        ({"func": "min", "column": "cost"}, "there is no column 'cost'"),
        ({"func": "count", "by": ["area"]}, "there is no column 'area'"),
        ({"func": "count", "where": "price >"}, "expected a value, found the end of the query"),
    ],
)
def test_aggregate_errors_name_the_problem(sales, arguments, message) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        call(tools_of(sales)["sales_aggregate"], **arguments)


def test_filter_sorts_picks_columns_and_stops_at_the_limit(sales) -> None:
    tool = tools_of(sales)["sales_filter"]
    result = call(
        tool, query="price > 0", columns=["id", "price"], sort_by="price", descending=True, limit=2
    )
    assert result.splitlines() == [
        "sales: 5 of 6 rows match price > 0",
        '["id","price"]',
        "[5,40.0]",
        "[3,25.5]",
        "[3 of 5 rows left out by limit=2]",
    ]
    with pytest.raises(QueryError, match=r"there is no column 'cost'.*columns are: id, region"):
        call(tool, query="price > 0", columns=["cost"])


def test_results_are_clipped_to_the_token_budget_and_say_how_many_rows_were_left_out() -> None:
    big = pd.DataFrame({"n": range(5000), "label": [f"item number {i}" for i in range(5000)]})
    tools = tools_of(big, "big", max_result_tokens=200)
    result = call(tools["big_filter"], query="n >= 100", limit=1000)
    lines = result.splitlines()
    shown = len(lines) - 3
    assert estimate_tokens(result) <= 200 and 10 < shown < 100
    assert lines[0] == "big: 4900 of 5000 rows match n >= 100"
    assert lines[-1] == f"[clipped to fit 200 tokens: {4900 - shown} of 4900 rows left out]"
    long_cell = pd.DataFrame({"text": ["x" * 5000]})
    result = call(tools_of(long_cell, "notes")["notes_head"])
    assert estimate_tokens(result) <= 1000 and "... (+4800 chars)" in result
    wide = pd.DataFrame({f"column_number_{i}": [i] for i in range(300)})
    result = call(tools_of(wide, "wide", max_result_tokens=100)["wide_head"])
    assert estimate_tokens(result) <= 100
    assert result.endswith(
        "the header alone is longer; ask for fewer columns; all 1 rows left out]"
    )


def test_tool_names_are_prefixed_and_two_frames_go_together(served, sales) -> None:
    stock = pd.DataFrame({"sku": ["a"], "units": [3]})
    sales_tools, stock_tools = (
        llm.tools.dataframe(sales, "sales"),
        llm.tools.dataframe(stock, "stock"),
    )
    assert [tool.name for tool in sales_tools] == [
        "sales_filter", "sales_schema", "sales_head", "sales_describe", "sales_value_counts",
        "sales_aggregate",
    ]  # fmt: skip
    assert repr(stock_tools).startswith("<DataFrame tools: stock_filter, stock_schema")
    longest = max(len(tool.name) for tool in llm.tools.dataframe(stock, "s" * 50))
    assert longest == 63  # within the 64 characters every provider takes
    both = llm.tools.as_tools([sales_tools, stock_tools])  # toolsets inside a list of tools
    assert len(both) == 12 and len({tool.name for tool in both}) == 12
    with pytest.raises(llm.ConfigError, match="Two tools are named 'sales_filter'"):
        llm.tools.as_tools([sales_tools, llm.tools.dataframe(stock, "sales")])


@pytest.mark.parametrize(
    ("given", "options", "message"),
    [
        ([1, 2], {}, "needs a pandas DataFrame, not list"),
        (
            pd.Series([1]),
            {},
            r"needs a pandas DataFrame, not Series: .*turn a Series into one with series.to_frame\(\)\.$",
        ),
        (None, {"name": ""}, "name='' cannot start tool names"),
        (None, {"name": "my sales"}, "name='my sales' cannot start tool names"),
        (None, {"name": "1sales"}, "starting with a letter or '_'"),
        (None, {"name": "s" * 51}, "at most 50 characters"),
        (
            None,
            {"max_result_tokens": 10},
            "max_result_tokens must be a whole number of at least 100",
        ),
        (None, {"max_result_tokens": 1e3}, "not 1000.0"),
    ],
)
def test_bad_arguments_are_config_errors(sales, given, options, message) -> None:
    with pytest.raises(llm.ConfigError, match=message):
        llm.tools.dataframe(sales if given is None else given, **options)


def test_the_frame_is_held_not_copied_and_only_read(sales) -> None:
    before = sales.copy()
    tools = tools_of(sales)
    for name, arguments in [
        ("sales_schema", {}),
        ("sales_head", {"n": 6}),
        ("sales_describe", {}),
        ("sales_value_counts", {"column": "region"}),
        ("sales_filter", {"query": "price > 1", "sort_by": "price"}),
        ("sales_aggregate", {"func": "mean", "column": "price", "by": ["region"]}),
    ]:
        call(tools[name], **arguments)
    pd.testing.assert_frame_equal(sales, before)
    sales.loc[0, "price"] = 99.0  # a change to the frame shows in the next answer
    assert "[1,99.0]" in call(tools["sales_filter"], query="price > 90", columns=["id", "price"])


def test_import_stays_free_of_pandas_until_a_frame_is_given() -> None:
    code = (
        "import sys, llmpipe_nb as llm\n"
        "try:\n    llm.tools.dataframe([1])\nexcept llm.ConfigError as e:\n    print(e)\n"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False" and "not list" in out.stdout


def sent_results(provider: str, body: dict) -> list[str]:
    """The tool results the last request carried, in the provider's own shape."""
    if provider == "anthropic":
        return [b["content"] for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
    if provider == "gemini":
        parts = body["contents"][-1]["parts"]
        return [
            p["functionResponse"]["response"]["result"] for p in parts if "functionResponse" in p
        ]
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
def test_the_model_filters_the_frame_through_the_loop(served, sales, provider) -> None:
    # the loopback model calls the first two tools offered, with the prompt as the first argument
    server, options = served(provider)
    reply = llm.chat(
        provider, "price is null", tools=llm.tools.dataframe(sales, "sales"), **options
    )
    runs = [step for step in reply.steps if isinstance(step, llm.ToolRun)]
    assert [(run.call.name, run.call.arguments, run.status) for run in runs] == [
        ("sales_filter", {"query": "price is null"}, "ok"),
        ("sales_schema", {"name_contains": "price is null"}, "ok"),
    ]
    sent = sent_results(provider, server.last_request.json)
    assert sent[0] == runs[0].output and sent[0].startswith(
        "sales: 1 of 6 rows match price is null"
    )
    assert json.loads(sent[0].splitlines()[2])[:3] == [2, "West", None]
    assert sent[1].startswith("sales: 6 rows, 7 columns; 0 with 'price is null' in their name")
    assert reply.content.startswith("Echo:") and len(server.requests) == 2


def test_a_bad_query_goes_back_to_the_model_and_the_loop_goes_on(served, sales) -> None:
    server, options = served("openai")
    reply = llm.chat("openai", "price >> 3", tools=llm.tools.dataframe(sales, "sales"), **options)
    run = reply.steps[1]
    assert run.call.name == "sales_filter" and run.status == "error"
    assert run.output == "Error: QueryError: expected a value, found '>' at position 7"
    assert sent_results("openai", server.last_request.json)[0] == run.output
    assert reply.content.startswith("Echo:") and len(server.requests) == 2
