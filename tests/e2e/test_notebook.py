"""The purpose-built e2e notebook, run once in JupyterLab in a real browser: views and magics."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_response_view_shows_the_answer_and_its_facts(e2e, expect):
    view = e2e.output("chat").locator(".llmpipe")
    expect(view).to_have_count(1)
    expect(view).to_contain_text("You asked about: What is a plug")
    expect(view).to_contain_text("mock")
    expect(view.locator(".lp-facts")).to_contain_text("tokens")
    expect(view.locator(".lp-facts")).to_contain_text("cost")
    e2e.screenshot("response-view", e2e.cell("chat"))


def test_response_view_has_a_waterfall_bar_per_plug(e2e, expect):
    plugs = e2e.output("plugs").inner_text().split()
    assert len(plugs) >= 3, plugs
    view = e2e.output("chat").locator(".llmpipe")
    summary = view.locator("summary")
    expect(summary).to_contain_text(f"{len(plugs)} plugs")
    waterfall = view.locator("details table")
    expect(waterfall).to_be_hidden()
    summary.click()
    expect(waterfall).to_be_visible()
    rows = waterfall.locator("tr:has(.lp-bar)")
    expect(rows).to_have_count(len(plugs))
    assert [r.locator("code").inner_text() for r in rows.all()] == plugs
    bars = [b.bounding_box() for b in waterfall.locator(".lp-bar").all()]
    track = waterfall.locator(".lp-track").first.bounding_box()
    assert all(b and b["width"] > 0 for b in bars), bars
    # bars are laid out left to right in running order, inside their track
    lefts = [b["x"] for b in bars]
    assert lefts == sorted(lefts)
    assert all(b["x"] + b["width"] <= track["x"] + track["width"] + 1 for b in bars)
    e2e.screenshot("response-waterfall", e2e.cell("chat"))


def test_model_text_is_shown_as_text_never_run(e2e, expect):
    view = e2e.output("hostile").locator(".llmpipe")
    expect(view).to_contain_text("<script>document.title='pwned'</script>")
    expect(view).to_contain_text('<img src=x onerror="document.title=')
    expect(view.locator("strong")).to_have_text("bold")  # Markdown is rendered, HTML is not
    assert view.locator("img, script").count() == 0
    assert e2e.page.title() != "pwned"
    e2e.screenshot("response-escaped", e2e.cell("hostile"))


def test_cell_magic_answer_is_rendered_in_the_cell(e2e, expect):
    cell = e2e.code_cell("Say hello from a cell magic.")
    view = cell.locator(".jp-OutputArea-output .llmpipe")
    expect(view).to_have_count(1)
    expect(view).to_contain_text("You asked about: Say hello from a cell magic")
    expect(view.locator(".lp-badge.lp-completed")).to_have_text("completed")
    expect(view.locator(".lp-facts")).to_contain_text("tokens")
    # the response is the cell's value: `_` holds it in the next cell
    expect(e2e.output("underscore")).to_contain_text(
        "ChatResponse | You asked about: Say hello from a cell magic"
    )
    e2e.screenshot("magic-answer", cell)
