"""`llmpipe demo`'s HTML page of the executed quickstart, opened from disk with the network cut off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
NOTEBOOKS = {
    "quickstart": HERE.parents[1] / "notebooks" / "01_quickstart.ipynb",
    "e2e": HERE / "notebooks" / "e2e.ipynb",
}

# For each widget output: was it drawn next to its view script by the widget renderer?
WIDGETS_JS = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
  const drawn = s.previousElementSibling;
  return {model: JSON.parse(s.textContent).model_id,
          drawn: !!(drawn && drawn.classList.contains('widget-subarea')
                    && drawn.querySelector('.lm-Widget'))};
})"""


@pytest.fixture(scope="module", params=list(NOTEBOOKS))
def demo_html(request, lab, tmp_path_factory):
    """`llmpipe demo` run on a notebook into a temporary folder; the HTML page it wrote."""
    notebook = NOTEBOOKS[request.param]
    base = tmp_path_factory.mktemp("demo")
    env = lab.env() | {"HOME": str(base), "IPYTHONDIR": str(base / "ipython")}
    command = Path(sys.executable).with_name("llmpipe")
    done = subprocess.run(
        [command, "demo", "--notebook", notebook, "--out", base / "out"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return base / "out" / f"{notebook.stem}.html"


def test_page_shows_views_and_widgets_offline(demo_html, offline_page, expect):
    page = offline_page.page
    page.goto(demo_html.as_uri())
    views = page.locator(".jp-OutputArea-output .llmpipe")
    expect(views.first).to_be_visible()
    widgets = page.evaluate(WIDGETS_JS)
    assert widgets, "the page holds no widget output"
    page.wait_for_function(f"() => ({WIDGETS_JS})().every(w => w.drawn)")
    assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0
    # the inspector, drawn from its saved state: its plug list, switches and timings
    inspector = page.locator(".widget-subarea", has=page.locator(".widget-select")).first
    expect(inspector.locator(".widget-select select option").first).to_contain_text("0")
    expect(inspector.locator(".widget-checkbox").first).to_be_visible()
    expect(inspector.locator(".lp-bar").first).to_be_visible()
    found = offline_page.visual_problems(views)
    offline_page.screenshot(f"static-{demo_html.stem}", full_page=True)
    offline_page.screenshot(f"static-{demo_html.stem}-inspector", inspector)
    assert found["contrast"] == [] and found["overflow"] == [], found
