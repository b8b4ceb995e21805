"""The magics in a real ipykernel (its event loop is running while cells execute), via nbclient."""

from __future__ import annotations

from collections import defaultdict

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    "%load_ext llmpipe_nb\n"
    "import asyncio, llmpipe_nb as llm\n"
    "llm.providers.get('mock').configure(chunk_latency=0.01, chunk_size=4)\n"
    "topic = 'sharks <script>alert(1)</script>'\n"
    "asyncio.get_running_loop().is_running()",
    "%%llm mock --output answer --tag kernel\nTell me about {topic}",
    "(type(_).__name__, answer is _, Out[2] is answer, len(llm.costs(tags='kernel')))",
    "%%llm mock\nAbout {undefined_variable}",
    "%llm mock:mock-large one line, no stream",
    "from llmpipe_nb.nb import PipelineInspector\nPipelineInspector(answer)",
]

pytestmark = pytest.mark.slow  # starts a kernel (a few seconds)


class RecordingClient(NotebookClient):
    """Keeps the iopub message types each cell produced, in arrival order."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.seen = defaultdict(list)

    def process_message(self, msg, cell, cell_index):
        self.seen[cell_index].append(msg["msg_type"])
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed(kernel_home):
    home, env = kernel_home
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    client = RecordingClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(home)}},
    )
    client.execute(env=env)
    return nb, client.seen


def test_the_kernel_loop_is_running_while_the_magic_works(executed):
    nb, _ = executed
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "True"


def test_the_answer_streams_into_one_output(executed):
    nb, seen = executed
    kinds = [k for k in seen[1] if k in ("display_data", "update_display_data", "execute_result")]
    assert kinds[0] == "display_data" and kinds.count("display_data") == 1
    assert kinds.count("update_display_data") >= 3  # several updates, then the final render
    assert "execute_result" not in kinds
    [out] = nb.cells[1].outputs  # nbclient applied every update to the one output
    assert out["output_type"] == "display_data"
    assert out["metadata"]["llmpipe"]["stage"] == "final"
    html = out["data"]["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert out["data"]["text/plain"].startswith("You asked about: Tell me about sharks")


def test_the_response_is_kept_in_underscore_out_and_the_variable(executed):
    nb, _ = executed
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "('ChatResponse', True, True, 1)"


def test_an_error_is_one_line(executed):
    nb, _ = executed
    [out] = nb.cells[3].outputs
    assert out["output_type"] == "error" and out["ename"] == "CellError"
    assert len(out["traceback"]) == 1
    assert out["traceback"][0].startswith("ConfigError: The prompt uses {undefined_variable}")


def test_the_line_magic_returns_the_response(executed):
    nb, _ = executed
    [out] = nb.cells[4].outputs
    assert out["output_type"] == "execute_result"
    assert "mock-large" in out["data"]["text/plain"] and "text/html" in out["data"]


def test_the_inspector_is_a_widget_with_a_static_twin(executed):
    nb, _ = executed
    [out] = nb.cells[5].outputs
    data = out["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "lp-card" in data["text/html"] and "<script>alert" not in data["text/html"]
    assert data["text/plain"].startswith("Request req-")
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
