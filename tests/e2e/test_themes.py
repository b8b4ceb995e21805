"""The views in JupyterLab's light and dark themes: readable contrast, nothing sticking out.

The page is 1280 px wide with Lab's file browser open, which leaves the notebook about
930 px: the narrowest layout a person is likely to use on a laptop.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.fixture(scope="module", params=list(THEMES))
def themed(request, lab, watched_page):
    """The e2e notebook run in one theme, with the waterfalls opened and a plug chosen."""
    from playwright.sync_api import expect

    lab.set_theme(THEMES[request.param])
    try:
        with watched_page(request, lab) as notebook:
            notebook.name = f"theme-{request.param}"
            notebook.open("e2e/e2e.ipynb")
            light = "true" if request.param == "light" else "false"
            expect(notebook.page.locator("body")).to_have_attribute("data-jp-theme-light", light)
            notebook.run_all()
            for summary in notebook.page.locator(".jp-OutputArea-output .llmpipe summary").all():
                summary.click()
            inspector = notebook.output("inspector").locator(".widget-vbox").first
            inspector.locator(".widget-select select").select_option(index=3)
            expect(inspector.locator(".lp-card", has_text="Step 3")).to_be_visible()
            notebook.screenshot(notebook.name)
            yield notebook
    finally:
        lab.set_theme(THEMES["light"])


def test_views_read_well_and_fit(themed):
    views = themed.page.locator(".jp-OutputArea-output .llmpipe")
    found = themed.visual_problems(views)
    themed.screenshot(f"{themed.name}-response", themed.cell("chat"))
    assert found["checked"] >= 50, found
    assert found["contrast"] == [], found["contrast"]
    assert found["overflow"] == [], found["overflow"]


def test_inspector_reads_well_and_fits(themed):
    inspector = themed.output("inspector").locator(".widget-vbox").first
    found = themed.visual_problems(inspector)
    themed.screenshot(f"{themed.name}-inspector", themed.cell("inspector"))
    assert found["checked"] >= 20, found
    assert found["contrast"] == [], found["contrast"]
    assert found["overflow"] == [], found["overflow"]


def test_dashboard_reads_well_and_fits(themed):
    dashboard = themed.output("dashboard").locator(".widget-vbox").first
    found = themed.visual_problems(dashboard)
    themed.screenshot(f"{themed.name}-dashboard", themed.cell("dashboard"))
    assert found["checked"] >= 20, found
    assert found["contrast"] == [], found["contrast"]
    assert found["overflow"] == [], found["overflow"]
