"""`llmpipe models [--check] [--db PATH]`: the lifecycle table, and the models a ledger used."""

from __future__ import annotations

import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb.cli import main

KEY = "sk-test-cli-models-0123456789"


def record(path, server, *models: str) -> None:
    llm.ledger().persist(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", llm.ModelLifecycleWarning)
        for model in models:
            llm.chat("openai", "hi", model=model, api_key=KEY, base_url=server.base_url)
    llm.chat("mock", "hi")
    llm.ledger().persist(None)


def rows(out: str) -> dict[tuple[str, str], list[str]]:
    return {
        (line.split()[0], line.split()[1]): line.split()[2:]
        for line in out.splitlines()
        if line.startswith(("openai ", "mock "))
    }


def test_check_lists_the_ledger_models_with_status_and_replacement(
    tmp_path, openai_server, capsys
) -> None:
    path = tmp_path / "costs.sqlite"
    record(path, openai_server, "gpt-4o-mini", "gpt-4o-mini", "gpt-6-luna")
    assert main(["models", "--check", "--db", str(path)]) == 1
    out = capsys.readouterr().out
    assert rows(out) == {
        ("openai", "gpt-4o-mini"): ["2", "deprecated", "2027-01-14", "gpt-6-luna"],
        ("openai", "gpt-6-luna"): ["1", "active", "-", "-"],
        ("mock", "mock-1"): ["1", "unknown", "-", "-"],
    }
    assert "checked 2026-12-06" in out and "1 of them is deprecated or retired." in out


def test_check_passes_when_every_model_is_current(tmp_path, openai_server, capsys, monkeypatch):
    path = tmp_path / "costs.sqlite"
    record(path, openai_server, "gpt-6-luna")
    monkeypatch.setenv("LLMPIPE_LEDGER", str(path))
    assert main(["models", "--check"]) == 0
    out = capsys.readouterr().out
    assert ("openai", "gpt-6-luna") in rows(out) and "deprecated or retired" not in out


def test_check_without_a_file_says_what_to_do(capsys) -> None:
    assert main(["models", "--check"]) == 2
    assert "pass --db PATH or set LLMPIPE_LEDGER" in capsys.readouterr().err


def test_check_of_an_empty_ledger_says_so(tmp_path, capsys) -> None:
    path = tmp_path / "empty.sqlite"
    llm.ledger().persist(path)
    llm.ledger().persist(None)
    assert main(["models", "--check", "--db", str(path)]) == 0
    assert "No models recorded" in capsys.readouterr().out


@pytest.mark.parametrize(
    "line",
    [
        ["anthropic", "claude-sonnet-4-20250514", "retired", "2026-06-15", "claude-sonnet-4-6"],
        ["gemini", "gemini-2.5-flash", "retired", "2026-12-01", "gemini-3.5-flash-lite"],
        ["openai", "gpt-6-luna", "active", "-", "-"],
    ],
)
def test_models_prints_the_lifecycle_table(capsys, line) -> None:
    assert main(["models"]) == 0
    assert line in [row.split() for row in capsys.readouterr().out.splitlines()]
