"""The views in JupyterLab's light and dark themes: readable contrast, nothing sticking out."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.fixture(params=list(THEMES))
def theme(request, lab):
    lab.set_theme(THEMES[request.param])
    yield request.param
    lab.set_theme(THEMES["light"])


def test_views_are_readable_and_fit_at_1280px(theme, notebook, expect):
    notebook.open("e2e/e2e.ipynb")
    expect(notebook.page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "true" if theme == "light" else "false"
    )
    notebook.run_all()
    views = notebook.page.locator(".jp-OutputArea-output .llmpipe")
    expect(views.first).to_be_visible()
    for summary in views.locator("summary").all():
        summary.click()  # open the waterfalls too
    found = notebook.visual_problems(views)
    notebook.screenshot(f"theme-{theme}")
    notebook.screenshot(f"theme-{theme}-response", notebook.cell("chat"))
    assert found["checked"] >= 20, found
    assert found["contrast"] == [], found["contrast"]
    assert found["overflow"] == [], found["overflow"]
