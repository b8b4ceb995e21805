"""The magics with the notebook as context: budgets, dry runs, cells, outputs, errors, fix, explain."""

from __future__ import annotations

import sys

import pytest

import llmpipe_nb as llm

FIXED = "df['total'] = df['units'] * df['price']"
ANSWER = f"The column is 'price', not 'prize'.\n\n```python\n{FIXED}\n```\n"


def error_of(cells, source) -> str:
    result, _ = cells.run(source)
    assert not result.success
    return str(result.error_in_exec)


def sent(mock) -> str:
    content = mock.requests[-1].json["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


@pytest.fixture(autouse=True)
def no_earlier_error(monkeypatch):
    """IPython keeps the last error in `sys` for the whole process: start without one."""
    for name in ("last_exc", "last_value", "last_type", "last_traceback"):
        monkeypatch.delattr(sys, name, raising=False)


@pytest.fixture
def df(ip, cells):
    cells.ok(
        "import pandas as pd\ndf = pd.DataFrame({'units': range(1, 301), 'price': [2.5] * 300})"
    )


def test_a_dataframe_is_rendered_within_the_budget(ip, mock, df, cells):
    cells.ok("%%llm mock --no-stream --budget 120\nWhich columns of {df} have outliers?")
    text = sent(mock)
    assert text.startswith("Which columns of \n```\nDataFrame: 300 rows, 2 columns")
    assert "rows left out)" in text and len(text) // 4 <= 120


def test_dry_run_shows_the_wire_body_and_sends_nothing(ip, mock, df, canary, cells):
    rows = len(llm.costs())
    result, _ = cells.run("%%llm mock --dry-run --output preview\nSummarise {df}")
    assert mock.requests == [] and len(llm.costs()) == rows
    preview = result.result  # the cell's value, shown under it
    assert preview is ip.user_ns["preview"]
    text, html = repr(preview), preview._repr_html_()
    assert text.startswith("Dry run: mock, nothing was sent") and "DataFrame: 300 rows" in text
    assert "nothing sent" in html and "<style>" in html
    assert preview.body["messages"][-1]["content"].startswith("Summarise")
    for shown in (text, html):
        assert canary not in shown


def test_dry_run_for_openai_masks_the_key(ip, canary, cells):
    result, _ = cells.run("%%llm openai --dry-run --no-stream\nHello")
    text = repr(result.result)
    assert "POST https://api.openai.com/v1/chat/completions" in text
    assert "Authorization: ***" in text and canary not in text


def test_cells_outputs_and_the_last_value(ip, mock, cells):
    cells.ok("x = 21")
    cells.ok("x * 2")
    cells.ok("%%llm mock --no-stream\n{In[1]} gave {Out[2]}, and the last value is {_}.")
    text = sent(mock)
    assert text == "```python\n# In[1]\nx = 21\n```\n gave 42, and the last value is 42."


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("{In[99]}", "{In[99]} is past the history, which has In[1] to In[1]"),
        ("{Out[1]}", "{Out[1]} is past the history"),
        ("{Err}", "{Err} is the last error, but no cell has failed yet"),
        ("{In[x]}", "{In[x]} needs a cell number"),
        ("{MY_API_KEY}", "{MY_API_KEY} names a secret (MY_API_KEY)"),
    ],
)
def test_bad_references_are_one_sentence_and_send_nothing(ip, mock, prompt, message, cells):
    ip.user_ns["MY_API_KEY"] = "sk-not-to-be-sent-0123456789"
    assert message in error_of(cells, f"%%llm mock\n{prompt}")
    assert mock.requests == []


def test_a_cell_without_output_has_no_out(ip, mock, cells):
    cells.ok("y = 1")
    assert "Cell 1 gave no output, so {Out[1]} is empty" in error_of(cells, "%%llm mock\n{Out[1]}")


def test_a_secret_in_a_one_line_prompt_is_refused_not_expanded(ip, mock, cells):
    ip.user_ns["GITHUB_TOKEN"] = "ghp_secret_value_0123456789"
    assert "names a secret" in error_of(cells, "%llm mock What is {GITHUB_TOKEN}?")
    assert mock.requests == []


