"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel, offline, with no key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run_notebook(path: Path, cwd: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute(env=env)
    return nb


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Tracebacks that reached stderr without failing the cell (a caught error that was
    logged, a broken background thread); errors that fail a cell already raise."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", ()):
            if out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                found.append(f"cell {i}: traceback on stderr:\n{out.text}")
    return found


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    for number, topic in enumerate(
        [
            "quickstart",
            "pipelines_and_plugs",
            "providers",
            "caching_and_resilience",
            "cost_analysis",
        ]
    ):
        assert f"0{number + 1}_{topic}.ipynb" in names


def keys_in(nb: nbformat.NotebookNode) -> set[str]:
    """The API keys a notebook's code passes as `api_key="..."` (made up, but never to be shown)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return set(re.findall(r"api_key\s*=\s*[\"']([^\"']+)[\"']", code))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, kernel_env):
    nb = run_notebook(path, tmp_path, kernel_env)
    assert problems(nb) == []
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "every code cell ran"
    shown = json.dumps([c.get("outputs", []) for c in code]) + json.dumps(nb.metadata)
    assert [key for key in keys_in(nb) if key in shown] == [], "no key shows in any output"


def test_keys_in_finds_the_keys_a_notebook_uses():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("llm.configure('openai', api_key='sk-one')"),
        nbformat.v4.new_code_cell('llm.chat("x", "hi", api_key = "k2")'),
        nbformat.v4.new_markdown_cell('api_key="not-code"'),
    ]
    assert keys_in(nb) == {"sk-one", "k2"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} of {path.name} has stored outputs"
            assert cell["execution_count"] is None, f"cell {i} of {path.name} has a count"
    assert "widgets" not in nb["metadata"], f"{path.name} stores widget state"


def write(tmp_path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


BROKEN_DISPLAY = """
class Broken:
    def _repr_html_(self):
        raise ValueError("no view")
Broken()
"""


@pytest.mark.parametrize("source", ["1 / 0", BROKEN_DISPLAY], ids=["raises", "broken-display"])
def test_a_failing_cell_fails_the_run(source, tmp_path, kernel_env):
    with pytest.raises(CellExecutionError):
        run_notebook(write(tmp_path, source), tmp_path, kernel_env)


def test_a_traceback_on_stderr_counts_as_a_problem(tmp_path, kernel_env):
    source = (
        "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()"
    )
    found = problems(run_notebook(write(tmp_path, source), tmp_path, kernel_env))
    assert len(found) == 1 and "ZeroDivisionError" in found[0]


def stdout_of(nb: nbformat.NotebookNode) -> list[str]:
    """What each code cell printed, except cells tagged as differing on a replay."""
    return [
        "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")
        for c in nb.cells
        if c.cell_type == "code" and "differs-on-replay" not in c.metadata.get("tags", ())
    ]


UNREACHABLE = """
import llmpipe_nb as llm
llm.providers.get("mock").fail_next(
    llm.ProviderConnectionError("the provider is unreachable", provider="mock"), times=10_000
)
"""


@pytest.mark.slow
def test_a_recorded_notebook_reruns_identically_with_the_provider_unreachable(tmp_path, kernel_env):
    path = ROOT / "notebooks" / "08_record_and_replay.ipynb"
    recorded = run_notebook(path, tmp_path, {**kernel_env, "LLMPIPE_REPLAY_MODE": "record"})
    assert (tmp_path / "08_record_and_replay.llm.sqlite").is_file()
    offline = nbformat.read(path, as_version=4)
    offline.cells.insert(0, nbformat.v4.new_code_cell(UNREACHABLE))
    copy = tmp_path / "offline.ipynb"
    nbformat.write(offline, copy)
    replayed = run_notebook(copy, tmp_path, {**kernel_env, "LLMPIPE_REPLAY_MODE": "replay"})
    replayed.cells.pop(0)
    assert problems(recorded) == problems(replayed) == []
    assert stdout_of(replayed) == stdout_of(recorded)
    printed = "".join(stdout_of(recorded))
    assert "'You aske' 'd about:'" in printed, "a stream's chunks, as they came"
    assert "True replayed" in printed and "(recorded '…notebooks matter?')" in printed
    summary = next(c for c in replayed.cells if "differs-on-replay" in c.metadata.get("tags", ()))
    printed = "".join(o.get("text", "") for o in summary.outputs)
    assert "mode='replay'" in printed and " 0 sent" in printed and "replayed" in printed
