"""Each renderer on realistic values, through `llm.prompt`: what the model would read."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb import ConfigError


def text(template: str, budget: int = 8_000, **values) -> str:
    return llm.prompt(template, budget=budget, **values).text


@pytest.fixture
def sales() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 2_000
    df = pd.DataFrame(
        {
            "day": pd.date_range("2025-01-01", periods=n, freq="h"),
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "units": rng.integers(1, 40, n),
            "price": rng.normal(20, 4, n).round(2),
            "returned": rng.random(n) < 0.05,
        }
    )
    df.loc[[3, 50, 700], "price"] = np.nan
    return df


def test_a_dataframe_is_a_compact_summary(sales):
    out = text("{sales}", sales=sales)
    assert out.startswith("```\nDataFrame: 2,000 rows, 5 columns\nindex: RangeIndex, 0 to 1999")
    assert "- day: datetime64[" in out and "2025-01-01 00:00:00 to 2025-03-25 07:00:00" in out
    assert re.search(r"- region: \w+, 0 nulls, 3 distinct, top: north 5\d%, south", out)
    assert re.search(r"- units: int64, 0 nulls, mean [\d.]+, std [\d.]+, min 1, quartiles", out)
    assert "- price: float64, 3 nulls, mean" in out
    assert re.search(r"- returned: bool, 0 nulls, true \d\.\d%", out)
    for block in ("first 5 rows:\n,day,region", "last 5 rows:", "random 5 rows:"):
        assert block in out
    assert "1999,2025-03-25 07:00:00" in out  # the last row, with its index
    assert "sample" not in out  # 2,000 rows: every statistic is exact


def test_a_large_frame_says_which_statistics_are_sampled():
    big = pd.DataFrame({"x": np.arange(250_000), "g": ["a", "b"] * 125_000})
    out = text("{big}", big=big)
    assert "- x: int64, 0 nulls, mean 125000, std 72168.8, min 0," in out  # exact
    assert "max 249999" in out
    assert "from a random sample of 100,000 rows" in out


def test_dataframe_formats(sales):
    schema = text("{sales:schema}", sales=sales)
    assert "- units: int64, 0 nulls\n" in schema and "mean" not in schema and "rows:" not in schema
    csv = text("{sales:csv}", budget=100_000, sales=sales)
    assert csv.startswith("```\nfirst 1,000 rows of 2,000:\n,day,region,units,price,returned\n0,")
    assert csv.rstrip("`\n").endswith("… 1,000 more rows")
    md = text("{sales:markdown}", budget=100_000, sales=sales.head(3))
    assert "|  | day | region | units | price | returned |\n|---|---|---|---|---|---|" in md
    head = text("{sales:head(20)}", sales=sales)
    assert head.count("\n") == 2 + 1 + 20 + 1 and "first 20 rows of 2,000" in head
    tail = text("{sales:tail(2)}", sales=sales)
    assert "last 2 rows of 2,000:" in tail and "1999," in tail


def test_a_series_and_an_unknown_format(sales):
    out = text("{s}", s=sales["units"])
    assert out.startswith("```\nSeries 'units': 2,000 rows, dtype int64")
    with pytest.raises(ConfigError, match=r"':pie' is not a format for a DataFrame: use one of"):
        llm.prompt("{sales:pie}", sales=sales)


def test_a_numpy_array_by_shape_dtype_and_statistics():
    a = np.arange(12, dtype=float).reshape(3, 4)
    a[0, 0] = np.nan
    out = text("{a}", a=a)
    assert "ndarray: shape (3, 4), dtype float64" in out
    assert "min 1, max 11, mean 6, std 3.1" in out and "1 NaN" in out
    assert "values:\n[[nan  1.  2.  3.]" in out


def test_long_text_lists_and_dicts_are_clipped_with_a_marker():
    long = "word " * 10_000
    out = text("{long}", budget=2_000, long=long)
    assert re.search(r"… \[[\d,]+ more characters\] …", out)
    items = text("{items}", budget=300, items=list(range(5_000)))
    assert re.search(r"\[0, 1, 2.*, … [\d,]+ more items\]", items)
    config = {f"k{i}": i for i in range(2_000)} | {"api_key": "plain-value-1234"}
    out = text("{config}", budget=400, config=config)
    assert "more keys}" in out and "plain-value-1234" not in out


def test_a_secret_in_a_dict_is_masked():
    out = text("{config}", config={"model": "m", "api_key": "abc-123-xyz", "token": "t0k"})
    assert out == "{'model': 'm', 'api_key': '***', 'token': '***'}"


def test_an_exception_renders_with_its_traceback():
    def divide():
        return 1 / 0

    try:
        divide()
    except ZeroDivisionError as error:
        caught = error
    out = text("{e}", e=caught)
    assert "Traceback (most recent call last):" in out and "in divide" in out
    assert out.rstrip("`\n").endswith("ZeroDivisionError: division by zero")
    short = text("{e}", budget=30, e=caught)
    assert short == "ZeroDivisionError: division by zero"


def test_plain_values_keep_python_formats():
    assert text("{x:.2f} {s!r} {n}", x=3.14159, s="hi", n=None) == "3.14 'hi' None"


def test_a_registered_renderer_wins_for_its_type():
    class Invoice:
        total = 42

    @llm.renderer(Invoice)
    def render_invoice(value, spec):
        return f"invoice of {value.total} EUR"

    assert text("Check {inv}", inv=Invoice()) == "Check invoice of 42 EUR"


def test_a_renderer_named_by_module_and_class(tmp_path, monkeypatch):
    (tmp_path / "shapes_mod.py").write_text("class Square:\n    side = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    @llm.renderer("shapes_mod:Square")
    def render_square(value, spec):
        yield f"a square of side {value.side}, drawn in detail"
        yield "a square"

    import shapes_mod

    assert text("{s}", s=shapes_mod.Square()) == "a square of side 3, drawn in detail"
    assert text("{s}", budget=3, s=shapes_mod.Square()) == "a square"


def test_a_renderer_that_fails_is_one_sentence():
    class Broken:
        pass

    @llm.renderer(Broken)
    def render_broken(value, spec):
        raise RuntimeError("boom")

    with pytest.raises(ConfigError, match=r"^\{b\} could not be rendered \(RuntimeError: boom\)"):
        llm.prompt("{b}", b=Broken())
    with pytest.raises(ConfigError, match="takes one or more types"):
        llm.renderer()


def test_a_figure_an_image_file_and_bytes_become_image_parts(tmp_path: Path):
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(4, 3), dpi=100)
    fig.add_subplot().plot([1, 3, 2])
    Image.new("RGB", (30, 20), "red").save(tmp_path / "red.png")
    png = (tmp_path / "red.png").read_bytes()
    p = llm.prompt(
        "What does {fig} show? {path} {raw}", fig=fig, path=tmp_path / "red.png", raw=png
    )
    kinds = [part["type"] for part in p.content]
    assert kinds == ["text", "image", "text", "image", "text", "image"]
    assert all(part["media_type"] == "image/png" for part in p.content if part["type"] == "image")
    assert p.images == 3 and "[image: image/png]" in p.text
    assert text("{name!s}", name=str(tmp_path / "red.png")).endswith("red.png")  # !s: the text


def test_an_image_is_scaled_down_to_the_providers_limit():
    from PIL import Image

    big = Image.new("RGB", (4000, 1000), "blue")
    p = llm.prompt("{img}", target="anthropic", img=big)
    import base64
    import io

    with Image.open(io.BytesIO(base64.b64decode(p.content[0]["data"]))) as scaled:
        assert scaled.size == (1568, 392)
    assert p.tokens == -(-1568 * 392 // 750)


def test_bytes_that_are_not_an_image_are_text():
    assert text("{b}", b=b"\x00\x01 hello") == "b'\\x00\\x01 hello'"
