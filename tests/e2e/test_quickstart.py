"""The quickstart notebook, run top to bottom in JupyterLab the way a new user would."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_quickstart_runs_cleanly_in_lab(notebook, expect):
    notebook.open("notebooks/01_quickstart.ipynb")
    notebook.run_all()  # fails on any traceback or widget that could not be drawn
    streamed = notebook.code_cell("for chunk in stream:")
    expect(streamed.locator(".jp-OutputArea-output").first).to_contain_text("robot")
    # the inspector widget, drawn by the widget JavaScript
    inspector = notebook.code_cell("llm.nb.PipelineInspector(answer)")
    expect(inspector.locator(".widget-select select option")).not_to_have_count(0)
    # the %%llm cells: answers rendered as views, the prompt's {topic} filled in
    haiku = notebook.code_cell("Write a haiku about pipelines.")
    expect(haiku.locator(".llmpipe .lp-badge.lp-completed")).to_be_visible()
    filled = notebook.code_cell("What should a beginner know about {topic}?")
    expect(filled.locator(".llmpipe")).to_contain_text("context windows")
    expect(filled.locator(".llmpipe")).to_contain_text("mock-large")
    views = notebook.page.locator(".jp-OutputArea-output .llmpipe")
    found = notebook.visual_problems(views)
    notebook.screenshot("quickstart-top")
    notebook.screenshot("quickstart-inspector", inspector)
    notebook.screenshot("quickstart-magics", filled)
    assert found["contrast"] == [] and found["overflow"] == [], found
