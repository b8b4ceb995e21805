"""The purpose-built e2e notebook, run in JupyterLab in a real browser."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_chat_answer_appears_in_the_cell(notebook, expect):
    notebook.open("e2e/e2e.ipynb")
    notebook.run_all()
    expect(notebook.output("chat")).to_contain_text("You asked about: What is a plug?")
    notebook.screenshot("e2e-notebook")
