"""The quickstart notebook, run top to bottom in JupyterLab the way a new user would."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_quickstart_runs_cleanly_in_lab(notebook, expect):
    notebook.open("notebooks/01_quickstart.ipynb")
    notebook.run_all()
    first_chat = notebook.code_cell('llm.chat("mock", "Explain a pipeline of plugs')
    expect(first_chat.locator(".jp-OutputArea-output")).not_to_be_empty()
    streamed = notebook.code_cell("for chunk in stream:")
    expect(streamed.locator(".jp-OutputArea-output").first).to_contain_text("robot")
    notebook.screenshot("quickstart-top")
    notebook.page.locator(".jp-NotebookPanel .jp-Cell").last.scroll_into_view_if_needed()
    notebook.screenshot("quickstart-bottom")
