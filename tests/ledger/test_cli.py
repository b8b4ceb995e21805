"""`llmpipe costs [--db PATH]`: the summary of a ledger file as a table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import llmpipe_nb as llm
from llmpipe_nb.cli import main


@pytest.fixture
def ledger_file(tmp_path, priced_mock):
    path = tmp_path / "costs.sqlite"
    llm.ledger().persist(path)
    for i in range(3):
        llm.chat("mock", f"question {i}")
    llm.embeddings("mock", "embed me")
    llm.ledger().persist(None)
    return path


def test_costs_prints_the_summary_table(ledger_file, capsys):
    assert main(["costs", "--db", str(ledger_file)]) == 0
    out = capsys.readouterr().out
    assert str(ledger_file) in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if "mock/" in line}
    assert set(lines) == {"mock/mock-1", "mock/mock-embed-1"}
    spent = llm.costs(model="mock-1").cost_usd.sum()
    assert lines["mock/mock-1"][1] == "3" and f"{spent:.6f}" in lines["mock/mock-1"]


def test_costs_reads_the_environment_variable(ledger_file, capsys, monkeypatch):
    monkeypatch.setenv("LLMPIPE_LEDGER", str(ledger_file))
    assert main(["costs"]) == 0
    assert "mock/mock-1" in capsys.readouterr().out


def test_costs_without_a_file_says_what_to_do(capsys):
    assert main(["costs"]) == 2
    assert "pass --db PATH or set LLMPIPE_LEDGER" in capsys.readouterr().err


def test_costs_of_a_missing_file_fails_with_one_line(tmp_path, capsys):
    assert main(["costs", "--db", str(tmp_path / "missing.sqlite")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("llmpipe: No ledger file at") and len(err.strip().splitlines()) == 1


def test_costs_of_an_empty_ledger_says_so(tmp_path, capsys):
    path = tmp_path / "empty.sqlite"
    llm.ledger().persist(path)
    llm.ledger().persist(None)
    assert main(["costs", "--db", str(path)]) == 0
    assert "No requests recorded" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "costs" in capsys.readouterr().out


def test_the_console_script_runs(ledger_file):
    script = Path(sys.executable).with_name("llmpipe")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "llmpipe_nb.cli"]
    out = subprocess.run(
        [*command, "costs", "--db", str(ledger_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "mock/mock-1" in out.stdout and "mock/mock-embed-1" in out.stdout
