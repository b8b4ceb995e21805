"""The browser harness itself can fail: a broken cell and a console error are both caught."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_a_failing_cell_fails_run_all_with_its_traceback(notebook):
    notebook.open("e2e/failing.ipynb")
    with pytest.raises(AssertionError, match="this cell fails on purpose"):
        notebook.run_all()


def test_a_console_error_is_collected(notebook):
    notebook.page.set_content("<p>a page</p>")
    notebook.page.evaluate("console.error('llmpipe e2e canary')")
    notebook.page.wait_for_timeout(100)
    assert any("llmpipe e2e canary" in line for line in notebook.console)
    notebook.console.clear()


def test_visual_check_flags_faint_text_and_overflow(notebook):
    notebook.page.set_content(
        '<div class="jp-OutputArea-output" style="width:400px;background:#fff">'
        '  <div class="view" style="color:#111">readable'
        '    <span style="color:#bbb">faint</span>'
        '    <span style="color:#111;opacity:.3">faded</span>'
        '    <div style="width:600px">too wide</div>'
        "  </div>"
        "</div>"
    )
    found = notebook.visual_problems(notebook.page.locator(".view"))
    assert found["checked"] == 4
    assert [p["text"] for p in found["contrast"]] == ["faint", "faded"]
    assert {p["element"] for p in found["overflow"]} >= {"div", "output area scrolls sideways"}


def test_visual_check_passes_a_clean_view(notebook):
    notebook.page.set_content(
        '<div class="jp-OutputArea-output" style="width:400px;background:#111">'
        '  <div class="view" style="color:#eee;overflow-x:hidden">dark and readable'
        '    <pre style="overflow-x:auto;color:#ddd">' + "wide " * 200 + "</pre>"
        "  </div>"
        "</div>"
    )
    found = notebook.visual_problems(notebook.page.locator(".view"))
    assert found == {"checked": 2, "unmeasurable": 0, "contrast": [], "overflow": []}


def test_visual_check_flags_a_box_squeezed_into_scrolling(notebook):
    notebook.page.set_content(
        '<div class="jp-OutputArea-output" style="width:400px">'
        '  <div class="view" style="display:flex">'
        '    <div class="left" style="overflow:auto"><select style="width:340px"></select></div>'
        '    <div style="width:300px;flex:none">detail</div>'
        "  </div>"
        "</div>"
    )
    found = notebook.visual_problems(notebook.page.locator(".view"))
    assert [p["element"] for p in found["overflow"]] == ["div.left scrolls sideways"]


def test_a_widget_that_cannot_be_drawn_fails_run_all(notebook):
    notebook.open("e2e/broken_widget.ipynb")
    with pytest.raises(AssertionError, match="Error displaying widget"):
        notebook.run_all()
    notebook.console.clear()  # the widget manager also logs the missing model
