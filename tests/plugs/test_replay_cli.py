"""`llmpipe replay show|stats|prune PATH`: a recording seen and trimmed from the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import llmpipe_nb as llm
from llmpipe_nb.cli import main


@pytest.fixture
def tape(tmp_path):
    path = tmp_path / "nb.llm.sqlite"
    llm.set_price("mock-1", input_per_mtok=100.0, output_per_mtok=200.0)
    with llm.replay(path, mode="record"):
        llm.chat("mock", "What is a lighthouse?")
        llm.chat("mock", "What is a harbour?", model="mock-large")
        llm.stream("mock", "Stream a sea shanty").text()
        llm.embeddings("mock", ["sea", "salt"])
    return path


def test_show_lists_every_recording(tape, capsys):
    assert main(["replay", "show", str(tape)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"4 recordings in {tape}:")
    assert "What is a lighthouse?" in out and "Stream a sea shanty" in out
    assert {"chat", "stream", "embeddings"} <= set(out.split())


def test_stats_gives_totals_compression_and_saving(tape, capsys):
    assert main(["replay", "stats", str(tape)]) == 0
    out = capsys.readouterr().out
    spent = llm.costs(model="mock-1").cost_usd.sum()
    assert spent > 0
    assert "4 requests" in out and "smaller" in out and f"saves ${spent:.6f}" in out
    assert "mock-large" in out and "mock-embed-1" in out


def test_prune_by_model_and_age(tape, capsys):
    assert main(["replay", "prune", str(tape), "--model", "mock-large", "--dry-run"]) == 0
    assert "Would delete 1 of 4" in capsys.readouterr().out
    assert main(["replay", "prune", str(tape), "--model", "mock-large"]) == 0
    assert "Deleted 1 of 4" in capsys.readouterr().out
    assert main(["replay", "prune", str(tape), "--older-than", "1"]) == 0
    assert "Deleted 0 of 3" in capsys.readouterr().out
    time.sleep(0.01)
    assert main(["replay", "prune", str(tape), "--older-than", "0"]) == 0
    assert "Deleted 3 of 3" in capsys.readouterr().out


def test_prune_needs_a_criterion_and_a_missing_file_is_one_line(tape, tmp_path, capsys):
    assert main(["replay", "prune", str(tape)]) == 2
    assert "--older-than DAYS" in capsys.readouterr().err
    assert main(["replay", "show", str(tmp_path / "none.sqlite")]) == 1
    assert "There is no recording at" in capsys.readouterr().err


def test_the_console_script_runs(tape):
    out = subprocess.run(
        [sys.executable, "-m", "llmpipe_nb.cli", "replay", "stats", str(tape)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert "4 requests" in out.stdout
