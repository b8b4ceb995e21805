"""`%%llm` in a real kernel against the real server and the in-process model."""

from __future__ import annotations

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(llama_server, kernel_home):
    home, env = kernel_home
    cells = [
        "%load_ext llmpipe_nb\nimport llmpipe_nb as llm\n"
        f"llm.configure('llamacpp', base_url={llama_server!r})",
        "%%llm llamacpp --max-tokens 20 --temperature 0\nSay hello.",
        "%%llm local --max-tokens 20 --temperature 0\nSay hello.",
        "rows = llm.costs()\n(list(rows.provider), list(rows.estimated), bool((rows.output_tokens > 0).all()))",
    ]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(home)}}
    )
    client.execute(env=env)
    return nb


def _final_text(cell) -> str:
    [out] = [o for o in cell.outputs if o["output_type"] == "display_data"]
    assert out["metadata"]["llmpipe"]["stage"] == "final"
    return out["data"]["text/plain"]


def test_a_streamed_cell_on_the_server_shows_estimated_tokens(executed) -> None:
    text = _final_text(executed.cells[1])
    assert "llamacpp" in text and "tokens ≈ " in text


def test_a_local_cell_shows_exact_tokens_at_no_cost(executed) -> None:
    text = _final_text(executed.cells[2])
    assert "local" in text and "tokens " in text and "≈" not in text
    assert "$0.000000 (local)" in text


def test_one_ledger_row_per_cell(executed) -> None:
    [out] = executed.cells[3].outputs
    assert out["data"]["text/plain"] == "(['llamacpp', 'local'], [True, False], True)"