def test_err_is_the_last_error_with_its_traceback(ip, mock, df, cells):
    cells.run("df['total'] = df['units'] * df['prize']")
    cells.ok("%%llm mock --no-stream\nWhy? {Err}")
    text = sent(mock)
    assert "Traceback (most recent call last):" in text and "KeyError: 'prize'" in text
    assert "Cell, line 1, in <module>" in text and "interactiveshell" not in text


def test_fix_sends_the_cell_the_error_and_its_variables_and_proposes_the_next_cell(
    ip, mock, df, cells
):
    ip.user_ns["DB_PASSWORD"] = "hunter2-hunter2"
    cells.run("print(DB_PASSWORD[:0])\ndf['total'] = df['units'] * df['prize']")
    mock.configure(reply=ANSWER)
    cap = cells.ok("%llm fix mock")
    text = sent(mock)
    assert text.startswith("This notebook cell failed.")
    assert "# In[2]\nprint(DB_PASSWORD[:0])\ndf['total'] = df['units'] * df['prize']" in text
    assert "KeyError: 'prize'" in text
    assert "df = \n```\nDataFrame: 300 rows, 2 columns" in text
    assert "Left out because they hold secrets: DB_PASSWORD" in text and "hunter2" not in text
    assert ip.rl_next_input == FIXED  # the proposed cell, not run
    assert "total" not in ip.user_ns["df"]
    assert cap.outputs[-1].metadata["llmpipe"]["stage"] == "final"


def test_fix_without_an_error_says_so(ip, mock, cells):
    assert "no cell has failed yet" in error_of(cells, "%llm fix mock")
    assert mock.requests == []


def test_fix_dry_run_sends_nothing_and_proposes_nothing(ip, mock, df, cells):
    cells.run("1 / 0")
    result, _ = cells.run("%llm fix mock --dry-run")
    assert mock.requests == [] and getattr(ip, "rl_next_input", None) is None
    assert "ZeroDivisionError: division by zero" in repr(result.result)


def test_explain_sends_the_previous_cell_and_its_result(ip, mock, df, cells):
    cells.ok("df.describe()")
    cells.ok("%llm explain mock --no-stream")
    text = sent(mock)
    assert text.startswith("Explain briefly what this notebook cell does")
    assert "# In[2]\ndf.describe()" in text
    assert "Its result:\n```\nDataFrame: 8 rows, 2 columns" in text


def test_explain_with_no_cell_before(ip, mock, cells):
    assert "no cell before this one" in error_of(cells, "%llm explain mock")


def test_format_code_puts_the_answers_code_in_the_next_cell(ip, mock, cells):
    mock.configure(reply="Here:\n```python\nprint('hi')\n```")
    cells.ok("%%llm mock --format code --no-stream\nWrite hello world")
    assert ip.rl_next_input == "print('hi')"


def test_a_figure_goes_as_an_image_part(ip, mock, cells):
    cells.ok(
        "from matplotlib.figure import Figure\nfig = Figure(figsize=(2, 1))\nfig.add_subplot()"
    )
    cells.ok("%%llm mock --no-stream\nWhat does {fig} show?")
    content = mock.requests[-1].json["messages"][-1]["content"]
    assert [p["type"] for p in content] == ["text", "image", "text"]
    assert content[1]["media_type"] == "image/png"


def test_the_extension_unloads_its_hook(ip):
    hooks = ip.events.callbacks["post_run_cell"]
    assert any(getattr(h, "__name__", "") == "after_cell" for h in hooks)
    ip.extension_manager.unload_extension("llmpipe_nb")
    assert not any(getattr(h, "__name__", "") == "after_cell" for h in hooks)


def test_dry_run_skips_the_cache_and_stores_nothing(ip, mock, cells):
    prompt = "a prompt no other test caches"
    result, _ = cells.run(f"%%llm mock --cache --dry-run --no-stream\n{prompt}")
    assert "(skipped in a dry run: Cache)" in repr(result.result)
    answer = ip.run_line_magic("llm", f"mock --cache {prompt}")
    assert not answer.cache_hit and len(mock.requests) == 1


def test_an_error_from_before_the_extension_is_found_in_sys(ip, mock, cells):
    try:
        {}["missing"]
    except KeyError as error:
        sys.last_value = error  # what IPython does when it shows a traceback
    cells.ok("%llm fix mock --no-stream")
    text = sent(mock)
    assert "KeyError: 'missing'" in text and "The cell:" not in text
