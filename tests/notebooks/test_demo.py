"""`llmpipe demo`: the quickstart in a real kernel, written as a notebook and an offline HTML page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from llmpipe_nb import ConfigError, demo

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"


def notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_demo_runs_the_quickstart_and_writes_an_offline_page(tmp_path, kernel_env):
    result = demo.run(QUICKSTART, tmp_path / "demo")

    assert result.error is None
    assert result.requests > 0 and result.input_tokens > 0 and result.output_tokens > 0
    assert result.cost_usd == 0.0  # the mock runs locally
    executed = nbformat.read(result.notebook, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert result.cells == len(code), "every code cell ran"

    page = result.html.read_text(encoding="utf-8")
    assert "mock provider" in page
    external = re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?:[^\"]+)\"", page)
    assert external == [], "the page loads nothing from the network"
    assert (result.html.parent / "embed.js").read_bytes() == demo.RENDERER.read_bytes()
    assert '<script type="application/vnd.jupyter.widget-state+json">' in page  # the inspector
    assert re.findall(r"widgetRendererSrc = '([^']*)'", page) == ["embed.js", "embed.js"]
    streamed = next(c for c in code if "for chunk in stream" in c.source)
    assert [o.output_type for o in streamed.outputs] == ["stream"]  # one block, as in Jupyter

    summary = result.summary()
    assert f"requests  {result.requests} (1 ended in an error: RateLimitError)" in summary
    assert "$0.000000" in summary  # the quickstart shows one injected rate limit


@pytest.mark.slow
def test_a_streamed_print_is_one_output_in_the_notebook_and_the_page(tmp_path, kernel_env):
    probe = notebook(
        tmp_path,
        "import time\n"
        "for i in range(26):\n"
        "    print(f'piece{i}', end=' ', flush=True)\n"
        "    time.sleep(0.01)\n"
        "print()\n"
        "display('in between')\n"
        "print('after')",
    )
    result = demo.run(probe, tmp_path / "out")

    assert result.error is None
    outputs = nbformat.read(result.notebook, as_version=4).cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data", "stream"]
    assert outputs[0].text == " ".join(f"piece{i}" for i in range(26)) + " \n"
    assert outputs[2].text == "after\n"  # joined only with its neighbours: the order stays
    page = result.html.read_text(encoding="utf-8")
    assert page.count('<div class="jp-OutputArea-child">') == 3
    assert page.count("<pre>piece") == 1


@pytest.mark.slow
def test_widgets_keep_their_state_and_render_from_the_local_copy(tmp_path, kernel_env):
    probe = notebook(tmp_path, "import ipywidgets\nipywidgets.HTML('<b>WIDGET-OK</b>')")
    result = demo.run(probe, tmp_path / "out")

    page = result.html.read_text(encoding="utf-8")
    assert '<script type="application/vnd.jupyter.widget-state+json">' in page
    assert "WIDGET-OK" in page
    assert re.findall(r"widgetRendererSrc = '([^']*)'", page) == ["embed.js", "embed.js"]


@pytest.mark.slow
def test_demo_reports_the_failing_cell_and_still_writes_everything(tmp_path, kernel_env):
    probe = notebook(tmp_path, "import llmpipe_nb as llm\nllm.chat('Hello')", "1 / 0", "'never'")
    result = demo.run(probe, tmp_path / "out")

    assert result.error == "cell 1 raised ZeroDivisionError: division by zero"
    assert result.requests == 1 and result.request_errors == ()
    assert "requests  1, all answered" in result.summary()
    assert result.notebook.exists() and result.html.exists()
    assert "FAILED" in result.summary() and "ZeroDivisionError" in result.summary()


@pytest.mark.slow
def test_the_kernel_gets_no_keys_and_the_mock_as_default(tmp_path, kernel_env, monkeypatch):
    canary = "sk-canary-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("LLMPIPE_PROVIDER", "openai")
    probe = notebook(
        tmp_path,
        "import os, llmpipe_nb as llm\n"
        "print(sorted(k for k in os.environ if k.endswith('_API_KEY')))\n"
        "print(llm.chat('Hello').provider)",
    )
    result = demo.run(probe, tmp_path / "out")

    assert result.error is None
    printed = nbformat.read(result.notebook, as_version=4).cells[0].outputs[0].text
    assert printed == "[]\nmock\n"
    for path in result.notebook.parent.iterdir():
        if path.suffix in (".ipynb", ".html", ".log"):
            assert canary not in path.read_text(encoding="utf-8")


def test_a_missing_notebook_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"No notebook at .*nothing\.ipynb: check the path"):
        demo.run(tmp_path / "nothing.ipynb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_default_notebook_is_found_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert demo.find_notebook().resolve() == QUICKSTART


def test_without_a_checkout_the_default_notebook_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "_CHECKOUT", tmp_path)
    with pytest.raises(ConfigError, match=r"run `llmpipe demo` from the repository root"):
        demo.find_notebook()


LLMPIPE = Path(sys.executable).with_name("llmpipe")


@pytest.mark.slow
def test_the_command_prints_the_summary_and_exits_0(tmp_path, kernel_env):
    out = tmp_path / "demo"
    done = subprocess.run(
        [LLMPIPE, "demo", "--out", str(out)], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "01_quickstart.ipynb: ran, " in done.stdout.splitlines()[0]
    for label in ("requests", "tokens", "cost", "notebook", "html", "ledger"):
        assert f"\n  {label} " in done.stdout
    assert (out / "01_quickstart.html").exists() and (out / "01_quickstart.ipynb").exists()
    costs = subprocess.run(
        [LLMPIPE, "costs", "--db", str(out / "ledger.sqlite")], capture_output=True, text=True
    )
    assert costs.returncode == 0 and "mock/mock-1" in costs.stdout


@pytest.mark.slow
def test_the_command_exits_1_when_a_cell_fails(tmp_path, kernel_env):
    probe = notebook(tmp_path, "raise RuntimeError('boom')")
    done = subprocess.run(
        [LLMPIPE, "demo", "--notebook", str(probe), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1
    assert "error     cell 0 raised RuntimeError: boom" in done.stdout


def test_the_command_names_a_missing_notebook(tmp_path):
    done = subprocess.run(
        [LLMPIPE, "demo", "--notebook", str(tmp_path / "x.ipynb")], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == f"llmpipe: No notebook at {tmp_path / 'x.ipynb'}: check the path to the .ipynb file.\n"
    )
