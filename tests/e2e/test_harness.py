"""The browser harness itself can fail: a broken cell and a console error are both caught."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_a_failing_cell_fails_run_all_with_its_traceback(notebook):
    notebook.open("e2e/failing.ipynb")
    with pytest.raises(AssertionError, match="this cell fails on purpose"):
        notebook.run_all()


def test_a_console_error_is_collected(notebook):
    notebook.open("e2e/e2e.ipynb")
    notebook.page.evaluate("console.error('llmpipe e2e canary')")
    notebook.page.wait_for_timeout(100)
    assert any("llmpipe e2e canary" in line for line in notebook.console)
    notebook.console.clear()
